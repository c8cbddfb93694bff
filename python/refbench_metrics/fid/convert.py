"""Convert FID-Inception to ONNX: input ``input`` B×3×299×299 float32 (already normalised), output ``pool3`` B×dim,
dynamic batch, opset 17, legacy (TorchScript) exporter, weights embedded (no external data).

    python -m refbench_metrics.fid.convert --weights pt_inception-2015-12-05-6726825d.pth --out model.onnx
    python -m refbench_metrics.fid.convert --random-init 0 --out random.onnx [--width 0.125]

``--weights`` loads the official pytorch-fid state dict with ``strict=True`` (a missing or renamed key is an
error, never silently random weights) and writes ``<out>.json`` with the source sha256.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import sys

import torch

from .inception import FidInceptionV3, random_init


def load_official(path: pathlib.Path) -> FidInceptionV3:
    sd = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(sd, dict) and "state_dict" in sd:
        sd = sd["state_dict"]
    model = FidInceptionV3()
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise SystemExit(f"{path}: not a pytorch-fid FID-Inception state dict; missing {missing[:5]}…, unexpected {unexpected[:5]}…")
    return model.eval()


def export(model: FidInceptionV3, out: pathlib.Path, batch: int = 1) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(model.eval(), (torch.zeros(batch, 3, 299, 299),), str(out), dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["pool3"],
                          dynamic_axes={"input": {0: "batch"}, "pool3": {0: "batch"}})


def sha256(path: pathlib.Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m refbench_metrics.fid.convert", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--weights", type=pathlib.Path, help="pt_inception-2015-12-05-6726825d.pth")
    src.add_argument("--random-init", type=int, metavar="SEED", help="seeded random weights (tests)")
    ap.add_argument("--width", type=float, default=1.0, help="channel multiplier (random-init only; fixtures use 0.125)")
    ap.add_argument("--out", type=pathlib.Path, required=True)
    args = ap.parse_args(argv)
    if args.weights is not None:
        if args.width != 1.0:
            ap.error("--width applies to --random-init only")
        model = load_official(args.weights)
        meta = {"source": args.weights.name, "source_sha256": sha256(args.weights), "weights": "real"}
    else:
        model = random_init(FidInceptionV3(width=args.width), args.random_init)
        meta = {"source": f"random-init seed {args.random_init}", "weights": "test-random-init", "width": args.width}
    export(model, args.out)
    meta.update({"format": "refbench-fid-inception", "input": "input [B,3,299,299] normalised", "output": f"pool3 [B,{model.dim}]",
                 "onnx_sha256": sha256(args.out)})
    args.out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, pool3 dim {model.dim})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
