"""Builds the models of a config, either seeded random-init or from the official checkpoints."""
from __future__ import annotations

import torch

from .configs import DESIGNS, ModelConfig, get_config
from .init import init_random
from .unet import UNet
from .vae import VQGAN


def build_random(config: str | ModelConfig, seed: int, designs=("cachekv",), device: str = "cpu"):
    """(vae, {design: unet}) with deterministic weights from ``seed`` (see init.py), in eval mode."""
    cfg = get_config(config) if isinstance(config, str) else config
    vae = init_random(VQGAN(cfg.vae), seed, "vae").eval().to(device)
    unets = {}
    for d in designs:
        if d not in DESIGNS:
            raise ValueError(f"unknown design {d!r}; known: {', '.join(DESIGNS)}")
        unets[d] = init_random(UNet(cfg.unet, d), seed, d).eval().to(device)
    return vae, unets


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
