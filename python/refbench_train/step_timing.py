"""Step-time measurement of the real trainer path: ``python -m refbench_train.step_timing --model mini [--id-loss]``.

Builds a throw-away FFHQ-Ref-layout set of 512 px images (3 identities x 3 images, one LQ folder), a DiffusionStage
with cached latents (random-init autoencoder: the cost of a step does not depend on the weights' values), then times
``train_step`` (batch, 5 references with gradients through the reference pass, AdamW, EMA). Prints one JSON line:
median and all step times after ``--warmup`` untimed steps, threads, U-Net parameters.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import platform
import statistics
import tempfile
import time

import numpy as np
import torch
from PIL import Image


def _dataset(root: pathlib.Path, res: int) -> None:
    rng = np.random.default_rng(0)
    (root / "images512x512").mkdir(parents=True)
    (root / "lq").mkdir()
    (root / "reference_mapping").mkdir()
    rows = ["gt_image,ref_image"]
    for i in range(3):
        names = [f"{i}{k}.png" for k in range(3)]
        for n in names:
            a = rng.integers(0, 255, size=(res // 16, res // 16, 3), dtype=np.uint8)
            im = Image.fromarray(a).resize((res, res), Image.BICUBIC)
            im.save(root / "images512x512" / n)
            im.save(root / "lq" / n)
        rows += [f"{n},\"{[m for m in names if m != n]!r}\"" for n in names]
    (root / "reference_mapping" / "train_references.csv").write_text("\n".join(rows) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m refbench_train.step_timing")
    ap.add_argument("--model", default="mini")
    ap.add_argument("--design", default="cachekv")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--refs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--id-loss", action="store_true", help="also the identity loss every step (decoder + IResNet)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from refbench_metrics.arcface.iresnet import IResNet
    from refbench_model.configs import get_config

    from .config import load_config
    from .diffusion import DiffusionStage
    res = get_config(args.model).vae.resolution
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        _dataset(root / "data", res)
        cfg = {"model": args.model, "out": str(root / "run"), "device": args.device, "bf16": args.bf16,
               "train": {"steps": 10 ** 6, "batch_size": args.batch},
               "data": {"root": str(root / "data"), "lq_dirs": ["lq"], "cache_latents": True},
               "autoencoder": {"random_init": 0}, "diffusion": {"num_refs": args.refs}, "id_loss": {"weight": 0.0}}
        if args.id_loss:
            torch.save(IResNet((1, 2, 2, 1), num_features=128, base=16).state_dict(), root / "id.pt")
            cfg["id_loss"] = {"weight": 0.1, "network": str(root / "id.pt"), "layers": [1, 2, 2, 1], "width": 16,
                              "embedding": 128}
        (root / "c.json").write_text(json.dumps(cfg))
        st = DiffusionStage(load_config(root / "c.json", "refldm"), args.design, log=lambda m: None)
        times = []
        for s in range(args.warmup + args.steps):
            t0 = time.perf_counter()
            st.train_step(s)
            if args.device == "cuda":
                torch.cuda.synchronize()
            if s >= args.warmup:
                times.append(time.perf_counter() - t0)
    print(json.dumps({"model": args.model, "design": args.design, "batch": args.batch, "refs": args.refs,
                      "idLoss": args.id_loss, "threads": args.threads, "device": args.device, "bf16": args.bf16,
                      "unetParams": sum(p.numel() for p in st.unet.parameters()),
                      "medianSPerStep": round(statistics.median(times), 3), "sPerStep": [round(t, 3) for t in times],
                      "torch": torch.__version__, "cpu": platform.processor() or platform.machine()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
