#!/usr/bin/env bash
# GPU check for the ReF-LDM fusion benchmark (tests never need this). On an NVIDIA machine, in under ~8 minutes:
#  1. exports a paper-size random-init bundle (python/, CacheKV + spatial graphs by default) into .cache/refldm-paper
#     unless one is there;
#  2. if onnxruntime-node can load its CUDA provider (scripts/install-cuda-provider.sh), runs
#     `refbench bench fusion --device cuda` through onnxruntime; otherwise times the same designs × reference counts
#     with the Python PyTorch reference sampler on cuda (torch), and prints the table.
# Usage: bash scripts/gpu-check.sh [--designs cachekv,spatial] [--refs 1,3,5,8] [--steps 10] [--bundle DIR]
#                                  [--config paper|tiny] [--torch]   (--torch: skip onnxruntime, time PyTorch)
# A CPU smoke run of the plumbing: bash scripts/gpu-check.sh --config tiny --refs 1 --steps 2
# Weights are untrained (seeded random init): the numbers are timings only.
set -euo pipefail
cd "$(dirname "$0")/.."
DESIGNS="cachekv,spatial"; REFS="1,3,5,8"; STEPS=10; BUNDLE=""; CONFIG="paper"; FORCE_TORCH=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --designs) DESIGNS="$2"; shift 2 ;;
    --refs) REFS="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --bundle) BUNDLE="$2"; shift 2 ;;
    --config) CONFIG="$2"; shift 2 ;;
    --torch) FORCE_TORCH=1; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ -n "$BUNDLE" ]] || { [[ $CONFIG == tiny ]] && BUNDLE="test/fixtures/refldm-tiny" || BUNDLE=".cache/refldm-$CONFIG"; }
PY=python/.venv/bin/python
[[ -x "$PY" ]] || PY=python3
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi not found"

if [[ ! -f "$BUNDLE/bundle.json" ]]; then
  echo "== exporting a paper-size random-init bundle ($DESIGNS) into $BUNDLE"
  mkdir -p "$BUNDLE"
  PYTHONPATH=python "$PY" - "$BUNDLE" "$DESIGNS" "$CONFIG" <<'PY'
import sys, pathlib
from refbench_model.build import build_random
from refbench_model.configs import get_config
from refbench_export.bundle import export_bundle
out, designs = pathlib.Path(sys.argv[1]), tuple(sys.argv[2].split(","))
cfg = get_config(sys.argv[3])
vae, unets = build_random(cfg, 0, designs)
export_bundle(cfg, vae, unets, out, {"kind": "random-init", "seed": 0}, designs=designs)
print("exported", out)
PY
fi

CUDA_OK=0
if [[ $FORCE_TORCH == 1 ]]; then
  echo "--torch: timing the PyTorch reference sampler"
elif [[ -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so ]]; then
  node --import tsx -e "
    const { createSession } = await import('./src/lib/server/ort/session.ts');
    await createSession('$BUNDLE/vae_decoder.onnx', { device: 'cuda' });
    console.log('onnxruntime CUDA provider: OK');
  " && CUDA_OK=1 || echo "onnxruntime CUDA provider present but failed to load (see above)"
else
  echo "onnxruntime CUDA provider not installed (bash scripts/install-cuda-provider.sh); using the PyTorch reference sampler on cuda"
fi

if [[ $CUDA_OK == 1 ]]; then
  node bin/refbench.js bench fusion --config "$CONFIG" --bundle "$BUNDLE" --designs "$DESIGNS" --refs "$REFS" --steps "$STEPS" --device cuda
else
  PYTHONPATH=python "$PY" - "$DESIGNS" "$REFS" "$STEPS" "$CONFIG" <<'PY'
import sys, time, json, numpy as np, torch
from refbench_model.build import build_random
from refbench_model.sampler import TorchBackend, sample
designs, refs, steps = sys.argv[1].split(","), [int(r) for r in sys.argv[2].split(",")], int(sys.argv[3])
config = sys.argv[4]
dev = "cuda" if torch.cuda.is_available() else "cpu"
vae, unets = build_random(config, 0, tuple(designs), device=dev)
be = TorchBackend(vae, unets, device=dev)
rng = np.random.default_rng(0)
img = lambda: rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
lq, pool = img(), [img() for _ in range(max(refs))]
xt = np.random.default_rng(1).standard_normal((1, 8, 64, 64)).astype(np.float32)
print(f"PyTorch reference sampler on {dev} ({torch.cuda.get_device_name() if dev == 'cuda' else 'cpu'}), {config} config, "
      f"{steps} DDIM steps, CFG 1.5 — untrained random-init weights (timing only)")
print(f"{'design':10} {'refs':>4} {'s/image':>9} {'peak GiB':>9}")
rows = []
for d in designs:
    for n in refs:
        if d == "channel" and n > 5:
            print(f"{d:10} {n:>4}   (channel takes at most 5)"); continue
        try:
            sample(be, lq, pool[:n], xt, steps=1, design=d)  # warm-up
            if dev == "cuda": torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter(); sample(be, lq, pool[:n], xt, steps=steps, design=d)
            if dev == "cuda": torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            mem = torch.cuda.max_memory_allocated() / 2**30 if dev == "cuda" else float("nan")
            rows.append({"design": d, "refs": n, "s": dt, "peakGiB": mem})
            print(f"{d:10} {n:>4} {dt:9.3f} {mem:9.2f}", flush=True)
        except torch.cuda.OutOfMemoryError:
            print(f"{d:10} {n:>4}   OOM"); torch.cuda.empty_cache()
sp = {r["refs"]: r for r in rows if r["design"] == "spatial"}
for r in rows:
    if r["design"] == "cachekv" and r["refs"] in sp:
        s = sp[r["refs"]]
        print(f"cachekv/spatial at {r['refs']} refs: time {r['s']/s['s']:.2f}x, memory {r['peakGiB']/s['peakGiB']:.2f}x (paper at 5 refs: 0.21x, 0.39x)")
PY
fi
