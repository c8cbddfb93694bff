"""torchvision-layout ``features`` trunks of VGG16 and AlexNet, written here because torchvision is not installed.

Layer indices and parameter names equal torchvision's (``features.<i>.weight``), so a torchvision state dict
(``vgg16-397923af.pth``, ``alexnet-owt-7be5be79.pth``) loads with ``strict=True`` after dropping ``classifier.*``.
``width_div`` > 1 builds the same topology with every channel count divided (test fixtures only).
"""
from __future__ import annotations

import torch
from torch import nn

# torchvision cfg "D" (VGG16): channel counts, "M" = 2x2 max pool.
VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
# Slice boundaries of lpips.pretrained_networks: relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
VGG16_SLICES = [(0, 4), (4, 9), (9, 16), (16, 23), (23, 30)]
ALEX_SLICES = [(0, 2), (2, 5), (5, 8), (8, 10), (10, 12)]
VGG16_CHANNELS = [64, 128, 256, 512, 512]
ALEX_CHANNELS = [64, 192, 384, 256, 256]


def vgg16_features(width_div: int = 1) -> nn.Sequential:
    layers: list[nn.Module] = []
    c_in = 3
    for v in VGG16_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            c = int(v) // width_div
            layers += [nn.Conv2d(c_in, c, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            c_in = c
    return nn.Sequential(*layers)


def alexnet_features(width_div: int = 1) -> nn.Sequential:
    d = width_div
    return nn.Sequential(
        nn.Conv2d(3, 64 // d, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64 // d, 192 // d, kernel_size=5, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192 // d, 384 // d, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384 // d, 256 // d, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256 // d, 256 // d, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )


def features(net: str, width_div: int = 1) -> nn.Sequential:
    if net == "vgg":
        return vgg16_features(width_div)
    if net == "alex":
        return alexnet_features(width_div)
    raise ValueError(f"unknown LPIPS trunk {net!r}; expected 'vgg' or 'alex'")


def slices(net: str) -> list[tuple[int, int]]:
    return VGG16_SLICES if net == "vgg" else ALEX_SLICES


def channels(net: str, width_div: int = 1) -> list[int]:
    return [c // width_div for c in (VGG16_CHANNELS if net == "vgg" else ALEX_CHANNELS)]


class Trunk(nn.Module):
    """The five-slice trunk as exported to ONNX: ImageNet-normalised NCHW in, the five relu maps out."""

    def __init__(self, feats: nn.Sequential, net: str):
        super().__init__()
        self.features = feats
        self.bounds = slices(net)

    def forward(self, x: torch.Tensor):
        outs = []
        h = x
        for a, b in self.bounds:
            for i in range(a, b):
                h = self.features[i](h)
            outs.append(h)
        return tuple(outs)


def load_torchvision_features(net: str, state: dict) -> nn.Sequential:
    """Builds the full-size trunk and loads ``features.*`` from a torchvision state dict (strict)."""
    feats = features(net)
    sd = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    if not sd:
        raise ValueError("state dict has no 'features.*' keys: not a torchvision vgg16/alexnet checkpoint")
    feats.load_state_dict(sd, strict=True)
    return feats


def randomize_(module: nn.Module, seed: int) -> None:
    """Seeded random init (fixtures): torch's default conv init, re-drawn from a fixed generator."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            bound = (6.0 / fan_in) ** 0.5  # He-uniform keeps relu activations O(1) through 13 layers
            with torch.no_grad():
                m.weight.copy_((torch.rand(m.weight.shape, generator=g) * 2 - 1) * bound)
                if m.bias is not None:
                    m.bias.copy_((torch.rand(m.bias.shape, generator=g) * 2 - 1) * 0.05)
