"""insightface ``iresnet50``: IResNet with IBasicBlock [3, 4, 14, 3], PReLU, BatchNorm eps 1e-5, fc to 512 and
a ``features`` BatchNorm1d. Written here (same module and parameter names as insightface's
``recognition/arcface_torch/backbones/iresnet.py``); ``base`` < 64 builds the same topology with fewer
channels (test fixtures only).
"""
from __future__ import annotations

import torch
from torch import nn


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class IBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes, eps=1e-05)
        self.conv1 = conv3x3(inplanes, planes)
        self.bn2 = nn.BatchNorm2d(planes, eps=1e-05)
        self.prelu = nn.PReLU(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn3 = nn.BatchNorm2d(planes, eps=1e-05)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        if self.downsample is not None:
            identity = self.downsample(x)
        return out + identity


class IResNet(nn.Module):
    fc_scale = 7 * 7

    def __init__(self, layers=(3, 4, 14, 3), num_features: int = 512, base: int = 64, dropout: float = 0.0):
        super().__init__()
        self.inplanes = base
        self.conv1 = nn.Conv2d(3, base, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(base, eps=1e-05)
        self.prelu = nn.PReLU(base)
        self.layer1 = self._make_layer(base, layers[0], stride=2)
        self.layer2 = self._make_layer(base * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(base * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(base * 8, layers[3], stride=2)
        self.bn2 = nn.BatchNorm2d(base * 8, eps=1e-05)
        self.dropout = nn.Dropout(p=dropout, inplace=True)
        self.fc = nn.Linear(base * 8 * self.fc_scale, num_features)
        self.features = nn.BatchNorm1d(num_features, eps=1e-05)
        nn.init.constant_(self.features.weight, 1.0)
        self.features.weight.requires_grad = False

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, kernel_size=1, stride=stride, bias=False),
                                       nn.BatchNorm2d(planes, eps=1e-05))
        layers = [IBasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [IBasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.prelu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.bn2(x), 1)
        return self.features(self.fc(self.dropout(x)))


def iresnet50(base: int = 64, num_features: int = 512) -> IResNet:
    return IResNet((3, 4, 14, 3), num_features=num_features, base=base)


@torch.no_grad()
def randomize_(model: IResNet, seed: int) -> IResNet:
    """Seeded random init with non-trivial BatchNorm statistics and PReLU slopes (fixtures and tests)."""
    g = torch.Generator().manual_seed(seed)

    def u(shape, lo, hi):
        return torch.rand(shape, generator=g) * (hi - lo) + lo

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            m.weight.copy_(u(m.weight.shape, -1, 1) * (3.0 / fan_in) ** 0.5)
        elif isinstance(m, nn.Linear):
            m.weight.copy_(u(m.weight.shape, -1, 1) * (3.0 / m.in_features) ** 0.5)
            m.bias.copy_(u(m.bias.shape, -0.05, 0.05))
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            if m is not model.features:  # insightface fixes features.weight at 1.0
                m.weight.copy_(u(m.weight.shape, 0.5, 1.0))
            m.bias.copy_(u(m.bias.shape, -0.1, 0.1))
            m.running_mean.copy_(u(m.running_mean.shape, -0.1, 0.1))
            m.running_var.copy_(u(m.running_var.shape, 0.5, 1.5))
        elif isinstance(m, nn.PReLU):
            m.weight.copy_(u(m.weight.shape, 0.1, 0.4))
    return model.eval()


def export_onnx(model: IResNet, out, input_name: str = "input.1") -> None:
    """Exports like insightface's w600k_r50.onnx: one input [B,3,112,112] float32 NCHW RGB in [-1,1] (named
    ``input.1`` there), one output [B,512]. Batch is dynamic."""
    with torch.no_grad():
        torch.onnx.export(model.eval(), (torch.zeros(1, 3, 112, 112),), str(out), dynamo=False, opset_version=17,
                          input_names=[input_name], output_names=["embedding"],
                          dynamic_axes={input_name: {0: "batch"}, "embedding": {0: "batch"}})
