"""ReF-LDM denoising U-Net (openaimodel ``UNetModel`` as configured in configs/refldm.yaml), own implementation.

Parameter names follow the official state dict (``time_embed.0``, ``input_blocks.4.1.qkv``, ``out.2`` ...).

CacheKV without global state: every self-attention layer takes the external reference K/V explicitly
(``kv_ext[i] = (k, v)``, each [B*heads, headDim, R]) and appends them after its own tokens (order: self,
ref0 .. refN-1). The reference pass (``ref_kv``) returns the raw (unscaled) k, v of each of the 16 layers, exactly
what the official ``cache_kv`` module stores. Head split is the legacy one: head h owns channels h*3d .. h*3d+3d-1
of the fused qkv output, laid out [q | k | v]; K/V batch axis is batch-major, head-minor.

Fusion designs (paper section 3.1.3):
- ``cachekv``: the released model.
- ``spatial``: refs zero-padded to 16 channels, concatenated with the input along width, whole U-Net every
  step, output cropped back to the input width (``DiffusionWrapper`` ``c_spatial_concat``).
- ``cross``: a cross-attention layer after each self-attention layer (official ``AttentionBlock`` with
  ``use_context``: ``crossattn_norm``, ``crossattn_attention`` (nn.MultiheadAttention parameter layout,
  kdim = vdim = 8), ``crossattn_proj_out``); context = reference latent tokens [B, 4096*N, 8].
- ``channel``: reference latents concatenated on channels: in_channels = 16 + 8*5.

Attention kernel: chosen per call, never stored in the modules: every entry point takes ``attn`` = ``"math"``
(default: the official arithmetic, q and k scaled by d^-1/4, bmm, fp32 softmax, bmm) or ``"sdpa"``
(``torch.nn.functional.scaled_dot_product_attention``, equal up to float rounding) and hands it down to every
attention layer, so engines with different kernels can share one set of modules (engine.py). External K/V may also
be an object with ``attend(q, k, v, impl)`` (engine.KvBuffer: preallocated [own | references] keys/values).
``query_chunks`` (``math`` only; set by the ONNX exporter, refbench_export/chunking.py): the queries are cut into
blocks of whole feature-map rows and each block attends over ALL keys, so every softmax row and every product is
the same arithmetic as without chunks; only one block's score matrix exists at a time.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .configs import UnetConfig


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in fp32 (official ``GroupNorm32``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float()).type(x.dtype)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding [cos | sin] of integer timesteps t [B] -> [B, dim] (fp32)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


QueryChunks = tuple[int, tuple[int, ...]]
"""(rows, block sizes): the query tokens are ``rows`` feature-map rows (row-major), cut into blocks of whole rows."""


def split_query_rows(x: torch.Tensor, chunks: QueryChunks, dim: int) -> list[torch.Tensor]:
    """Cuts the token axis ``dim`` of ``x`` (rows * width tokens, row-major) into blocks of whole rows.

    The row count is static (the export's image height); the width may be a dynamic ONNX axis (reference strip).
    """
    rows, sizes = chunks
    if sum(sizes) != rows:
        raise ValueError(f"query chunk sizes {sizes} do not sum to {rows} rows")
    if not torch.jit.is_tracing() and x.shape[dim] % rows:
        raise ValueError(f"{x.shape[dim]} query tokens are not {rows} whole rows")
    shp = list(x.shape)
    x4 = x.reshape(shp[:dim] + [rows, -1] + shp[dim + 1:])
    return [c.reshape(shp[:dim] + [-1] + shp[dim + 1:]) for c in x4.split(list(sizes), dim=dim)]


def legacy_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, impl: str = "math",
                     chunks: QueryChunks | None = None) -> torch.Tensor:
    """``QKVAttentionLegacy`` on q [B*H, d, T] and k, v [B*H, d, S] -> [B*H, d, T].

    ``math`` is the official arithmetic; ``sdpa`` computes the same attention (scale 1/sqrt(d)) with PyTorch's fused
    kernel, which never materialises the [T, S] weights on backends that have a flash / memory-efficient kernel.
    ``chunks`` (math only): blocks of query rows, each over all S keys (module doc).
    """
    d = q.shape[1]
    if impl == "sdpa":
        # NOTE: token-major and contiguous: the fused CUDA kernels need a unit stride in the last dimension
        q, k, v = (a.transpose(1, 2).contiguous() for a in (q, k, v))
        return F.scaled_dot_product_attention(q, k, v, scale=d ** -0.5).transpose(1, 2)
    scale = 1.0 / math.sqrt(math.sqrt(d))
    if chunks is not None:
        ks = k * scale
        outs = []
        for qc in split_query_rows(q, chunks, 2):
            w = torch.bmm((qc * scale).transpose(1, 2), ks)  # [B*H, T_chunk, S]
            w = torch.softmax(w.float(), dim=-1).type(w.dtype)
            outs.append(torch.bmm(v, w.transpose(1, 2)))
        return torch.cat(outs, dim=2)
    w = torch.bmm((q * scale).transpose(1, 2), k * scale)  # [B*H, T, S]
    w = torch.softmax(w.float(), dim=-1).type(w.dtype)
    return torch.bmm(v, w.transpose(1, 2))


ATTENTION_IMPLS = ("math", "sdpa")


def check_attention(impl: str) -> str:
    """``impl`` if it names an attention kernel, else a ValueError."""
    if impl not in ATTENTION_IMPLS:
        raise ValueError(f"attention must be math or sdpa, got {impl!r}")
    return impl


class ResBlock(nn.Module):
    def __init__(self, cfg: UnetConfig, cin: int, cout: int):
        super().__init__()
        self.in_layers = nn.Sequential(GroupNorm32(cfg.norm_groups, cin, eps=cfg.norm_eps), nn.SiLU(),
                                       nn.Conv2d(cin, cout, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(cfg.time_embed_dim, cout))
        self.out_layers = nn.Sequential(GroupNorm32(cfg.norm_groups, cout, eps=cfg.norm_eps), nn.SiLU(),
                                        nn.Dropout(0.0), nn.Conv2d(cout, cout, 3, padding=1))
        self.skip_connection = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.in_layers(x)
        h = h + self.emb_layers(emb).type(h.dtype)[:, :, None, None]
        return self.skip_connection(x) + self.out_layers(h)


class CrossAttention(nn.Module):
    """Multi-head attention with nn.MultiheadAttention's parameter names (kdim = vdim = context dim)."""

    query_chunks: QueryChunks | None = None

    def __init__(self, dim: int, kdim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q_proj_weight = nn.Parameter(torch.empty(dim, dim))
        self.k_proj_weight = nn.Parameter(torch.empty(dim, kdim))
        self.v_proj_weight = nn.Parameter(torch.empty(dim, kdim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor, attn: str = "math") -> torch.Tensor:
        """x [B, T, C] queries, ctx [B, S, kdim] -> [B, T, C]; ``attn``: the kernel (module doc)."""
        b, t, c = x.shape
        d = c // self.heads
        bq, bk, bv = self.in_proj_bias.chunk(3)
        q = F.linear(x, self.q_proj_weight, bq).reshape(b, t, self.heads, d).transpose(1, 2)
        k = F.linear(ctx, self.k_proj_weight, bk).reshape(b, -1, self.heads, d).transpose(1, 2)
        v = F.linear(ctx, self.v_proj_weight, bv).reshape(b, -1, self.heads, d).transpose(1, 2)
        if attn == "sdpa":
            o = F.scaled_dot_product_attention(q, k, v, scale=d ** -0.5)
        elif self.query_chunks is not None:
            outs = []
            for qc in split_query_rows(q, self.query_chunks, 2):
                w = torch.softmax((qc @ k.transpose(-1, -2)).float() * (d ** -0.5), dim=-1).type(v.dtype)
                outs.append(w @ v)
            o = torch.cat(outs, dim=2)
        else:
            w = torch.softmax((q @ k.transpose(-1, -2)).float() * (d ** -0.5), dim=-1).type(v.dtype)
            o = w @ v
        o = o.transpose(1, 2).reshape(b, t, c)
        return self.out_proj(o)


class AttentionBlock(nn.Module):
    query_chunks: QueryChunks | None = None

    def __init__(self, cfg: UnetConfig, ch: int, use_context: bool):
        super().__init__()
        self.heads = ch // cfg.num_head_channels
        self.head_dim = cfg.num_head_channels
        self.norm = GroupNorm32(cfg.norm_groups, ch, eps=cfg.norm_eps)
        self.qkv = nn.Conv1d(ch, ch * 3, 1)
        self.proj_out = nn.Conv1d(ch, ch, 1)
        self.use_context = use_context
        if use_context:
            self.crossattn_norm = GroupNorm32(cfg.norm_groups, ch, eps=cfg.norm_eps)
            self.crossattn_attention = CrossAttention(ch, cfg.context_dim, self.heads)
            self.crossattn_proj_out = nn.Conv1d(ch, ch, 1)

    def forward(self, x_in: torch.Tensor, kv_ext=None, capture: list | None = None, context=None,
                attn: str = "math") -> torch.Tensor:
        c = x_in.shape[1]
        x = x_in.reshape(x_in.shape[0], c, -1)
        qkv = self.qkv(self.norm(x))
        tlen = qkv.shape[-1]
        d = self.head_dim
        q, k, v = qkv.reshape(-1, 3 * d, tlen).split(d, dim=1)  # legacy order: heads split before q/k/v
        if capture is not None:
            capture.append((k, v))
        if kv_ext is not None and hasattr(kv_ext, "attend"):
            a = kv_ext.attend(q, k, v, attn)  # preallocated [own | refs] buffers (engine.KvBuffer)
        else:
            if kv_ext is not None:
                k = torch.cat([k, kv_ext[0]], dim=-1)
                v = torch.cat([v, kv_ext[1]], dim=-1)
            a = legacy_attention(q, k, v, attn, self.query_chunks)
        x = x + self.proj_out(a.reshape(-1, c, tlen))
        if self.use_context:
            xc = self.crossattn_norm(x).permute(0, 2, 1)
            xc = self.crossattn_attention(xc, context, attn).permute(0, 2, 1)
            x = x + self.crossattn_proj_out(xc)
        return x.reshape(x_in.shape)


class Downsample(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.op = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UNet(nn.Module):
    """The ReF-LDM U-Net for one fusion design (see module doc)."""

    def __init__(self, cfg: UnetConfig, design: str = "cachekv"):
        super().__init__()
        if design not in ("cachekv", "spatial", "cross", "channel"):
            raise ValueError(f"unknown design {design!r}")
        self.cfg, self.design = cfg, design
        mc = cfg.model_channels
        in_ch = cfg.in_channels + (cfg.channel_concat_refs * 8 if design == "channel" else 0)
        ctx = design == "cross"
        self.time_embed = nn.Sequential(nn.Linear(mc, cfg.time_embed_dim), nn.SiLU(),
                                        nn.Linear(cfg.time_embed_dim, cfg.time_embed_dim))
        self.attention_layers: list[dict] = []  # forward order
        self.input_blocks = nn.ModuleList([nn.Sequential(nn.Conv2d(in_ch, mc, 3, padding=1))])
        chans = [mc]
        ch, ds = mc, 1
        res = cfg.image_size

        def attn(path: str, c: int) -> AttentionBlock:
            blk = AttentionBlock(cfg, c, ctx)
            self.attention_layers.append({"index": len(self.attention_layers), "name": path, "channels": c,
                                          "heads": blk.heads, "headDim": blk.head_dim,
                                          "tokens": (res // ds) ** 2})
            return blk

        for level, mult in enumerate(cfg.channel_mult):
            for _ in range(cfg.num_res_blocks):
                layers: list[nn.Module] = [ResBlock(cfg, ch, mult * mc)]
                ch = mult * mc
                if ds in cfg.attention_resolutions:
                    layers.append(attn(f"input_blocks.{len(self.input_blocks)}.1", ch))
                self.input_blocks.append(nn.Sequential(*layers))
                chans.append(ch)
            if level != len(cfg.channel_mult) - 1:
                self.input_blocks.append(nn.Sequential(Downsample(ch)))
                chans.append(ch)
                ds *= 2
        self.middle_block = nn.Sequential(ResBlock(cfg, ch, ch), attn("middle_block.1", ch), ResBlock(cfg, ch, ch))
        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(cfg.channel_mult))[::-1]:
            for i in range(cfg.num_res_blocks + 1):
                layers = [ResBlock(cfg, ch + chans.pop(), mc * mult)]
                ch = mc * mult
                if ds in cfg.attention_resolutions:
                    layers.append(attn(f"output_blocks.{len(self.output_blocks)}.1", ch))
                if level and i == cfg.num_res_blocks:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(nn.Sequential(*layers))
        self.out = nn.Sequential(GroupNorm32(cfg.norm_groups, ch, eps=cfg.norm_eps), nn.SiLU(),
                                 nn.Conv2d(mc, cfg.out_channels, 3, padding=1))

    # -- core -------------------------------------------------------------------------------------------
    def _run(self, x, t, kv_ext=None, capture=None, context=None, attn: str = "math"):
        check_attention(attn)
        emb = self.time_embed(timestep_embedding(t, self.cfg.model_channels).type(x.dtype))
        n_attn = len(self.attention_layers)
        li = 0

        def block(seq, h):
            nonlocal li
            for m in seq:
                if isinstance(m, ResBlock):
                    h = m(h, emb)
                elif isinstance(m, AttentionBlock):
                    h = m(h, None if kv_ext is None else kv_ext[li], capture, context, attn)
                    li += 1
                else:
                    h = m(h)
            return h

        hs = []
        h = x
        for seq in self.input_blocks:
            h = block(seq, h)
            hs.append(h)
        h = block(self.middle_block, h)
        for seq in self.output_blocks:
            h = block(seq, torch.cat([h, hs.pop()], dim=1))
            if capture is not None and li == n_attn:
                return None  # reference pass: the tail after the last attention layer is unused
        return self.out(h)

    # -- public entry points -----------------------------------------------------------------------------
    def eps(self, x: torch.Tensor, t: torch.Tensor, kv_ext=None, context=None, attn: str = "math") -> torch.Tensor:
        """Main pass: x [B,Cin,64,64], t int64 [B], kv_ext: 16 (k, v) pairs [B*H, d, R] or None -> eps [B,8,64,64]."""
        return self._run(x, t, kv_ext=kv_ext, context=context, attn=attn)

    def ref_kv(self, ref_latent: torch.Tensor, attn: str = "math") -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Reference pass: latent [B,8,64,64] zero-padded to 16 channels, t = 0 -> 16 (k, v) [B*H, d, T]."""
        pad = self.cfg.in_channels - ref_latent.shape[1]
        x = F.pad(ref_latent, (0, 0, 0, 0, 0, pad))
        t = torch.zeros(ref_latent.shape[0], dtype=torch.int64, device=ref_latent.device)
        cap: list = []
        self._run(x, t, capture=cap, attn=attn)
        return cap

    def eps_spatial(self, x: torch.Tensor, t: torch.Tensor, refs: torch.Tensor, attn: str = "math") -> torch.Tensor:
        """Spatial concatenation: refs [B,8,64,64N] padded to 16 ch, cat on width, output cropped to x's width."""
        r = F.pad(refs, (0, 0, 0, 0, 0, x.shape[1] - refs.shape[1]))
        out = self._run(torch.cat([x, r], dim=-1), t, attn=attn)
        return out[:, :, :, : x.shape[-1]]

    def eps_cross(self, x: torch.Tensor, t: torch.Tensor, refs: torch.Tensor, attn: str = "math") -> torch.Tensor:
        """Cross-attention: context = reference latent tokens [B, 64*64N, 8]."""
        ctx = refs.reshape(refs.shape[0], refs.shape[1], -1).permute(0, 2, 1)
        return self._run(x, t, context=ctx, attn=attn)

    def eps_channel(self, x: torch.Tensor, t: torch.Tensor, refs: torch.Tensor, attn: str = "math") -> torch.Tensor:
        """Channel concatenation: refs [B,40,64,64] (5 latents stacked on channels)."""
        return self._run(torch.cat([x, refs], dim=1), t, attn=attn)
