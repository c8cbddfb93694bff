"""python -m refbench_export bundle --config paper|tiny (--ckpt F [--vqgan F] | --random-init SEED) --out DIR
   [--designs cachekv,spatial,cross,channel] [--fp16] [--allow-pickle]
   [--attention query-chunked|full] [--chunk-refs N] [--chunk-budget ELEMENTS]

Exports the ReF-LDM ONNX bundle described in docs/bundle.md.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

_PY = pathlib.Path(__file__).resolve().parents[1]
if str(_PY) not in sys.path:
    sys.path.insert(0, str(_PY))


def main(argv: list[str] | None = None) -> int:
    from refbench_model.configs import CONFIGS

    ap = argparse.ArgumentParser(prog="python -m refbench_export")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bundle", help="export a bundle directory")
    b.add_argument("--config", choices=list(CONFIGS), required=True)
    src = b.add_mutually_exclusive_group(required=True)
    src.add_argument("--ckpt", type=pathlib.Path, help="official refldm.ckpt (EMA weights are exported)")
    src.add_argument("--random-init", type=int, metavar="SEED", help="seeded random weights (tests, timing)")
    b.add_argument("--vqgan", type=pathlib.Path, help="official vqgan.ckpt (used when refldm.ckpt holds no VQGAN copy)")
    b.add_argument("--out", type=pathlib.Path, required=True)
    b.add_argument("--designs", default="cachekv", help="comma list of cachekv,spatial,cross,channel (default cachekv)")
    b.add_argument("--fp16", action="store_true", help="fp16 U-Net graphs (inputs/outputs stay float32)")
    b.add_argument("--allow-pickle", action="store_true", help="allow torch.load(weights_only=False) for trusted files")
    b.add_argument("--attention", choices=["query-chunked", "full"], default="query-chunked",
                   help="query-chunked (default): attention over reference-dependent sequences runs in blocks of query "
                        "rows (same arithmetic, bounded memory); full: the form of bundles exported before it")
    b.add_argument("--chunk-refs", type=int, default=5, metavar="N",
                   help="reference count the query blocks are sized for (default 5)")
    b.add_argument("--chunk-budget", type=int, default=1 << 22, metavar="ELEMENTS",
                   help="score-matrix elements per batch element and block (default 4194304 = 16 MiB fp32)")
    args = ap.parse_args(argv)
    if args.chunk_refs < 1 or args.chunk_budget < 1:
        ap.error("--chunk-refs and --chunk-budget must be positive")

    from refbench_export.bundle import export_bundle
    from refbench_model.build import build_random
    from refbench_model.configs import DESIGNS, get_config

    designs = tuple(d.strip() for d in args.designs.split(",") if d.strip())
    bad = [d for d in designs if d not in DESIGNS]
    if bad:
        ap.error(f"--designs: unknown {bad}; known: {', '.join(DESIGNS)}")
    cfg = get_config(args.config)
    if args.ckpt is not None:
        if len(designs) != 1:
            ap.error("--ckpt: a checkpoint holds one design's U-Net; name exactly one with --designs "
                     "(the released refldm.ckpt is cachekv; refbench_train writes the others)")
        from refbench_model.checkpoint import load_official
        vae, unets, weights = load_official(cfg, args.ckpt, args.vqgan, allow_pickle=args.allow_pickle,
                                            design=designs[0])
    else:
        vae, unets = build_random(cfg, args.random_init, designs)
        weights = {"kind": "random-init", "seed": args.random_init}
    bj = export_bundle(cfg, vae, unets, args.out, weights, designs, fp16=args.fp16, attention=args.attention,
                       planned_refs=args.chunk_refs, budget=args.chunk_budget)
    for name, digest in bj["files"].items():
        size = (args.out / name).stat().st_size
        print(f"{name}\t{size / 2**20:.1f} MiB\t{digest[:16]}")
    print(f"wrote {args.out / 'bundle.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
