"""Python side of bench/metrics-lpips-ids.ts: times the torch reference pipelines of LPIPS-VGG and IDS on the given
image pairs on request, so the TS bench can interleave its rounds with ours in one process run. The full-size
random-init networks (real LPIPS v0.1 lin weights) are exported once into --out for the TS side
(refbench_metrics.timing_nets).

python -m refbench_metrics.lpips.torch_timing --out .cache/bench-lpips-ids --pairs gt1.png:pred1.png,... [--repeat 1]
Prints {"ready": true, "threads": n}; then for each stdin line `lpips_vgg` or `ids` prints one JSON line
{"images_per_s", "values"} (one timed pass of --repeat × the pairs, after a warm-up at start).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np
import torch
from PIL import Image

from ..arcface import identity
from ..timing_nets import lpips_vgg_and_r50
from . import reference


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--pairs", required=True, help="comma-separated gt:pred PNG pairs (512×512)")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args(argv)
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    model, r50 = lpips_vgg_and_r50(out)

    pairs = [p.split(":") for p in a.pairs.split(",")]
    imgs = [(np.asarray(Image.open(g).convert("RGB")), np.asarray(Image.open(p).convert("RGB"))) for g, p in pairs]
    to01 = lambda u: torch.from_numpy(u.astype(np.float32) / 255.0).permute(2, 0, 1)[None]

    def lpips_vgg() -> list[float]:
        # eval.py: one pair at a time, [0,1] floats
        return [reference.lpips_values(model, to01(p), to01(g))[0] for _ in range(a.repeat) for g, p in imgs]

    def ids() -> list[float]:
        return [identity.ids(r50, identity.to_minus_one_one(p), identity.to_minus_one_one(g))[0] for _ in range(a.repeat) for g, p in imgs]

    fns = {"lpips_vgg": lpips_vgg, "ids": ids}
    with torch.no_grad():
        reference.lpips_values(model, torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64))  # warm-up
        identity.ids(r50, torch.zeros(1, 3, 512, 512), torch.zeros(1, 3, 512, 512))
        print(json.dumps({"ready": True, "threads": torch.get_num_threads()}), flush=True)
        for line in sys.stdin:
            name = line.strip()
            t0 = time.perf_counter()
            vals = fns[name]()
            dt = time.perf_counter() - t0
            print(json.dumps({"images_per_s": len(vals) / dt, "values": vals[: len(imgs)]}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
