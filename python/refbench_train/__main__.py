"""python -m refbench_train <stage> --config FILE [options]

Stages: vqgan | ldm | refldm [--design cachekv|spatial|cross|channel] [--init-from CKPT] | arcface.
The same command resumes from <out>/checkpoints/last.ckpt after an interruption (kill -9 included).
Exit status 2 on a config or data error (the message names the file and field).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

_PY = pathlib.Path(__file__).resolve().parents[1]
if str(_PY) not in sys.path:
    sys.path.insert(0, str(_PY))


def main(argv: list[str] | None = None) -> int:
    from refbench_model.configs import DESIGNS

    from refbench_train.config import STAGES, ConfigError, load_config

    ap = argparse.ArgumentParser(prog="python -m refbench_train", description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", choices=STAGES)
    ap.add_argument("--config", required=True, type=pathlib.Path, help="training config (.json, or .yaml/.yml)")
    ap.add_argument("--design", choices=DESIGNS, help="refldm: fusion design (overrides diffusion.design)")
    ap.add_argument("--init-from", type=pathlib.Path, help="ldm/refldm: initialise the U-Net from this checkpoint "
                    "(official layout; another design's ReF-LDM or the LQ-only LDM)")
    ap.add_argument("--out", type=pathlib.Path, help="run folder (overrides out)")
    ap.add_argument("--device", choices=("cpu", "cuda"), help="overrides device")
    ap.add_argument("--steps", type=int, help="overrides train.steps")
    ap.add_argument("--max-steps", type=int, help="stop after this many steps of this invocation (checkpointed)")
    args = ap.parse_args(argv)
    if args.design and args.stage != "refldm":
        ap.error("--design applies to the refldm stage only")
    if args.init_from and args.stage not in ("ldm", "refldm"):
        ap.error("--init-from applies to the ldm and refldm stages")
    over = {"device": args.device, "train.steps": args.steps,
            "out": str(args.out.resolve()) if args.out else None}
    if args.design:
        over["diffusion.design"] = args.design
    if args.init_from:
        if not args.init_from.is_file():
            print(f"error: --init-from {args.init_from}: file not found", file=sys.stderr)
            return 2
        over["diffusion.init_from"] = str(args.init_from.resolve())
    try:
        cfg = load_config(args.config, args.stage, over)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    import torch

    from refbench_train import loop
    from refbench_train.data import DataError
    from refbench_model.checkpoint import CheckpointError

    loop.set_threads(cfg)
    if cfg.device == "cuda" and not torch.cuda.is_available():
        print(f"error: {cfg.config_file}: device is cuda but torch sees no CUDA device", file=sys.stderr)
        return 2
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    try:
        if args.stage == "vqgan":
            from refbench_train.vqgan import VqganStage
            stage = VqganStage(cfg, log)
        elif args.stage == "arcface":
            from refbench_train.arcface import ArcFaceStage
            stage = ArcFaceStage(cfg, log)
        else:
            from refbench_train.diffusion import DiffusionStage
            stage = DiffusionStage(cfg, cfg.diffusion.design if args.stage == "refldm" else None, log)
        summary = loop.run(stage, cfg, args.max_steps)
    except (ConfigError, DataError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
