"""The paper-size random-init networks of the speed comparisons under bench/ (bench/metrics-lpips-ids.ts through
refbench_metrics.lpips.torch_timing, bench/eval-scale.ts through refbench_metrics.eval_scale): exported once as ONNX
for the TypeScript side, and returned as the torch models that time the reference pipelines, so both sides run the
same weights. Random init costs what real weights cost; the values they give are not metric values.
"""
from __future__ import annotations

import pathlib

import torch

from .arcface import iresnet
from .lpips import convert, reference, trunks

LPIPS_TRUNK_SEED = 101
R50_SEED = 102


def lpips_vgg_and_r50(out: pathlib.Path) -> tuple[torch.nn.Module, torch.nn.Module]:
    """LPIPS-VGG (torchvision VGG16 trunk, random init with ``LPIPS_TRUNK_SEED``, plus the real LPIPS v0.1 linear
    weights) and iresnet50 (random init with ``R50_SEED``). Writes ``out/{lpips-vgg.onnx, lpips-vgg.lin.json,
    r50.onnx}`` where missing. Returns the torch LPIPS model and the iresnet50."""
    lin_path = pathlib.Path(reference._import_lpips().__file__).parent / "weights" / "v0.1" / "vgg.pth"
    lins = reference.load_lin_weights(str(lin_path))
    feats = trunks.features("vgg")
    trunks.randomize_(feats, seed=LPIPS_TRUNK_SEED)
    if not (out / "lpips-vgg.onnx").exists():
        convert.export_trunk(feats, "vgg", out / "lpips-vgg.onnx")
        convert.write_lin_json(convert.lin_json_path(out / "lpips-vgg.onnx"), "vgg", lins, "real lpips v0.1 vgg.pth, random-init trunk (bench)")
    r50 = iresnet.randomize_(iresnet.iresnet50(), seed=R50_SEED)
    if not (out / "r50.onnx").exists():
        iresnet.export_onnx(r50, out / "r50.onnx")
    return reference.build_lpips("vgg", feats, lins), r50
