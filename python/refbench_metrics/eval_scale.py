"""Python side of bench/eval-scale.ts: the ReF-LDM evaluation recipe (``scripts/eval.py``: pyiqa metrics, one image at
a time) over a folder of generated outputs, with the paper's metric set (IDS, LPIPS-VGG, fLPIPS, FID, NIQE) on
paper-size random-init networks that it exports once for the TS side too (same weights on both sides):

- LPIPS-VGG: torchvision VGG16 trunk, random init (seed 101) + the real LPIPS v0.1 linear weights (pyiqa
  'lpips-vgg' = lpips.LPIPS(net='vgg') on [0,1]); fLPIPS: the same on the pair multiplied by the GT's face mask.
- IDS: iresnet50 random init (seed 102), ReF-LDM IdentityLoss convention.
- FID: FID-Inception v3, random init (seed 0), clean-fid 'clean' preprocessing (pyiqa 'fid'), batches of 8, scipy
  sqrtm Fréchet distance against the given reference statistics.
- NIQE: pyiqa's niqe_arch.calculate_niqe with the shipped parameters (models/niqe/niqe-pris-params.json).

python -m refbench_metrics.eval_scale --nets DIR --data DIR --ref-stats F.npz [--face-classes 2,4,...]
Exports DIR/{lpips-vgg.onnx,lpips-vgg.lin.json,r50.onnx,fid-inception.onnx} when missing, prints
{"ready": true, "threads": n}; then for each stdin line `eval` prints one JSON line {"seconds", "ids", "lpips",
"flpips", "niqe", "fid"} (per-image lists in sorted file order; seconds excludes startup and the warm-up).
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

from refbench_golden.pyiqa_basic import load_niqe_params, load_pyiqa, to_tensor

from .arcface import identity
from .fid import convert as fid_convert
from .fid.inception import FidInceptionV3, random_init
from .fid.pipeline import features as fid_features
from .fid.pipeline import frechet_distance_sqrtm
from .lpips import reference
from .timing_nets import lpips_vgg_and_r50

FACE = [2, 4, 5, 10, 11, 12, 13, 6, 7, 8, 9, 15]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nets", required=True)
    ap.add_argument("--data", required=True, help="folder with lq/ (the outputs), gt/ and masks/ (label PNGs)")
    ap.add_argument("--ref-stats", required=True)
    ap.add_argument("--repo", default=str(pathlib.Path(__file__).resolve().parents[2]))
    a = ap.parse_args(argv)
    nets = pathlib.Path(a.nets)
    nets.mkdir(parents=True, exist_ok=True)

    lpips, r50 = lpips_vgg_and_r50(nets)
    inception = random_init(FidInceptionV3(), 0)
    if not (nets / "fid-inception.onnx").exists():
        fid_convert.export(inception, nets / "fid-inception.onnx")
    niqe = load_pyiqa()["niqe_arch"]
    mu_n, cov_n = load_niqe_params(pathlib.Path(a.repo))
    ref = np.load(a.ref_stats)
    mu_r, sigma_r = ref["mu"], ref["sigma"]

    data = pathlib.Path(a.data)
    names = sorted(p.name for p in (data / "lq").glob("*.png"))
    to01 = lambda u: torch.from_numpy(u.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    rgb = lambda p: np.asarray(Image.open(p).convert("RGB"))

    def evaluate() -> dict:
        out = {"ids": [], "lpips": [], "flpips": [], "niqe": []}
        preds = []
        for n in names:  # eval.py: one image at a time, files decoded with PIL
            pred, gt = rgb(data / "lq" / n), rgb(data / "gt" / n)
            mask = np.isin(np.asarray(Image.open(data / "masks" / n).convert("L")), FACE)[:, :, None].astype(np.uint8)
            out["lpips"].append(reference.lpips_values(lpips, to01(pred), to01(gt))[0])
            out["flpips"].append(reference.lpips_values(lpips, to01(pred * mask), to01(gt * mask))[0])
            out["ids"].append(identity.ids(r50, identity.to_minus_one_one(pred), identity.to_minus_one_one(gt))[0])
            out["niqe"].append(niqe.calculate_niqe(to_tensor(pred), 0, True, "yiq", mu_n, cov_n).item())
            preds.append(pred)
        f = fid_features(inception, preds, "clean", batch=8).astype(np.float64)
        out["fid"] = frechet_distance_sqrtm(f.mean(0), np.cov(f, rowvar=False), mu_r, sigma_r)
        return out

    with torch.no_grad():
        reference.lpips_values(lpips, torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64))  # warm-up
        identity.ids(r50, torch.zeros(1, 3, 512, 512), torch.zeros(1, 3, 512, 512))
        print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "images": len(names)}), flush=True)
        for line in sys.stdin:
            if line.strip() != "eval":
                continue
            t0 = time.perf_counter()
            r = evaluate()
            r["seconds"] = time.perf_counter() - t0
            print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
