"""Pieces shared by the stages: seeded per-step generators, EMA (LitEma semantics), lr warm-up, official-layout
state dicts, checkpoint files written atomically."""
from __future__ import annotations

import os
import pathlib

import torch
from torch import nn

from refbench_model.checkpoint import (DIFFUSION_PREFIX, EMA_PREFIX, FIRST_STAGE_PREFIX, CheckpointError, ema_name,
                                       vae_from_refldm, vae_from_vqgan)
from refbench_model.schedule import LINEAR_END, LINEAR_START, NUM_TIMESTEPS, alphas_cumprod


def step_generator(seed: int, step: int, stream: int = 0) -> torch.Generator:
    """The generator of one training step: every random draw of step ``step`` comes from it, so a resumed run
    draws exactly what an uninterrupted one would (nothing depends on how many draws earlier steps made)."""
    return torch.Generator(device="cpu").manual_seed((seed * 1_000_003 + step) * 8 + stream)


def warmup_lr(base: float, step: int, warmup: int, f_start: float = 1e-6) -> float:
    """ldm ``LambdaLinearScheduler`` with one cycle: linear from f_start to 1 over ``warmup`` steps, then 1."""
    if warmup <= 0 or step >= warmup:
        return base
    return base * (f_start + (1.0 - f_start) * step / warmup)


class Ema:
    """``LitEma``: shadow -= (1 - d)(shadow - param), d = min(decay, (1 + n) / (10 + n)), n = updates so far."""

    def __init__(self, module: nn.Module, decay: float):
        self.decay = decay
        self.num_updates = 0
        self.shadow = {k: p.detach().clone().float() for k, p in module.named_parameters()}

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        self.num_updates += 1
        d = min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        for k, p in module.named_parameters():
            self.shadow[k].sub_((1.0 - d) * (self.shadow[k] - p.detach().float()))

    def copy_to(self, module: nn.Module) -> None:
        with torch.no_grad():
            for k, p in module.named_parameters():
                p.copy_(self.shadow[k])


def official_refldm_state(unet: nn.Module, ema: Ema, vae: nn.Module | None) -> dict:
    """The released refldm.ckpt layout (refbench_model/checkpoint.py): raw U-Net, EMA buffers, VQGAN, schedule."""
    sd = {DIFFUSION_PREFIX + k: v.detach().cpu().clone() for k, v in unet.state_dict().items()}
    for k, v in ema.shadow.items():
        sd[EMA_PREFIX + ema_name(k)] = v.detach().cpu().clone()
    sd[EMA_PREFIX + "decay"] = torch.tensor(ema.decay, dtype=torch.float32)
    sd[EMA_PREFIX + "num_updates"] = torch.tensor(ema.num_updates, dtype=torch.int32)
    if vae is not None:
        for k, v in vae.state_dict().items():
            sd[FIRST_STAGE_PREFIX + k] = v.detach().cpu().clone()
    betas = torch.linspace(LINEAR_START ** 0.5, LINEAR_END ** 0.5, NUM_TIMESTEPS, dtype=torch.float64) ** 2
    sd["betas"] = betas.float()
    sd["alphas_cumprod"] = torch.from_numpy(alphas_cumprod())
    return sd


def ema_from_state(sd: dict, unet: nn.Module, ema: Ema) -> None:
    for k in ema.shadow:
        ema.shadow[k] = sd[EMA_PREFIX + ema_name(k)].float().clone()
    ema.num_updates = int(sd[EMA_PREFIX + "num_updates"])


def save_atomic(obj, path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_ckpt(path) -> dict:
    path = pathlib.Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise CheckpointError(f"{path}: cannot be read with weights_only=True ({e})") from e


def state_of(obj: dict) -> dict:
    """The bare state dict of a checkpoint file: Lightning-style files wrap it under ``state_dict``."""
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        return obj["state_dict"]
    return obj


def load_vae_weights(vae: nn.Module, path) -> str:
    """Loads a frozen VQGAN from a vqgan.ckpt (Lightning, ``encoder.*`` ...) or an official-layout refldm checkpoint
    (``first_stage_model.*``), strictly. Returns a description of the source."""
    sd = state_of(load_ckpt(path))
    shapes = {k: tuple(v.shape) for k, v in vae.state_dict().items()}
    if any(k.startswith(FIRST_STAGE_PREFIX) for k in sd):
        w = vae_from_refldm(sd, shapes, str(path))
    else:
        w = vae_from_vqgan(sd, shapes, str(path))
    vae.load_state_dict(w, strict=True)
    return str(path)


def zero_init_unet(unet: nn.Module) -> None:
    """The official ``zero_module`` places: ResBlock ``out_layers.3``, attention ``proj_out`` (and the cross-attention
    design's ``crossattn_proj_out``), the head ``out.2``."""
    with torch.no_grad():
        for name, p in unet.named_parameters():
            if (".out_layers.3." in name or ".proj_out." in name or ".crossattn_proj_out." in name
                    or name.startswith("out.2.")):
                p.zero_()
