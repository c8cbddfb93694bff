"""The ``ldm`` (LQ-only) and ``refldm`` (any fusion design) stages: the ReF-LDM recipe (docs/model.md §4,
6-9, 14) on the U-Net of python/refbench_model.

One step, per batch of B targets:
- latents: z0 = E(GT), z_lq = E(LQ) (LQ from a `refbench data degrade --preset train` folder), N = 5 references
  (shuffled, duplicated when fewer, augmented: augment.py), all pre-quantisation latents of the frozen VQGAN
  (cached once when ``data.cache_latents``);
- condition dropout: z_lq -> 0 with p = ``uncond_prob_lq``, all N reference latents -> 0 with p = ``uncond_prob_refs``,
  independently per sample (``uncond_prob: 0.1`` for both keys in configs/refldm.yaml);
- t ~ U{0..999}, eps ~ N(0, I), x_t = sqrt(abar_t) z0 + sqrt(1 - abar_t) eps (abar: refbench_model/schedule.py);
- loss = mean((eps_hat - eps)^2) (``loss_type: l2``; the paper text says L1: ``loss_type: l1`` switches)
  + lambda * mean_b( w_b * (1 - cos(R(D(x0_hat)), R(x*))) ), w_b = sqrt(abar_t) (``perceptual_loss_weight_by_t``),
  x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t), D the frozen decoder (codebook snap with a
  straight-through gradient: ASSUMPTION, the released code is not public), R the identity network on the IDS crop
  (rows/cols 0.0625-0.9375, area resize to 112: refbench_metrics/arcface/identity.py), lambda = 0.1; applied every
  ``id_loss.every`` steps from ``id_loss.from_step`` (cost knob; the paper applies it every step);
- AdamW, lr with linear warm-up, EMA of the U-Net weights (decay 0.9999, LitEma).

Cached latents (``data.cache_latents``): every image is encoded once. Departures, labelled: references are encoded
one by one, not as the official one-pass strip (docs/model.md §7.1); the augmentations are drawn once per cached
variant (``data.ref_aug_variants`` per image) instead of per step. Without the cache, each step augments and
encodes the 5 references of each sample as one strip, as the official loader does.
"""
from __future__ import annotations

import hashlib
import pathlib


import torch
import torch.nn.functional as F

from refbench_model.build import build_random
from refbench_model.checkpoint import DIFFUSION_PREFIX, EMA_PREFIX, CheckpointError, ema_name
from refbench_model.configs import get_config
from refbench_model.schedule import NUM_TIMESTEPS, alphas_cumprod
from refbench_model.unet import CrossAttention, UNet, check_attention
from refbench_model.vae import VQGAN

from .augment import augment_reference
from .common import (Ema, ema_from_state, load_ckpt, load_vae_weights, official_refldm_state, state_of,
                     step_generator, warmup_lr, zero_init_unet)
from .data import RefDataset, pick_refs

CACHE_VERSION = 1


def build_unet(model_cfg, design: str, seed: int) -> UNet:
    """A fresh U-Net: PyTorch's default init from ``seed``, then the official zero-initialised output layers."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet(model_cfg.unet, design)
        for m in unet.modules():  # CrossAttention holds raw nn.Parameters: nn.MultiheadAttention's own init
            if isinstance(m, CrossAttention):
                for w in (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight):
                    torch.nn.init.xavier_uniform_(w)
                torch.nn.init.zeros_(m.in_proj_bias)
                torch.nn.init.zeros_(m.out_proj.bias)
    zero_init_unet(unet)
    return unet


def init_unet_from(unet: UNet, path, use_ema: bool = False) -> list[str]:
    """Initialises ``unet`` from an official-layout checkpoint (an LDM, or a ReF-LDM of any design), the raw weights
    by default (the paper: ``ignore model_ema``). Fine-tuning across designs: parameters the source lacks keep their
    init (cross-attention layers: zero ``crossattn_proj_out``, so the start equals the source); the channel design's
    extra input channels start at zero. Returns notes of what was adapted; anything else that differs is an error."""
    sd = state_of(load_ckpt(path))
    notes = []
    own = unet.state_dict()
    src = {}
    for k in own:
        key = EMA_PREFIX + ema_name(k) if use_ema else DIFFUSION_PREFIX + k
        if key in sd:
            src[k] = sd[key]
    prefix = EMA_PREFIX if use_ema else DIFFUSION_PREFIX
    if not src:
        raise CheckpointError(f"{path}: no U-Net weights under '{prefix}' (not an official-layout ReF-LDM/LDM checkpoint)")
    missing = [k for k in own if k not in src]
    allowed_missing = [k for k in missing if "crossattn_" in k]
    if len(allowed_missing) != len(missing):
        bad = [k for k in missing if k not in allowed_missing]
        raise CheckpointError(f"{path}: U-Net keys missing: {', '.join(bad[:10])}")
    if allowed_missing:
        notes.append(f"{len(allowed_missing)} cross-attention tensors not in the source: new (zero output projection)")
    with torch.no_grad():
        for k, v in src.items():
            if tuple(v.shape) == tuple(own[k].shape):
                own[k].copy_(v)
            elif k == "input_blocks.0.0.weight" and v.shape[1] < own[k].shape[1] and v.shape[0] == own[k].shape[0]:
                own[k].zero_()
                own[k][:, : v.shape[1]].copy_(v)
                notes.append(f"input conv: {v.shape[1]} source channels copied, {own[k].shape[1] - v.shape[1]} new "
                             "channels start at zero")
            else:
                raise CheckpointError(f"{path}: {prefix}{k}: shape {tuple(v.shape)} != model {tuple(own[k].shape)}")
    unet.load_state_dict(own, strict=True)
    return notes


def refs_to_kv(unet: UNet, refs: torch.Tensor, attn: str = "math") -> list:
    """CacheKV reference pass for refs [B,N,8,h,w] in one batched call (equal to the official per-reference loop:
    every layer is per-sample) -> 16 (k, v) of [B*H, d, N*T], references in order after each other."""
    b, n = refs.shape[:2]
    kv = unet.ref_kv(refs.reshape(b * n, *refs.shape[2:]), attn=attn)
    out = []
    for k, v in kv:
        bh, d, t = k.shape
        heads = bh // (b * n)

        def fold(a):
            return a.reshape(b, n, heads, d, t).permute(0, 2, 3, 1, 4).reshape(b * heads, d, n * t)
        out.append((fold(k), fold(v)))
    return out


def predict_eps(unet: UNet, design: str | None, x: torch.Tensor, t: torch.Tensor, refs: torch.Tensor | None,
                attn: str = "math"):
    """eps_hat for x = cat(x_t, z_lq) [B,16,h,w]; refs [B,N,8,h,w] (None: the LQ-only LDM); ``attn``: the attention
    kernel, passed per call (refbench_model/unet.py)."""
    if design is None or refs is None:
        return unet.eps(x, t, attn=attn)
    b, n, c, h, w = refs.shape
    if design == "cachekv":
        return unet.eps(x, t, refs_to_kv(unet, refs, attn), attn=attn)
    wide = refs.permute(0, 2, 3, 1, 4).reshape(b, c, h, n * w)  # strip order ref0 | ref1 | ...
    if design == "spatial":
        return unet.eps_spatial(x, t, wide, attn=attn)
    if design == "cross":
        return unet.eps_cross(x, t, wide, attn=attn)
    if design == "channel":
        if n != unet.cfg.channel_concat_refs:
            raise ValueError(f"channel design needs exactly {unet.cfg.channel_concat_refs} references, got {n}")
        return unet.eps_channel(x, t, refs.reshape(b, n * c, h, w), attn=attn)
    raise ValueError(f"unknown design {design!r}")


def decode_st(vae: VQGAN, z: torch.Tensor, attn: str = "math") -> torch.Tensor:
    """Decoder with the codebook snap and a straight-through gradient to z (taming VectorQuantizer2's estimator)."""
    zq = z + (vae.quantize(z) - z).detach()
    return vae.decoder(vae.post_quant_conv(zq), attn=attn)


def id_weights(abar_t: torch.Tensor, t: torch.Tensor, by_t: bool, t_max: int | None) -> torch.Tensor:
    """Per-sample weight of the identity loss: sqrt(abar_t) (``perceptual_loss_weight_by_t``), masked to t < t_max for
    the ablations ('t<100', 't<500')."""
    w = abar_t.sqrt() if by_t else torch.ones_like(abar_t)
    if t_max is not None:
        w = w * (t < t_max).to(w.dtype)
    return w


def condition_masks(b: int, p_lq: float, p_refs: float, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(keep_lq, keep_refs) float masks [B]: each condition dropped to zeros independently per sample."""
    u = torch.rand(2, b, generator=g, dtype=torch.float64)
    return (u[0] >= p_lq).float(), (u[1] >= p_refs).float()


class DiffusionStage:
    """ldm (refs None) or refldm (a fusion design)."""

    def __init__(self, cfg, design: str | None, log=print):
        self.cfg, self.log = cfg, log
        self.design = design
        self.model_cfg = get_config(cfg.model)
        self.device = torch.device(cfg.device)
        self.out = pathlib.Path(cfg.out)
        dc = cfg.diffusion
        # frozen autoencoder
        if cfg.autoencoder.checkpoint:
            self.vae = VQGAN(self.model_cfg.vae)
            load_vae_weights(self.vae, cfg.autoencoder.checkpoint)
        else:
            self.vae, _ = build_random(self.model_cfg, cfg.autoencoder.random_init, ())
        self.vae.eval().requires_grad_(False).to(self.device)
        # U-Net
        self.unet = build_unet(self.model_cfg, design or "cachekv", cfg.seed)
        if dc.init_from:
            for note in init_unet_from(self.unet, dc.init_from, dc.init_use_ema):
                self.log(f"init-from {dc.init_from}: {note}")
        self.unet.to(self.device).train()
        # sdpa (default): PyTorch's fused attention, no [T, (1+N)T] weight matrix in memory; math: the official
        # arithmetic (refbench_model/unet.py); equal up to float rounding
        self.attn = check_attention(cfg.train.attention)
        self.ema = Ema(self.unet, cfg.train.ema_decay)
        self.opt = torch.optim.AdamW(self.unet.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
        self.abar = torch.from_numpy(alphas_cumprod()).to(self.device)
        # identity network
        self.idnet = None
        if design is not None and cfg.id_loss.weight > 0:
            from .arcface import load_identity
            self.idnet = load_identity(cfg.id_loss.network, cfg.id_loss.layers, cfg.id_loss.width,
                                       cfg.id_loss.embedding).to(self.device)
        # data
        self.data = RefDataset(cfg.data, self.model_cfg.vae.resolution, need_lq=True)
        self.cache = self._build_cache() if cfg.data.cache_latents else None

    # -- data ---------------------------------------------------------------------------------------------------
    def _cache_key(self) -> str:
        h = hashlib.sha256()
        h.update(f"v{CACHE_VERSION}|{self.cfg.model}|{self.data.fingerprint()}|flip={self.cfg.data.lr_flip}|".encode())
        h.update(f"aug={self.cfg.diffusion.ref_aug}|{self.cfg.data.ref_aug_variants}|seed={self.cfg.seed}|".encode())
        h.update(f"id={self.idnet is not None}|{self.cfg.id_loss.network if self.idnet is not None else ''}|".encode())
        for k, v in self.vae.state_dict().items():
            h.update(k.encode())
            h.update(v.detach().cpu().float().numpy().tobytes())
        return h.hexdigest()

    @torch.no_grad()
    def _encode(self, imgs: torch.Tensor, chunk: int = 8) -> torch.Tensor:
        outs = []
        for i in range(0, imgs.shape[0], chunk):
            outs.append(self.vae.encode(imgs[i:i + chunk].to(self.device), attn=self.attn).float().cpu())
        return torch.cat(outs)

    @torch.no_grad()
    def _embed(self, imgs: torch.Tensor) -> torch.Tensor:
        from refbench_metrics.arcface.identity import preprocess
        return self.idnet(preprocess(imgs.to(self.device))).float().cpu()

    @torch.no_grad()
    def _build_cache(self) -> dict:
        path = self.out / "latents.pt"
        key = self._cache_key()
        if path.is_file():
            c = torch.load(path, map_location="cpu", weights_only=True)
            if c.get("key") == key:
                self.log(f"latent cache: {path} (up to date)")
                return c
            self.log(f"latent cache: {path} is stale; re-encoding")
        d = self.data
        flips = (False, True) if self.cfg.data.lr_flip else (False,)
        n_img = len(d.images)
        self.log(f"latent cache: encoding {n_img} images, {len(d.lq_dirs)} LQ folder(s) x {len(d.rows)} targets")
        gt = torch.stack([self._encode(torch.stack([d.image(i).flip(-1) if f else d.image(i) for i in range(n_img)]))
                          for f in flips], 1)  # [Nimg, F, 8, h, w]
        n_aug = self.cfg.data.ref_aug_variants if self.cfg.diffusion.ref_aug and self.design else 0
        refv = None
        if n_aug:
            vars_ = []
            for a in range(n_aug):
                imgs = []
                for i in range(n_img):
                    g = torch.Generator().manual_seed((self.cfg.seed * 7919 + i) * 64 + a)
                    imgs.append(augment_reference(d.image(i), g))
                vars_.append(self._encode(torch.stack(imgs)))
            refv = torch.stack(vars_, 1)  # [Nimg, A, 8, h, w]
        lq = torch.stack([torch.stack([self._encode(torch.stack([d.lq(v, r).flip(-1) if f else d.lq(v, r)
                                                                  for r in range(len(d.rows))])) for f in flips], 1)
                          for v in range(len(d.lq_dirs))])  # [L, Nrows, F, 8, h, w]
        c = {"key": key, "gt": gt, "lq": lq, "refs": refv}
        if self.idnet is not None:
            c["gt_id"] = torch.stack([self._embed(torch.stack([d.image(t).flip(-1) if f else d.image(t)
                                                                for t in d.targets])) for f in flips], 1)
        self.out.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name("latents.pt.tmp")
        torch.save(c, tmp)
        tmp.replace(path)
        return c

    def batch(self, g: torch.Generator):
        """(z0, z_lq, refs or None, gt images or None, gt id embeddings or None) for one step."""
        d, cfg, dc = self.data, self.cfg, self.cfg.diffusion
        b = cfg.train.batch_size
        rows = torch.randint(len(d.rows), (b,), generator=g).tolist()
        variants = torch.randint(len(d.lq_dirs), (b,), generator=g).tolist()
        flips = (torch.rand(b, generator=g) < 0.5).tolist() if cfg.data.lr_flip else [False] * b
        refs_idx = [pick_refs(d.refs[r], dc.num_refs, dc.shuffle_refs, dc.dup_refs, g) for r in rows] \
            if self.design else None
        if self.cache is not None:
            c = self.cache
            fi = [int(f) for f in flips]
            z0 = torch.stack([c["gt"][d.targets[r], f] for r, f in zip(rows, fi)])
            zlq = torch.stack([c["lq"][v, r, f] for v, r, f in zip(variants, rows, fi)])
            refs = None
            if refs_idx is not None:
                if c["refs"] is not None:
                    a = torch.randint(c["refs"].shape[1], (b, dc.num_refs), generator=g)
                    refs = torch.stack([torch.stack([c["refs"][i, a[j, k]] for k, i in enumerate(ri)])
                                        for j, ri in enumerate(refs_idx)])
                else:
                    refs = torch.stack([torch.stack([c["gt"][i, 0] for i in ri]) for ri in refs_idx])
            gid = torch.stack([c["gt_id"][r, f] for r, f in zip(rows, fi)]) if "gt_id" in c else None
            return z0, zlq, refs, None, gid
        gts, lqs, strips = [], [], []
        for j, r in enumerate(rows):
            gi = d.image(d.targets[r])
            li = d.lq(variants[j], r)
            if flips[j]:
                gi, li = gi.flip(-1), li.flip(-1)
            gts.append(gi)
            lqs.append(li)
            if refs_idx is not None:
                ims = [augment_reference(d.image(i), g) if dc.ref_aug else d.image(i) for i in refs_idx[j]]
                strips.append(torch.cat(ims, -1))  # one strip, encoded in one pass (official)
        gts_t = torch.stack(gts)
        z0, zlq = self._encode(gts_t), self._encode(torch.stack(lqs))
        refs = None
        if strips:
            wide = torch.cat([self._encode(s[None], 1) for s in strips])  # [B, 8, h, N*w]
            bsz, c_, h, wn = wide.shape
            refs = wide.reshape(bsz, c_, h, dc.num_refs, wn // dc.num_refs).permute(0, 3, 1, 2, 4)
        gid = self._embed(gts_t) if self.idnet is not None else None
        return z0, zlq, refs, gts_t, gid

    # -- training -----------------------------------------------------------------------------------------------
    def losses(self, step: int, g: torch.Generator):
        cfg, dc = self.cfg, self.cfg.diffusion
        z0, zlq, refs, _, gid = self.batch(g)
        b = z0.shape[0]
        t = torch.randint(NUM_TIMESTEPS, (b,), generator=g)
        noise = torch.randn(z0.shape, generator=g)
        keep_lq, keep_refs = condition_masks(b, dc.uncond_prob_lq, dc.uncond_prob_refs, g)
        dev = self.device
        z0, zlq, t, noise, keep_lq, keep_refs = (a.to(dev) for a in (z0, zlq, t, noise, keep_lq, keep_refs))
        zlq = zlq * keep_lq[:, None, None, None]
        if refs is not None:
            refs = refs.to(dev) * keep_refs[:, None, None, None, None]
        ab = self.abar[t]
        xt = ab.sqrt()[:, None, None, None] * z0 + (1 - ab).sqrt()[:, None, None, None] * noise
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            eps = predict_eps(self.unet, self.design, torch.cat([xt, zlq], 1), t, refs, self.attn)
        eps = eps.float()
        loss_eps = F.mse_loss(eps, noise) if dc.loss_type == "l2" else F.l1_loss(eps, noise)
        metrics = {"loss_eps": float(loss_eps.detach()), "drop_lq": float(1 - keep_lq.mean()),
                   "drop_refs": float(1 - keep_refs.mean()) if refs is not None else None}
        loss = loss_eps
        il = cfg.get("id_loss")
        if self.idnet is not None and step >= il.from_step and (step - il.from_step) % il.every == 0:
            from refbench_metrics.arcface.identity import preprocess
            x0 = (xt - (1 - ab).sqrt()[:, None, None, None] * eps) / ab.sqrt()[:, None, None, None]
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                img = decode_st(self.vae, x0, self.attn)
                emb = self.idnet(preprocess(img.float()))
            cos = F.cosine_similarity(emb.float(), gid.to(dev), dim=1)
            w = id_weights(ab, t, il.weight_by_t, il.t_max)
            loss_id = (w * (1 - cos)).mean()
            loss = loss + il.weight * loss_id
            metrics["loss_id"] = float(loss_id.detach())
            metrics["cos_id"] = float(cos.detach().mean())
        metrics["loss"] = float(loss.detach())
        return loss, metrics

    def train_step(self, step: int) -> dict:
        g = step_generator(self.cfg.seed, step)
        lr = warmup_lr(self.cfg.train.lr, step, self.cfg.train.warmup_steps)
        for pg in self.opt.param_groups:
            pg["lr"] = lr
        loss, metrics = self.losses(step, g)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"step {step}: non-finite loss {metrics} (lower train.lr, or bf16 off?)")
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.ema.update(self.unet)
        metrics["lr"] = lr
        return metrics

    # -- checkpoints --------------------------------------------------------------------------------------------
    def official_state(self) -> dict:
        return official_refldm_state(self.unet, self.ema, self.vae)

    def checkpoint(self, step: int) -> dict:
        return {"state_dict": self.official_state(), "optimizer_states": [self.opt.state_dict()],
                "global_step": step,
                "refbench_train": {"stage": self.cfg.stage, "design": self.design or "cachekv", "model": self.cfg.model,
                                   "seed": self.cfg.seed}}

    def restore(self, ck: dict) -> int:
        sd = ck["state_dict"]
        own = {k: sd[DIFFUSION_PREFIX + k] for k in self.unet.state_dict()}
        self.unet.load_state_dict(own, strict=True)
        ema_from_state(sd, self.unet, self.ema)
        self.opt.load_state_dict(ck["optimizer_states"][0])
        return int(ck["global_step"])

    def finish(self) -> list[pathlib.Path]:
        """Writes ``<out>/refldm.ckpt`` (ldm stage: ``ldm.ckpt``): the bare released layout."""
        name = "refldm.ckpt" if self.design else "ldm.ckpt"
        from .common import save_atomic
        p = self.out / name
        save_atomic(self.official_state(), p)
        return [p]


