"""VQGAN autoencoder of ReF-LDM (taming/ldm ``Encoder``/``Decoder`` + ``VectorQuantizer2``), own implementation.

Parameter names follow the official ``VQModel`` state dict (``encoder.*``, ``decoder.*``, ``quant_conv.*``,
``post_quant_conv.*``, ``quantize.embedding.weight``) so checkpoints load without renaming.

- ``encode(x)`` = ``quant_conv(encoder(x))``: the continuous, pre-quantisation latent (scale factor 1.0).
- ``decode(z)`` snaps every latent pixel to its nearest codebook entry (L2 argmin, fp32), then
  ``post_quant_conv`` and the decoder. Output is the raw decoder output in about [-1, 1], unclamped.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .configs import VaeConfig
from .unet import check_attention, split_query_rows


class GroupNormF32(nn.GroupNorm):
    """GroupNorm computed in fp32 whatever the input dtype (keeps fp16 exports faithful)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float()).type(x.dtype)


def _norm(cfg: VaeConfig, ch: int) -> nn.GroupNorm:
    return GroupNormF32(cfg.norm_groups, ch, eps=cfg.norm_eps, affine=True)


def _swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


class ResnetBlock(nn.Module):
    def __init__(self, cfg: VaeConfig, cin: int, cout: int):
        super().__init__()
        self.norm1 = _norm(cfg, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm2 = _norm(cfg, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(_swish(self.norm1(x)))
        h = self.conv2(_swish(self.norm2(h)))
        if hasattr(self, "nin_shortcut"):
            x = self.nin_shortcut(x)
        return x + h


class AttnBlock(nn.Module):
    """Single-head global self-attention over all H*W tokens (mid block). The kernel is chosen per call (``attn``):
    ``math`` (official) or ``sdpa`` (fused kernel, same result up to rounding; no [HW, HW] matrix on the wide
    reference strip). ``query_chunks`` (math only, set by the ONNX exporter): blocks of query rows, each over all
    keys (unet.py)."""

    query_chunks = None

    def __init__(self, cfg: VaeConfig, ch: int):
        super().__init__()
        self.norm = _norm(cfg, ch)
        self.q = nn.Conv2d(ch, ch, 1)
        self.k = nn.Conv2d(ch, ch, 1)
        self.v = nn.Conv2d(ch, ch, 1)
        self.proj_out = nn.Conv2d(ch, ch, 1)

    def forward(self, x: torch.Tensor, attn: str = "math") -> torch.Tensor:
        b, c, h, w = x.shape
        hn = self.norm(x)
        q = self.q(hn).reshape(b, c, -1)
        k = self.k(hn).reshape(b, c, -1)
        v = self.v(hn).reshape(b, c, -1)
        if attn == "sdpa":
            q, k, v = (a.transpose(1, 2).contiguous()[:, None] for a in (q, k, v))  # [b, 1, hw, c], unit last stride
            out = F.scaled_dot_product_attention(q, k, v, scale=int(c) ** -0.5)
            out = out[:, 0].transpose(1, 2).reshape(b, c, h, w)
        elif self.query_chunks is not None:
            outs = []
            for qc in split_query_rows(q, self.query_chunks, 2):
                wgt = torch.bmm(qc.transpose(1, 2), k) * (int(c) ** -0.5)  # [b, rows*w (query), hw (key)]
                wgt = torch.softmax(wgt.float(), dim=2).type(v.dtype)
                outs.append(torch.bmm(v, wgt.transpose(1, 2)))
            out = torch.cat(outs, dim=2).reshape(b, c, h, w)
        else:
            wgt = torch.bmm(q.transpose(1, 2), k) * (int(c) ** -0.5)  # [b, hw(query), hw(key)]
            wgt = torch.softmax(wgt.float(), dim=2).type(v.dtype)
            out = torch.bmm(v, wgt.transpose(1, 2)).reshape(b, c, h, w)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, 2, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0.0))  # asymmetric, as taming


class Upsample(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class _Level(nn.Module):
    """One resolution level: ``block`` (ModuleList of ResnetBlocks), empty ``attn``, optional down/upsample."""


class _Mid(nn.Module):
    pass


class Encoder(nn.Module):
    def __init__(self, cfg: VaeConfig):
        super().__init__()
        ch, mult = cfg.ch, cfg.ch_mult
        self.conv_in = nn.Conv2d(cfg.in_channels, ch, 3, 1, 1)
        in_mult = (1,) + tuple(mult)
        self.down = nn.ModuleList()
        block_in = ch
        for i, m in enumerate(mult):
            lvl = _Level()
            lvl.block = nn.ModuleList()
            lvl.attn = nn.ModuleList()  # attn_resolutions = []
            block_in = ch * in_mult[i]
            block_out = ch * m
            for _ in range(cfg.num_res_blocks):
                lvl.block.append(ResnetBlock(cfg, block_in, block_out))
                block_in = block_out
            if i != len(mult) - 1:
                lvl.downsample = Downsample(block_in)
            self.down.append(lvl)
        self.mid = _Mid()
        self.mid.block_1 = ResnetBlock(cfg, block_in, block_in)
        self.mid.attn_1 = AttnBlock(cfg, block_in)
        self.mid.block_2 = ResnetBlock(cfg, block_in, block_in)
        self.norm_out = _norm(cfg, block_in)
        self.conv_out = nn.Conv2d(block_in, cfg.z_channels, 3, 1, 1)  # double_z false

    def forward(self, x: torch.Tensor, attn: str = "math") -> torch.Tensor:
        h = self.conv_in(x)
        for lvl in self.down:
            for blk in lvl.block:
                h = blk(h)
            if hasattr(lvl, "downsample"):
                h = lvl.downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h), attn))
        return self.conv_out(_swish(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, cfg: VaeConfig):
        super().__init__()
        ch, mult = cfg.ch, cfg.ch_mult
        block_in = ch * mult[-1]
        self.conv_in = nn.Conv2d(cfg.z_channels, block_in, 3, 1, 1)
        self.mid = _Mid()
        self.mid.block_1 = ResnetBlock(cfg, block_in, block_in)
        self.mid.attn_1 = AttnBlock(cfg, block_in)
        self.mid.block_2 = ResnetBlock(cfg, block_in, block_in)
        levels: list[_Level] = []
        for i in reversed(range(len(mult))):
            lvl = _Level()
            lvl.block = nn.ModuleList()
            lvl.attn = nn.ModuleList()
            block_out = ch * mult[i]
            for _ in range(cfg.num_res_blocks + 1):
                lvl.block.append(ResnetBlock(cfg, block_in, block_out))
                block_in = block_out
            if i != 0:
                lvl.upsample = Upsample(block_in)
            levels.insert(0, lvl)  # up[i] is resolution level i, as in the official code
        self.up = nn.ModuleList(levels)
        self.norm_out = _norm(cfg, block_in)
        self.conv_out = nn.Conv2d(block_in, cfg.out_ch, 3, 1, 1)

    def forward(self, z: torch.Tensor, attn: str = "math") -> torch.Tensor:
        h = self.conv_in(z)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h), attn))
        for lvl in reversed(self.up):
            for blk in lvl.block:
                h = blk(h)
            if hasattr(lvl, "upsample"):
                h = lvl.upsample(h)
        return self.conv_out(_swish(self.norm_out(h)))


class Codebook(nn.Module):
    """``quantize`` of the official model: only ``embedding.weight`` [n_embed, embed_dim]."""

    def __init__(self, n_embed: int, dim: int):
        super().__init__()
        self.embedding = nn.Embedding(n_embed, dim)

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        """Indices [B*h*w] (row-major pixels) of the nearest entries: argmin of |z|^2 + |e|^2 - 2 z.e, fp32; ties ->
        lowest index. The float32 distances depend on the CPU's kernels: near-ties may pick other entries."""
        c = z.shape[1]
        zf = z.float().permute(0, 2, 3, 1).reshape(-1, c)
        e = self.embedding.weight.float()
        d = (zf * zf).sum(1, keepdim=True) + (e * e).sum(1)[None, :] - 2.0 * (zf @ e.t())
        return torch.argmin(d, dim=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Nearest-entry snap (``codes``), as the official VectorQuantizer."""
        b, c, h, w = z.shape
        q = self.embedding.weight.float()[self.codes(z)].reshape(b, h, w, c).permute(0, 3, 1, 2)
        return q.type(z.dtype)


class VQGAN(nn.Module):
    def __init__(self, cfg: VaeConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.quantize = Codebook(cfg.n_embed, cfg.embed_dim)
        self.quant_conv = nn.Conv2d(cfg.z_channels, cfg.embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(cfg.embed_dim, cfg.z_channels, 1)

    def encode(self, x: torch.Tensor, attn: str = "math") -> torch.Tensor:
        """x [B,3,H,W] in [-1,1] -> pre-quantisation latent [B,8,H/8,W/8]; ``attn``: the mid block's kernel."""
        return self.quant_conv(self.encoder(x, check_attention(attn)))

    def decode(self, z: torch.Tensor, attn: str = "math") -> torch.Tensor:
        """latent [B,8,h,w] -> image [B,3,8h,8w], raw decoder output (about [-1,1], unclamped)."""
        return self.decoder(self.post_quant_conv(self.quantize(z)), check_attention(attn))
