"""Query-chunked attention for the exported graphs (docs/bundle.md, "Attention form").

onnxruntime's CPU kernels run an attention layer as MatMul -> Softmax -> MatMul and hold the whole
[queries, keys] score matrix (several copies: MatMul output, scaled copy, Softmax output). Where the sequence grows
with the number of references that matrix grows with its square: the VAE encoder's mid-block attention over the
reference strip (64 x 64N tokens), the spatial design's self-attention (own + N strips), the CacheKV main pass
(own queries x own + N reference keys) and the cross design's cross-attention (own queries x 4096N context tokens).
The fixed-size ones cost memory on every image too (the VAE decoder's 4096 x 4096 matrix: 64 MiB per copy).

The exporter cuts the QUERIES of those layers into static blocks of whole feature-map rows (the row count is fixed
by the 512-pixel height; the width may be dynamic); each block attends over ALL keys with the same arithmetic, and
the blocks' outputs are concatenated. Rows per block = the most rows whose score matrix, at ``planned_refs``
references, stays within ``budget`` elements per batch element (at least one row); a layer whose whole matrix fits
is left as it was. The same rule applies to every attention layer of every graph; layers whose sequence does not
depend on the references (VAE decoder, reference pass, channel design, the cross design's self-attention) are sized
for their fixed length (tiny: only the VAE decoder's is cut).
"""
from __future__ import annotations

from contextlib import contextmanager

from torch import nn

from refbench_model.configs import ModelConfig
from refbench_model.unet import AttentionBlock

FORM_FULL = "full"
FORM_QUERY_CHUNKED = "query-chunked"
FORMS = (FORM_FULL, FORM_QUERY_CHUNKED)
DEFAULT_BUDGET = 1 << 22  # score elements per batch element and block: 16 MiB in fp32
DEFAULT_PLANNED_REFS = 5  # the paper's reference count


def row_blocks(rows: int, per_row: int, budget: int) -> tuple[int, ...] | None:
    """Block sizes (in rows) for a layer whose score matrix has ``per_row`` elements per query row; None = no cut."""
    if rows * per_row <= budget:
        return None
    r = max(1, budget // per_row)
    return (r,) * (rows // r) + ((rows % r,) if rows % r else ())


def _unet_plan(cfg: ModelConfig, unet, design: str, refs: int, budget: int, ref_pass: bool = False) -> list:
    """Plan entries of one U-Net graph (``ref_pass``: the CacheKV reference pass, own tokens only)."""
    lat = cfg.vae.resolution // 8
    blocks = [m for m in unet.modules() if isinstance(m, AttentionBlock)]
    plan = []
    for blk, layer in zip(blocks, unet.attention_layers, strict=True):
        s, h = int(round(layer["tokens"] ** 0.5)), layer["heads"]
        if design == "cachekv" and not ref_pass:  # own queries x (own + refs) keys
            per_row = s * s * s * (1 + refs) * h
        elif design == "spatial":  # (own + refs) x (own + refs): the strip is (1 + refs) images wide
            per_row = s * (1 + refs) * s * s * (1 + refs) * h
        else:  # own x own (reference pass, channel design, the cross design's self-attention)
            per_row = s * s * s * h
        plan.append((blk, layer["name"], s, row_blocks(s, per_row, budget)))
        if design == "cross":  # own queries x 4096·refs context tokens
            plan.append((blk.crossattn_attention, layer["name"] + ".crossattn_attention", s,
                         row_blocks(s, s * lat * lat * refs * h, budget)))
    return [p for p in plan if p[3] is not None]


def plan(cfg: ModelConfig, vae, unets: dict, refs: int = DEFAULT_PLANNED_REFS,
         budget: int = DEFAULT_BUDGET) -> dict[str, list[tuple[nn.Module, str, int, tuple[int, ...]]]]:
    """Graph key -> [(attention module, name, rows, row blocks)] for every layer that is cut (modules of ``vae``
    is None are skipped)."""
    lat = cfg.vae.resolution // 8
    out: dict = {}
    if vae is not None:
        enc = row_blocks(lat, lat * refs * lat * lat * refs, budget)  # the strip: 64 x 64N tokens, one head
        dec = row_blocks(lat, lat * lat * lat, budget)  # one 64 x 64 latent
        out["vaeEncoder"] = [(vae.encoder.mid.attn_1, "encoder.mid.attn_1", lat, enc)] if enc else []
        out["vaeDecoder"] = [(vae.decoder.mid.attn_1, "decoder.mid.attn_1", lat, dec)] if dec else []
    graph = {"cachekv": "unet", "spatial": "unetSpatial", "cross": "unetCross", "channel": "unetChannel"}
    for d, u in unets.items():
        out[graph[d]] = _unet_plan(cfg, u, d, refs, budget)
        if d == "cachekv":
            out["unetRef"] = _unet_plan(cfg, u, d, refs, budget, ref_pass=True)
    return out


@contextmanager
def applied(p: dict):
    """Sets ``query_chunks`` on the planned modules for the duration of an export, then clears it."""
    mods = [(m, rows, sizes) for layers in p.values() for m, _, rows, sizes in layers]
    try:
        for m, rows, sizes in mods:
            m.query_chunks = (rows, sizes)
        yield
    finally:
        for m, _, _ in mods:
            m.query_chunks = None


def describe(p: dict, graphs: dict, refs: int, budget: int) -> dict:
    """The ``attention`` section of bundle.json for the exported ``graphs``."""
    return {
        "form": FORM_QUERY_CHUNKED, "plannedRefs": refs, "budgetElements": budget,
        "layers": {g: [{"name": name, "rows": rows, "blockRows": list(sizes)} for _, name, rows, sizes in p[g]]
                   for g in graphs if p.get(g)},
    }
