"""python -m refbench_metrics.lpips.convert --net vgg|alex --trunk <torchvision .pth> --lin <lpips v0.1 .pth> --out <x.onnx>

Writes two files:
- ``<out>``: ONNX of the trunk. Input ``input`` float32 [B,3,H,W] (dynamic B, H, W), the ImageNet-normalised
  image ((u/255 - mean)/std, which equals lpips' ScalingLayer on 2u-1). Outputs ``relu1``..``relu5`` (VGG:
  relu1_2, relu2_2, relu3_3, relu4_3, relu5_3; AlexNet: relu1..relu5), opset 17.
- ``<out minus .onnx>.lin.json``: the five non-negative linear weight vectors (format ``refbench-lpips-lin``).
The linear layers stay outside the ONNX: the TS side computes normalise → squared diff → dot → mean itself.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pathlib

import torch

from . import trunks
from .reference import load_lin_weights


def lin_json_path(onnx_path: pathlib.Path) -> pathlib.Path:
    return onnx_path.with_name(onnx_path.name[: -len(".onnx")] + ".lin.json") if onnx_path.name.endswith(".onnx") else onnx_path.with_suffix(".lin.json")


def export_trunk(feats: torch.nn.Sequential, net: str, out: pathlib.Path, size: int = 64) -> None:
    model = trunks.Trunk(feats, net).eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    names = [f"relu{i + 1}" for i in range(5)]
    dyn = {"input": {0: "batch", 2: "height", 3: "width"}}
    dyn.update({n: {0: "batch", 2: f"h{i + 1}", 3: f"w{i + 1}"} for i, n in enumerate(names)})
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(1, 3, size, size),), str(out), dynamo=False, opset_version=17,
                          input_names=["input"], output_names=names, dynamic_axes=dyn)


def write_lin_json(path: pathlib.Path, net: str, lins: list[torch.Tensor], source: str) -> None:
    ws = [[float(x) for x in w.flatten()] for w in lins]
    if any(x < 0 for w in ws for x in w):
        raise ValueError(f"{source}: LPIPS linear weights must be non-negative")
    path.write_text(json.dumps({"format": "refbench-lpips-lin", "version": "0.1", "net": net,
                                "channels": [len(w) for w in ws], "weights": ws, "source": source}) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m refbench_metrics.lpips.convert")
    ap.add_argument("--net", choices=["vgg", "alex"], required=True)
    ap.add_argument("--trunk", required=True, help="torchvision state dict (vgg16-397923af.pth / alexnet-owt-7be5be79.pth)")
    ap.add_argument("--lin", required=True, help="lpips v0.1 linear weights (vgg.pth / alex.pth)")
    ap.add_argument("--out", required=True, help="output .onnx path")
    a = ap.parse_args(argv)
    state = torch.load(a.trunk, map_location="cpu", weights_only=True)
    feats = trunks.load_torchvision_features(a.net, state)
    lins = load_lin_weights(a.lin)
    out = pathlib.Path(a.out)
    export_trunk(feats, a.net, out)
    sha = hashlib.sha256(pathlib.Path(a.lin).read_bytes()).hexdigest()
    write_lin_json(lin_json_path(out), a.net, lins, f"lpips v0.1 {a.net}.pth sha256 {sha}")
    print(f"wrote {out} and {lin_json_path(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
