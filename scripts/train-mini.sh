#!/usr/bin/env bash
# Trains the whole ReF-LDM miniature (issue 16) on the CPU, resumably, in order:
#   data      refbench data synth-train (the synthfaces-ref train split + its train-preset LQ folders)
#   vqgan     python/refbench_train/configs/mini-vqgan.yaml
#   arcface   python/refbench_train/configs/mini-arcface.yaml      (the identity network of the id loss)
#   cachekv   python/refbench_train/configs/mini-refldm.yaml
#   spatial, cross, channel: the same config, --design <d> --init-from <cachekv>/refldm.ckpt, the same budget each
# A stage whose final output exists is skipped; otherwise the trainer resumes from its checkpoints/last.ckpt.
# One status line per stage and invocation goes to <root>/train-mini.log. Documented in docs/training.md.
#
# Usage: scripts/train-mini.sh [--root DIR] [--data DIR] [--max-minutes M] [--slice-steps N]
#                              [--finetune-steps N] [--threads T] [--background]
#   --root DIR          where the runs go (default .cache/train: mini-vqgan, mini-arcface, mini-refldm,
#                       mini-refldm-<design>; the paths the configs name)
#   --data DIR          the train split (default .cache/synthfaces-ref-train)
#   --max-minutes M     stop starting steps after M minutes (a slice ends at a checkpoint; run again to go on).
#                       Steps per invocation come from the stage's measured s/step (its log.jsonl; a 2-step
#                       probe first when there is none); a stage's start-up (model build, latent caching) is
#                       not counted, so a slice can overrun by it.
#   --slice-steps N     at most N steps per stage per invocation (then stop; run again to go on)
#   --finetune-steps N  steps of each fine-tuned design (default: train.steps of mini-refldm.yaml)
#   --threads T         torch threads (default: the configs' / torch's)
#   --background        re-run this command detached (nohup), output in <root>/train-mini.out; prints the PID
# Environment: TRAIN_MINI_SMOKE=1: a smoke run (3 identities x 3 images, TRAIN_MINI_SMOKE_STEPS steps per stage,
#   default 2, checkpoints every step) into a new temporary --root unless one is given.
#   REFBENCH_PYTHON: the interpreter (default python/.venv/bin/python).
set -euo pipefail
# The whole script is one brace group, parsed before it runs: editing or pulling this file while a long training
# runs cannot change what the running invocation does.
{

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${REFBENCH_PYTHON:-$REPO/python/.venv/bin/python}"
CONFIGS="$REPO/python/refbench_train/configs"
SMOKE="${TRAIN_MINI_SMOKE:-0}"
ROOT=""
DATA=""
MAX_MINUTES=""
SLICE=""
FT_STEPS=""
THREADS=""
BACKGROUND=0
ARGS=("$@")

die() { echo "train-mini: $*" >&2; exit 2; }
posint() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, got '$2'"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --root) ROOT="${2:?--root needs a folder}"; shift 2 ;;
    --data) DATA="${2:?--data needs a folder}"; shift 2 ;;
    --max-minutes) [[ "${2:-}" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--max-minutes must be a number of minutes, got '${2:-}'"; MAX_MINUTES="$2"; shift 2 ;;
    --slice-steps) posint "$1" "${2:-}"; SLICE="$2"; shift 2 ;;
    --finetune-steps) posint "$1" "${2:-}"; FT_STEPS="$2"; shift 2 ;;
    --threads) posint "$1" "${2:-}"; THREADS="$2"; shift 2 ;;
    --background) BACKGROUND=1; shift ;;
    -h|--help) sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ -x "$PY" ]] || die "no Python interpreter at $PY: run 'bash python/setup.sh' (or set REFBENCH_PYTHON)"

if [[ "$SMOKE" == 1 && -z "$ROOT" ]]; then ROOT="$(mktemp -d "${TMPDIR:-/tmp}/train-mini-smoke.XXXXXX")"; fi
ROOT="$(mkdir -p "${ROOT:-$REPO/.cache/train}" && cd "${ROOT:-$REPO/.cache/train}" && pwd)"
if [[ -z "$DATA" ]]; then
  if [[ "$SMOKE" == 1 ]]; then DATA="$ROOT/synthfaces-ref-train"; else DATA="$REPO/.cache/synthfaces-ref-train"; fi
fi
mkdir -p "$DATA"
DATA="$(cd "$DATA" && pwd)"
LOG="$ROOT/train-mini.log"

if [[ "$BACKGROUND" == 1 ]]; then
  rest=()
  for a in "${ARGS[@]}"; do [[ "$a" == --background ]] || rest+=("$a"); done
  # Pin the resolved folders, so that a smoke run's temporary root is the one reported here.
  nohup env TRAIN_MINI_SMOKE="$SMOKE" "${BASH_SOURCE[0]}" "${rest[@]}" --root "$ROOT" --data "$DATA" >"$ROOT/train-mini.out" 2>&1 </dev/null &
  echo "train-mini: running in the background, PID $!; output $ROOT/train-mini.out, status lines $LOG"
  exit 0
fi

T0=$(date +%s)
DEADLINE=""
if [[ -n "$MAX_MINUTES" ]]; then DEADLINE=$(awk -v t="$T0" -v m="$MAX_MINUTES" 'BEGIN { printf "%d", t + m * 60 }'); fi
if [[ "$SMOKE" == 1 ]]; then
  SMOKE_STEPS="${TRAIN_MINI_SMOKE_STEPS:-2}"
  posint TRAIN_MINI_SMOKE_STEPS "$SMOKE_STEPS"
fi

spsf() { if [[ -n "$1" ]]; then echo "${1}s/step"; else echo -; fi; }
status() { # stage state steps s/step out
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ)  $(printf '%-8s %-8s %-11s %-14s' "$1" "$2" "$3" "$4")  $5"
  echo "$line" >>"$LOG"
  echo "train-mini: $line"
}

# --- config files: each stage's YAML with this run's folders (and the smoke settings), as JSON in <root>/configs.
mkdir -p "$ROOT/configs"
derive() { # name source.yaml out [key=json ...]
  local name="$1" src="$2" out="$3"; shift 3
  "$PY" - "$src" "$ROOT/configs/$name.json" "$out" "$DATA" "$ROOT" "${THREADS:-}" "$SMOKE" "$@" <<'PY'
import json, pathlib, sys
sys.path.insert(0, str(pathlib.Path(sys.argv[1]).resolve().parents[2]))
from refbench_train import yamlmini
src, dst, out, data, root, threads, smoke, *sets = sys.argv[1:]
cfg = yamlmini.loads(pathlib.Path(src).read_text(), src)
cfg["out"] = out
cfg["data"]["root"] = data
if "autoencoder" in cfg:
    cfg["autoencoder"]["checkpoint"] = str(pathlib.Path(root) / "mini-vqgan" / "vqgan.ckpt")
if "id_loss" in cfg and cfg["id_loss"].get("network"):
    cfg["id_loss"]["network"] = str(pathlib.Path(root) / "mini-arcface" / "identity.pt")
if threads:
    cfg["threads"] = int(threads)
if smoke == "1":
    t = cfg["train"]
    t["checkpoint_every"] = t["progress_every"] = t["plot_every"] = 1
    t["warmup_steps"] = 1
    if cfg.get("arcface"):
        t["batch_size"] = 4
    if "ref_aug_variants" in cfg["data"]:
        cfg["data"]["ref_aug_variants"] = 1
    if "id_loss" in cfg:  # exercise the identity loss from the first step
        cfg["id_loss"]["from_step"] = 0
        cfg["id_loss"]["every"] = 1
for s in sets:
    k, v = s.split("=", 1)
    *path, leaf = k.split(".")
    d = cfg
    for p in path:
        d = d.setdefault(p, {})
    d[leaf] = json.loads(v)
pathlib.Path(dst).write_text(json.dumps(cfg, indent=1) + "\n")
PY
}

steps_of() { # config.json -> train.steps
  "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["train"]["steps"])' "$1"
}
# Steps done (from checkpoints/last.ckpt's log: the last logged step + 1, or 0) and the median s/step of the
# last 20 logged steps ("" when none).
progress_of() { # out -> "done sps"
  "$PY" - "$1" <<'PY'
import json, pathlib, statistics, sys
p = pathlib.Path(sys.argv[1]) / "log.jsonl"
rows = [json.loads(l) for l in p.read_text().splitlines() if l.strip()] if p.is_file() else []
done = rows[-1]["step"] + 1 if rows else 0
sps = statistics.median(r["s_per_step"] for r in rows[-20:]) if rows else ""
print(done, f"{sps:.3f}" if sps != "" else "")
PY
}

STOP=0
CHILD=""
trap 'STOP=1; [[ -n "$CHILD" ]] && kill -TERM "$CHILD" 2>/dev/null; echo "train-mini: interrupted; run the same command again to resume" >&2' INT TERM

# run_stage NAME STAGE OUT FINAL CONFIG [trainer options...]: 0 when FINAL exists afterwards, 1 otherwise.
run_stage() {
  local name="$1" stage="$2" out="$3" final="$4" cfg="$5"; shift 5
  local total done sps n rc left
  total=$(steps_of "$cfg")
  if [[ -n "${SMOKE_STEPS:-}" ]]; then total="$SMOKE_STEPS"; fi
  if [[ -f "$final" ]]; then
    read -r done sps < <(progress_of "$out")
    status "$name" skipped "$done/$total" "$(spsf "$sps")" "output exists: $final"
    return 0
  fi
  while :; do
    [[ "$STOP" == 1 ]] && return 1
    read -r done sps < <(progress_of "$out")
    n=$((total - done))
    [[ -n "$SLICE" && "$SLICE" -lt "$n" ]] && n="$SLICE"
    if [[ "$n" -le 0 ]]; then
      n=1 # every step is logged but the final output is missing: one call lets the trainer write it
    elif [[ -n "$DEADLINE" ]]; then
      left=$((DEADLINE - $(date +%s)))
      if [[ -z "$sps" ]]; then
        [[ "$n" -gt 2 ]] && n=2 # probe: measure s/step first
      else
        local fit
        fit=$(awk -v l="$left" -v s="$sps" 'BEGIN { printf "%d", l / s }')
        [[ "$fit" -lt "$n" ]] && n="$fit"
      fi
      if [[ "$left" -le 0 || "$n" -le 0 ]]; then
        status "$name" paused "$done/$total" "$(spsf "$sps")" "--max-minutes spent; run again to resume ($out)"
        return 1
      fi
    fi
    set +e
    "$PY" -m refbench_train "$stage" --config "$cfg" --steps "$total" --max-steps "$n" "$@" \
      >>"$out.stdout" 2>>"$out.stderr" &
    CHILD=$!
    wait "$CHILD"
    rc=$?
    CHILD=""
    set -e
    read -r done sps < <(progress_of "$out")
    if [[ "$rc" -ne 0 ]]; then
      status "$name" failed "$done/$total" "$(spsf "$sps")" "exit $rc; see $out.stderr"
      tail -n 5 "$out.stderr" >&2 || true
      return 1
    fi
    if [[ -f "$final" ]]; then
      status "$name" done "$done/$total" "$(spsf "$sps")" "$final; curves $out/curves.svg"
      return 0
    fi
    # Go on within this invocation only when time (not a step slice) was the limit of the last call.
    if [[ -n "$SLICE" ]]; then
      status "$name" paused "$done/$total" "$(spsf "$sps")" "--slice-steps reached; run again to resume ($out)"
      return 1
    fi
  done
}

echo "train-mini: root $ROOT, data $DATA${SMOKE_STEPS:+, smoke: $SMOKE_STEPS steps per stage}${DEADLINE:+, until $(date -u -d "@$DEADLINE" +%H:%M:%SZ)}"
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ)  -- invocation: ${ARGS[*]:-(no options)}${SMOKE_STEPS:+ [TRAIN_MINI_SMOKE=1]}" >>"$LOG"

# --- data
if [[ "$SMOKE" == 1 ]]; then DATA_OPTS=(--identities 3 --per-identity 3 --lq-variants 2); else DATA_OPTS=(); fi
want_version=$(cd "$REPO" && node --import tsx -e "import('./src/lib/server/datasets/synthfaces.ts').then((m) => console.log(m.SYNTHFACES_VERSION))")
have_version=$("$PY" -c 'import json,sys
try: m = json.load(open(sys.argv[1]))
except OSError: m = {}
print(m.get("version", "") if m.get("generator") == "synthfaces-ref-train" else "")' "$DATA/manifest.json")
if [[ "$have_version" == "$want_version" ]]; then
  status data skipped - - "$DATA (generator version $have_version)"
else
  t=$(date +%s)
  (cd "$REPO" && node bin/refbench.js data synth-train --out "$DATA" "${DATA_OPTS[@]}") >"$ROOT/data.stdout" 2>&1 \
    || { status data failed - - "see $ROOT/data.stdout"; tail -n 5 "$ROOT/data.stdout" >&2; exit 1; }
  status data done - "$(( $(date +%s) - t ))s" "$DATA (generator version $want_version)"
fi

# --- training stages
derive vqgan "$CONFIGS/mini-vqgan.yaml" "$ROOT/mini-vqgan"
derive arcface "$CONFIGS/mini-arcface.yaml" "$ROOT/mini-arcface"
derive cachekv "$CONFIGS/mini-refldm.yaml" "$ROOT/mini-refldm"
FT_SET=()
if [[ -n "$FT_STEPS" ]]; then FT_SET=("train.steps=$FT_STEPS"); fi
for d in spatial cross channel; do derive "$d" "$CONFIGS/mini-refldm.yaml" "$ROOT/mini-refldm-$d" "${FT_SET[@]}"; done

ok=1
run_stage vqgan vqgan "$ROOT/mini-vqgan" "$ROOT/mini-vqgan/vqgan.ckpt" "$ROOT/configs/vqgan.json" || ok=0
[[ "$ok" == 1 ]] && { run_stage arcface arcface "$ROOT/mini-arcface" "$ROOT/mini-arcface/identity.onnx" "$ROOT/configs/arcface.json" || ok=0; }
[[ "$ok" == 1 ]] && { run_stage cachekv refldm "$ROOT/mini-refldm" "$ROOT/mini-refldm/refldm.ckpt" "$ROOT/configs/cachekv.json" --design cachekv || ok=0; }
for d in spatial cross channel; do
  # The latent cache does not depend on the design (its key: data, VQGAN, settings; the trainer checks it): start
  # from CacheKV's instead of encoding every image again (a hard link; the trainer replaces, never edits, the file).
  lat="$ROOT/mini-refldm/latents.pt"
  if [[ "$ok" == 1 && -f "$lat" && ! -e "$ROOT/mini-refldm-$d/latents.pt" ]]; then
    mkdir -p "$ROOT/mini-refldm-$d"
    ln "$lat" "$ROOT/mini-refldm-$d/latents.pt" 2>/dev/null || cp "$lat" "$ROOT/mini-refldm-$d/latents.pt"
  fi
  [[ "$ok" == 1 ]] && { run_stage "$d" refldm "$ROOT/mini-refldm-$d" "$ROOT/mini-refldm-$d/refldm.ckpt" "$ROOT/configs/$d.json" \
    --design "$d" --init-from "$ROOT/mini-refldm/refldm.ckpt" || ok=0; }
done

echo "train-mini: status lines in $LOG; curves (SVG, redrawn as training goes):"
for r in mini-vqgan mini-arcface mini-refldm mini-refldm-spatial mini-refldm-cross mini-refldm-channel; do
  [[ -f "$ROOT/$r/curves.svg" ]] && echo "  $ROOT/$r/curves.svg"
done
if [[ "$ok" == 1 ]]; then echo "train-mini: every stage is done"; exit 0; fi
echo "train-mini: not finished; run the same command again to resume"
exit 3
}
