#!/usr/bin/env bash
# ReF-LDM on a GPU, measured (issue 10): the PyTorch engine's benchmark on a machine with PyTorch + CUDA and
# nothing else — no Node, no network, no checkpoint. It needs python3 with torch and numpy, and this repository's
# python/ folder (~0.5 MB; the whole run reads nothing else). Within 10 minutes it:
#   0. checks on the device that the fast fp32 paths equal eager (tiny model, 10 steps, 3 refs);
#   1. times CacheKV and spatial-concatenation at 5 references, eager (the official arithmetic and batching: CFG as
#      one B = 2 batch, official attention arithmetic, K/V concatenated per layer and step, one reference pass per
#      reference with B = 2 [zero, real], fp32, no compile/graphs; bit-equal to the reference sampler) and fastest
#      (SDPA, preallocated K/V, batched reference pass, bf16, CUDA graphs, cuDNN autotune): the speed-up target
#      (fastest >= 3x eager) credits only what the official code does not already do;
#   2. times each speed switch alone on top of eager (and eager with CFG unbatched, to show what the official
#      batching is worth); 3. profiles one fastest image; 4. measures bf16/fp16 drift;
#   5. fills the rest of the paper's Tables 2 and 6 (1/3/5/8 references × 4 designs); 6. torch.compile variants;
# all with the paper config (seeded random init, 117.8 M-parameter U-Net), 100 `uniform` DDIM steps, CFG 1.5.
# What does not fit the time budget is recorded as skipped; the JSON is rewritten after every measurement, so a
# run cut short still leaves what it measured. It prints the targets and whether they are met.
#
#   bash scripts/gpu-bench.sh                      # -> benchmarks/measured/refldm-torch-<gpu>-<utc>.json
#   PYTHON=/opt/conda/bin/python BUDGET_S=420 bash scripts/gpu-bench.sh
#   bash scripts/gpu-bench.sh --refs 5 --designs cachekv,spatial     # extra arguments go to the bench
#   DEVICE=cpu OUT=/tmp/b.json bash scripts/gpu-bench.sh --config tiny --steps 1 --refs 1,2 --size 128   # plumbing
# Then, anywhere with Node:  npx refbench report benchmarks/measured/<that file>.json   (Tables 2 and 6, targets)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
DEVICE="${DEVICE:-cuda}"
BUDGET_S="${BUDGET_S:-450}"   # measurements that would start later are skipped; a paper image is seconds, not minutes
HARD_LIMIT_S="${HARD_LIMIT_S:-570}"
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"

"$PY" - "$DEVICE" <<'PYEOF'
import sys
try:
    import numpy, torch
except ImportError as exc:
    sys.exit(f"gpu-bench: {exc}: this script needs torch (with CUDA) and numpy in {sys.executable} (set PYTHON=...)")
if sys.argv[1:] == ["cpu"]:
    print(f"gpu-bench: CPU plumbing run, torch {torch.__version__}, python {sys.version.split()[0]}", flush=True)
    sys.exit(0)
if not torch.cuda.is_available():
    sys.exit(f"gpu-bench: torch {torch.__version__} (CUDA {torch.version.cuda}) sees no CUDA device")
p = torch.cuda.get_device_properties(0)
print(f"gpu-bench: {p.name}, {p.total_memory / 2**30:.0f} GiB, torch {torch.__version__}, CUDA {torch.version.cuda}, "
      f"python {sys.version.split()[0]}", flush=True)
PYEOF
if [[ $DEVICE == cuda ]]; then
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader || true
  gpu=$("$PY" -c 'import re, torch; print(re.sub(r"[^A-Za-z0-9]+", "-", torch.cuda.get_device_name(0)).strip("-"))')
else
  gpu=cpu
fi
out="${OUT:-benchmarks/measured/refldm-torch-${gpu}-$(date -u +%Y%m%dT%H%M%SZ).json}"
mkdir -p "$(dirname "$out")"
set +e
timeout --signal=TERM --kill-after=10 "$HARD_LIMIT_S" "$PY" -m refbench_model.bench \
  --config paper --device "$DEVICE" --steps 100 --schedule uniform --cfg 1.5 --refs 1,3,5,8 \
  --designs cachekv,spatial,cross,channel --ablation-refs 5 --check --ablation --profile --drift \
  --warmup-steps 2 --repeat 1 --time-budget-s "$BUDGET_S" --out "$out" "$@"
rc=$?
set -e
if [[ -f "$out" ]]; then
  echo "saved $out ($(du -h "$out" | cut -f1))"
  [[ $rc -eq 0 ]] || echo "gpu-bench: the bench exited with $rc (124 = hard time limit); the file holds what it measured (complete: false)" >&2
else
  echo "gpu-bench: the bench exited with $rc before writing $out" >&2
fi
exit $rc
