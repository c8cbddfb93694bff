"""python -m refbench_model.sample: one ReF-LDM restoration with the PyTorch reference, with per-stage timings.

  python -m refbench_model.sample --config tiny|paper (--random-init SEED | --ckpt F [--vqgan F])
      --lq PNG [--ref PNG ...] --steps N --schedule uniform|uniform_trailing --cfg 1.5
      (--xt FILE.f32 | --seed S) --design cachekv|spatial|cross|channel --device cpu|cuda [--bf16]
      [--zero-refs 5] [--refs-bench 1,3,5,8] --out PNG [--out-latent FILE.f32] [--timing-json FILE]

Inputs not 512x512 are resized with Pillow bicubic (the official loader). ``--seed`` draws x_T with torch's CPU
generator (the official scripts use the device's generator: ship x_T as data for parity). ``--refs-bench``
times N = 1, 3, 5, 8 references (the given refs repeated cyclically, or synthetic when none given).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import platform
import resource
import sys
import time

import numpy as np

_PY = pathlib.Path(__file__).resolve().parents[1]
if str(_PY) not in sys.path:
    sys.path.insert(0, str(_PY))


def read_image(path: pathlib.Path, size: int = 512) -> np.ndarray:
    from PIL import Image
    im = Image.open(path).convert("RGB")
    if im.size != (size, size):
        im = im.resize((size, size), Image.BICUBIC)
    return np.asarray(im, dtype=np.uint8).copy()


def _peak_memory(device: str) -> dict:
    import torch
    out = {"hostMaxRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    if device.startswith("cuda"):
        out["cudaPeakAllocatedMiB"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m refbench_model.sample")
    ap.add_argument("--config", choices=["paper", "tiny"], required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--random-init", type=int, metavar="SEED")
    src.add_argument("--ckpt", type=pathlib.Path)
    ap.add_argument("--vqgan", type=pathlib.Path)
    ap.add_argument("--allow-pickle", action="store_true")
    ap.add_argument("--lq", type=pathlib.Path, required=True)
    ap.add_argument("--ref", type=pathlib.Path, action="append", default=[])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--schedule", choices=["uniform", "uniform_trailing"], default="uniform")
    ap.add_argument("--cfg", type=float, default=1.5)
    xt = ap.add_mutually_exclusive_group(required=True)
    xt.add_argument("--xt", type=pathlib.Path, help="1x8x64x64 float32 little-endian raw")
    xt.add_argument("--seed", type=int)
    ap.add_argument("--design", choices=["cachekv", "spatial", "cross", "channel"], default="cachekv")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast for encoder and U-Net (cuda only)")
    ap.add_argument("--zero-refs", type=int, default=5, help="zero latents used when no --ref is given")
    ap.add_argument("--refs-bench", help="comma list of reference counts to time, e.g. 1,3,5,8")
    ap.add_argument("--out", type=pathlib.Path, required=True)
    ap.add_argument("--out-latent", type=pathlib.Path)
    ap.add_argument("--timing-json", type=pathlib.Path)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args(argv)

    import torch
    from refbench_model.build import build_random
    from refbench_model.sampler import Timer, TorchBackend, sample

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error("--device cuda: CUDA is not available in this torch build")
    t0 = time.perf_counter()
    if args.ckpt is not None:
        if args.design != "cachekv":
            ap.error("--ckpt: only the cachekv design has released weights")
        from refbench_model.checkpoint import load_official
        vae, unets, weights = load_official(args.config, args.ckpt, args.vqgan, args.device, args.allow_pickle)
    else:
        vae, unets = build_random(args.config, args.random_init, (args.design,) if args.design == "cachekv"
                                  else ("cachekv", args.design), args.device)
        weights = {"kind": "random-init", "seed": args.random_init}
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    load_ms = (time.perf_counter() - t0) * 1000.0
    backend = TorchBackend(vae, unets, args.device, "bf16" if args.bf16 else "fp32")
    if args.xt is not None:
        x_t = np.fromfile(args.xt, dtype="<f4")
        if x_t.size != 8 * 64 * 64:
            ap.error(f"--xt {args.xt}: expected 32768 float32 values, got {x_t.size}")
        x_t = x_t.reshape(1, 8, 64, 64)
    else:
        x_t = torch.randn(1, 8, 64, 64, generator=torch.Generator().manual_seed(args.seed)).numpy()
    lq = read_image(args.lq)
    refs = [read_image(p) for p in args.ref]

    runs = []
    counts = [int(c) for c in args.refs_bench.split(",")] if args.refs_bench else [None]
    result = None
    for n in counts:
        if n is None:
            use = refs
        else:
            from refbench_golden.refldm import synthetic_image
            pool = refs or [synthetic_image(i) for i in range(1, 4)]
            use = [pool[i % len(pool)] for i in range(n)]
        if args.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        timer = Timer(args.device)
        result = sample(backend, lq, use, x_t, steps=args.steps, schedule=args.schedule, cfg=args.cfg,
                        design=args.design, zero_refs=args.zero_refs, timer=timer)
        tm = result.timings_ms
        runs.append({"numRefs": len(use), "zeroRefs": result.zero_refs, "encodeMs": tm.get("encodeMs", 0.0),
                     "refPassMs": tm.get("refPassMs", 0.0), "stepsMs": tm["stepsMs"],
                     "stepsTotalMs": float(sum(tm["stepsMs"])), "decodeMs": tm.get("decodeMs", 0.0),
                     "peakMemory": _peak_memory(args.device)})
    from PIL import Image
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(result.image, "RGB").save(args.out)
    if args.out_latent:
        np.ascontiguousarray(result.latent, dtype="<f4").tofile(args.out_latent)
    report = {"config": args.config, "design": args.design, "device": args.device,
              "deviceName": torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor(),
              "precision": "bf16" if args.bf16 else "fp32", "weights": weights, "steps": args.steps,
              "schedule": args.schedule, "timesteps": result.timesteps, "cfg": args.cfg, "modelLoadMs": load_ms,
              "torch": torch.__version__, "runs": runs}
    if args.timing_json:
        args.timing_json.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "timesteps"} | {"runs": [
        {k: v for k, v in r.items() if k != "stepsMs"} for r in runs]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
