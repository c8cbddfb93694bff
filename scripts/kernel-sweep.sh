#!/usr/bin/env bash
# Runs the Python-side checks under one CPU-kernel knob at a time (docs/footguns.md, "Kernel-dependent quantities").
#
#   bash scripts/kernel-sweep.sh [--out DIR] [--probe-only | --no-probe] [--checks "GOLDENS"] [--pytest "FILES"] [SETTING ...]
#
# SETTING is VAR=VALUE ("" = no knob, the baseline; VAR=V1+VAR2=V2 sets two). Default: the baseline and the values of
# MKL_ENABLE_INSTRUCTIONS (also with MKL forced onto its Intel dispatch, see SHIM), ONEDNN_MAX_CPU_ISA,
# ATEN_CPU_CAPABILITY, OPENBLAS_CORETYPE, NPY_DISABLE_CPU_FEATURES and OPENCV_CPU_DISABLE listed below: each one
# below this CPU's own choice (an AVX-512 machine), one knob at a time. For each setting it writes to DIR (default .cache/kernel-sweep):
#   probe-<tag>.json  python -m refbench_golden.kernel_probe: the kernels each library picked, fingerprints of each
#                     kernel family, the init weights' hash, pyiqa's Y planes and NIQE values;
#   <tag>.log         every golden check (python -m refbench_golden check NAME) and pytest file, unless --probe-only;
#   results.tsv       tag, check, status, seconds (appended).
# Then prints `python -m refbench_golden.kernel_probe --diff DIR`: per setting, what changed against the baseline.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=".cache/kernel-sweep"; PROBE_ONLY=0; PROBE=1
CHECKS="degradation lpips_ids pyiqa_basic fid refldm stats"
PYTEST="test_pyiqa_basic.py test_golden_tolerances.py test_refldm_init.py test_degradation.py test_lpips_ids.py test_fid.py"
SETTINGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --probe-only) PROBE_ONLY=1; shift ;;
    --no-probe) PROBE=0; shift ;;
    --checks) CHECKS="$2"; shift 2 ;;
    --pytest) PYTEST="$2"; shift 2 ;;
    -*) echo "unknown option: $1" >&2; exit 2 ;;
    *) SETTINGS+=("$1"); shift ;;
  esac
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# oneMKL ignores MKL_ENABLE_INSTRUCTIONS on non-Intel CPUs (it runs its own AMD path); scripts/mkl-intel-path.c,
# preloaded, makes it take the Intel dispatch so the knob selects the kernels an Intel CPU would run.
SHIM="$OUT/mkl-intel-path.so"
if [[ ! -f $SHIM ]] && command -v cc > /dev/null; then cc -shared -fPIC -O2 -o "$SHIM" scripts/mkl-intel-path.c; fi
if [[ ${#SETTINGS[@]} -eq 0 ]]; then
  SETTINGS=(""
    MKL_ENABLE_INSTRUCTIONS=SSE4_2 MKL_ENABLE_INSTRUCTIONS=AVX2
    "LD_PRELOAD=$SHIM+MKL_ENABLE_INSTRUCTIONS=AVX512" "LD_PRELOAD=$SHIM+MKL_ENABLE_INSTRUCTIONS=AVX2"
    "LD_PRELOAD=$SHIM+MKL_ENABLE_INSTRUCTIONS=SSE4_2"
    ONEDNN_MAX_CPU_ISA=SSE41 ONEDNN_MAX_CPU_ISA=AVX2
    ATEN_CPU_CAPABILITY=default ATEN_CPU_CAPABILITY=avx2
    OPENBLAS_CORETYPE=Prescott OPENBLAS_CORETYPE=Sandybridge OPENBLAS_CORETYPE=Haswell
    "NPY_DISABLE_CPU_FEATURES=X86_V4 AVX512_ICL AVX512_SPR"
    "OPENCV_CPU_DISABLE=AVX512-SKX,AVX512-CLX,AVX2,FP16,AVX")
fi
PY="$ROOT/python/.venv/bin/python"
for s in "${SETTINGS[@]}"; do
  tag=${s:-baseline}; tag=${tag//$SHIM/mkl-intel-path}; tag=${tag//[^A-Za-z0-9_.=+-]/_}
  envs=()
  if [[ -n "$s" ]]; then IFS='+' read -r -a envs <<< "$s"; fi
  echo "== $tag" >&2
  if [[ $PROBE == 1 ]]; then
    (cd python && env "${envs[@]}" "$PY" -m refbench_golden.kernel_probe --refldm --out "$OUT/probe-$tag.json" > /dev/null) \
      || echo "probe failed under $tag" >&2
  fi
  [[ $PROBE_ONLY == 1 ]] && continue
  : > "$OUT/$tag.log"
  for c in $CHECKS; do
    t0=$(date +%s)
    if (cd python && env "${envs[@]}" "$PY" -m refbench_golden check "$c") >> "$OUT/$tag.log" 2>&1; then st=ok; else st=FAIL; fi
    printf '%s\tgolden %s\t%s\t%s\n' "$tag" "$c" "$st" "$(( $(date +%s) - t0 ))" | tee -a "$OUT/results.tsv" >&2
  done
  for f in $PYTEST; do
    t0=$(date +%s)
    if env "${envs[@]}" "$PY" -m pytest "python/tests/$f" -q -p no:cacheprovider -W ignore >> "$OUT/$tag.log" 2>&1; then
      st=ok; else st=FAIL; fi
    printf '%s\tpytest %s\t%s\t%s\n' "$tag" "$f" "$st" "$(( $(date +%s) - t0 ))" | tee -a "$OUT/results.tsv" >&2
  done
done
[[ $PROBE == 1 ]] && (cd python && "$PY" -m refbench_golden.kernel_probe --diff "$OUT")
