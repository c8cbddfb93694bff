"""The ``vqgan`` stage: the f = 8 VQGAN autoencoder of a config (refbench_model/vae.py) for a new domain.

Loss (taming ``VQLPIPSWithDiscriminator``, as configs/vqgan.yaml uses it): |x - x_rec| (``l1_weight``)
+ ``perceptual_weight`` * LPIPS (needs LPIPS v0.1 lin weights + a torchvision VGG16 state dict: refbench ships no
weights; 0 disables it) + ``codebook_weight`` * (mean((sg[zq] - z)^2) + beta * mean((zq - sg[z])^2)) (taming's ``legacy=True``
VectorQuantizer2: beta falls on the codebook term, a documented quirk kept here) + from ``disc_start`` (null: no
discriminator) an adaptive-weight hinge PatchGAN term (``disc_weight`` 0.8 in the paper's config).
The codebook snap uses a straight-through gradient. Output ``vqgan.ckpt``: Lightning-style ``{"state_dict":
{encoder.*, decoder.*, quantize.*, quant_conv.*, post_quant_conv.*, loss.discriminator.*}}`` (the released
layout; ``loss.*`` is ignored by refbench_model/checkpoint.py).
"""
from __future__ import annotations

import pathlib

import torch
import torch.nn.functional as F
from torch import nn

from refbench_model.configs import get_config
from refbench_model.vae import VQGAN

from .common import save_atomic, step_generator, warmup_lr
from .config import ConfigError
from .data import RefDataset


class PatchDiscriminator(nn.Module):
    """taming ``NLayerDiscriminator`` (3 layers, BatchNorm), ``ndf`` channels."""

    def __init__(self, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=False), nn.BatchNorm2d(ndf * mult),
                       nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x)


class VqganStage:
    design = None

    def __init__(self, cfg, log=print):
        self.cfg, self.log = cfg, log
        vc = cfg.vqgan
        self.device = torch.device(cfg.device)
        self.out = pathlib.Path(cfg.out)
        self.model_cfg = get_config(cfg.model)
        self.data = RefDataset(cfg.data, self.model_cfg.vae.resolution, need_lq=False)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.vae = VQGAN(self.model_cfg.vae)
            n = self.model_cfg.vae.n_embed
            nn.init.uniform_(self.vae.quantize.embedding.weight, -1.0 / n, 1.0 / n)
            self.disc = PatchDiscriminator(min(64, 2 * self.model_cfg.vae.ch)) if vc.disc_start is not None else None
        self.vae.to(self.device).train()
        self.opt = torch.optim.Adam(self.vae.parameters(), lr=cfg.train.lr, betas=(0.5, 0.9))
        self.opt_d = None
        if self.disc is not None:
            self.disc.to(self.device).train()
            self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=cfg.train.lr, betas=(0.5, 0.9))
        self.lpips = None
        if vc.perceptual_weight > 0:
            if not (vc.lpips_lin and vc.lpips_trunk):
                raise ConfigError(f"{cfg.config_file}: 'vqgan.perceptual_weight' > 0 needs 'vqgan.lpips_lin' (LPIPS v0.1 "
                                  "vgg.pth) and 'vqgan.lpips_trunk' (torchvision vgg16 state dict)")
            from refbench_metrics.lpips.reference import build_lpips, load_lin_weights
            from refbench_metrics.lpips.trunks import load_torchvision_features
            feats = load_torchvision_features("vgg", torch.load(vc.lpips_trunk, map_location="cpu", weights_only=True))
            self.lpips = build_lpips("vgg", feats, load_lin_weights(vc.lpips_lin)).to(self.device)
            self.lpips.requires_grad_(False)

    def _images(self, g):
        b = self.cfg.train.batch_size
        idx = torch.randint(len(self.data.images), (b,), generator=g).tolist()
        flip = (torch.rand(b, generator=g) < 0.5).tolist()
        xs = [self.data.image(i).flip(-1) if f else self.data.image(i) for i, f in zip(idx, flip)]
        x = torch.stack(xs)
        crop = self.cfg.vqgan.crop
        if crop:
            r = x.shape[-1]
            oy, ox = (int(torch.randint(r - crop + 1, (), generator=g)) for _ in range(2))
            x = x[:, :, oy:oy + crop, ox:ox + crop]
        return x.to(self.device)

    def train_step(self, step: int) -> dict:
        cfg, vc = self.cfg, self.cfg.vqgan
        g = step_generator(cfg.seed, step)
        lr = warmup_lr(cfg.train.lr, step, cfg.train.warmup_steps)
        for o in (self.opt, self.opt_d):
            if o is not None:
                for pg in o.param_groups:
                    pg["lr"] = lr
        x = self._images(g)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            z = self.vae.encode(x)
            zq = self.vae.quantize(z)
            q_loss = F.mse_loss(zq.detach().float(), z.float()) + vc.beta * F.mse_loss(zq.float(), z.detach().float())
            z_st = z + (zq - z).detach()
            rec = self.vae.decoder(self.vae.post_quant_conv(z_st)).float()
        l1 = (x - rec).abs().mean()
        nll = vc.l1_weight * l1
        m = {"l1": float(l1.detach()), "codebook": float(q_loss.detach())}
        if self.lpips is not None:
            p = self.lpips(rec, x).mean()
            nll = nll + vc.perceptual_weight * p
            m["lpips"] = float(p.detach())
        loss = nll + vc.codebook_weight * q_loss
        use_d = self.disc is not None and step >= vc.disc_start
        if use_d:
            g_loss = -self.disc(rec).mean()
            last = self.vae.decoder.conv_out.weight
            gn = torch.autograd.grad(nll, last, retain_graph=True)[0].norm()
            gg = torch.autograd.grad(g_loss, last, retain_graph=True)[0].norm()
            dw = (gn / (gg + 1e-4)).clamp(0, 1e4).detach() * vc.disc_weight
            loss = loss + dw * g_loss
            m["g_loss"] = float(g_loss.detach())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if use_d:
            d_loss = 0.5 * (F.relu(1 - self.disc(x)).mean() + F.relu(1 + self.disc(rec.detach())).mean())
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            m["d_loss"] = float(d_loss.detach())
        m["loss"] = float(loss.detach())
        m["lr"] = lr
        return m

    def official_state(self) -> dict:
        sd = {k: v.detach().cpu().clone() for k, v in self.vae.state_dict().items()}
        if self.disc is not None:
            sd.update({f"loss.discriminator.{k}": v.detach().cpu().clone() for k, v in self.disc.state_dict().items()})
        return sd

    def checkpoint(self, step: int) -> dict:
        opts = [self.opt.state_dict()] + ([self.opt_d.state_dict()] if self.opt_d else [])
        return {"state_dict": self.official_state(), "optimizer_states": opts, "global_step": step,
                "refbench_train": {"stage": "vqgan", "model": self.cfg.model}}

    def restore(self, ck: dict) -> int:
        sd = ck["state_dict"]
        self.vae.load_state_dict({k: v for k, v in sd.items() if not k.startswith("loss.")}, strict=True)
        if self.disc is not None:
            self.disc.load_state_dict({k[len("loss.discriminator."):]: v for k, v in sd.items()
                                       if k.startswith("loss.discriminator.")}, strict=True)
            self.opt_d.load_state_dict(ck["optimizer_states"][1])
        self.opt.load_state_dict(ck["optimizer_states"][0])
        return int(ck["global_step"])

    def finish(self) -> list[pathlib.Path]:
        p = self.out / "vqgan.ckpt"
        save_atomic({"state_dict": self.official_state(), "global_step": self.cfg.train.steps}, p)
        return [p]
