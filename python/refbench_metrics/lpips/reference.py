"""The reference LPIPS pipeline: the pip ``lpips`` 0.1.4 package's own ``LPIPS`` module (ScalingLayer,
normalize_tensor, NetLinLayer, spatial_average, sum), run on our torchvision-layout trunks.

``lpips.pretrained_networks`` does ``from torchvision import models as tv`` at import time; torchvision is not
installed, so a minimal stand-in module providing ``vgg16``/``alexnet`` (returning an object with ``.features``)
is placed in ``sys.modules`` only while ``lpips`` is imported, then removed again.
"""
from __future__ import annotations

import sys
import types

import torch

from . import trunks

_TRUNK_FACTORY: dict = {"vgg": None, "alex": None}


def _import_lpips():
    if "lpips" in sys.modules:
        return sys.modules["lpips"]
    added = []

    def tv_vgg16(pretrained=False, **_):
        return types.SimpleNamespace(features=_TRUNK_FACTORY["vgg"]())

    def tv_alexnet(pretrained=False, **_):
        return types.SimpleNamespace(features=_TRUNK_FACTORY["alex"]())

    if "torchvision" not in sys.modules:
        models = types.ModuleType("torchvision.models")
        models.vgg16, models.alexnet = tv_vgg16, tv_alexnet
        tv = types.ModuleType("torchvision")
        tv.models = models
        sys.modules["torchvision"], sys.modules["torchvision.models"] = tv, models
        added += ["torchvision", "torchvision.models"]
    if "tqdm" not in sys.modules:
        try:
            import tqdm  # noqa: F401
        except ImportError:  # lpips.trainer imports tqdm; unused here
            tq = types.ModuleType("tqdm")
            tq.tqdm = lambda it=None, **_: it
            sys.modules["tqdm"] = tq
            added.append("tqdm")
    try:
        import lpips  # noqa: F401
    finally:
        for name in added:
            sys.modules.pop(name, None)
    return sys.modules["lpips"]


def build_lpips(net: str, feats: torch.nn.Sequential, lin_weights: list[torch.Tensor]):
    """An ``lpips.LPIPS(net=..., version='0.1')`` whose trunk is ``feats`` and whose five linear layers hold
    ``lin_weights`` (each [1, C, 1, 1]); widths may be narrower than the real ones."""
    lp = _import_lpips()
    _TRUNK_FACTORY[net] = lambda: feats
    model = lp.LPIPS(pretrained=False, net=net, version="0.1", pnet_rand=True, verbose=False)
    chns = [int(w.shape[1]) for w in lin_weights]
    model.chns = chns
    model.lins = torch.nn.ModuleList([lp.NetLinLayer(c, use_dropout=True) for c in chns])
    for lin, w in zip(model.lins, lin_weights):
        with torch.no_grad():
            lin.model[1].weight.copy_(w.reshape(1, -1, 1, 1))
    return model.eval()


def load_lin_weights(path: str) -> list[torch.Tensor]:
    """Loads lpips v0.1 linear weights (keys ``lin{k}.model.1.weight``); refuses other layouts."""
    sd = torch.load(path, map_location="cpu", weights_only=True)
    out = []
    for k in range(5):
        key = f"lin{k}.model.1.weight"
        if key not in sd:
            raise KeyError(f"{path}: missing {key!r} (keys: {sorted(sd)}); expected an lpips v0.1 lin file")
        out.append(sd[key].float())
    return out


@torch.no_grad()
def lpips_values(model, pred01: torch.Tensor, gt01: torch.Tensor) -> list[float]:
    """Per-image LPIPS, pyiqa convention: NCHW float in [0,1] (normalize=True)."""
    return [float(v) for v in model(pred01, gt01, normalize=True).flatten()]
