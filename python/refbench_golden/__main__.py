"""python -m refbench_golden generate|check [NAME ...]

Every generator module exposes ``run(mode: str, repo_root: pathlib.Path) -> None`` and raises on a mismatch in
check mode. Register one by adding its module name to GENERATORS (one line).
"""
from __future__ import annotations

import argparse
import importlib
import pathlib
import sys
import time

GENERATORS: list[str] = [
    "degradation",
    "lpips_ids",
    "pyiqa_basic",
    "fid",
    "refldm",
    "stats",
]

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m refbench_golden")
    ap.add_argument("mode", choices=["generate", "check"])
    ap.add_argument("names", nargs="*", help="generator module names (default: all)")
    args = ap.parse_args(argv)
    names = args.names or GENERATORS
    failed = []
    for name in names:
        if name not in GENERATORS:
            print(f"unknown generator {name!r}; known: {', '.join(GENERATORS)}", file=sys.stderr)
            return 2
        t0 = time.time()
        mod = importlib.import_module(f"refbench_golden.{name}")
        try:
            mod.run(args.mode, REPO_ROOT)
            print(f"[{args.mode}] {name}: ok ({time.time() - t0:.1f}s)")
        except Exception as exc:  # report every generator, then fail
            print(f"[{args.mode}] {name}: FAILED: {exc}", file=sys.stderr)
            failed.append(name)
    if failed:
        print(f"{len(failed)} generator(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
