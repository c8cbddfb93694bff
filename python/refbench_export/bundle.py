"""Exports a ReF-LDM ONNX bundle (the contract in docs/bundle.md) from the PyTorch reference models.

Legacy TorchScript exporter (``dynamo=False``), opset 17 (IR 8). Every graph has a dynamic batch axis; the
VAE encoder a dynamic width; the U-Net's external K/V a dynamic token axis; the spatial / cross graphs a dynamic
reference strip width. After export, every graph input is checked to be consumed by at least one node (the
failure mode of the dynamo exporter with CacheKV, docs/model.md §13.2).

Attention form (bundle.json ``attention``): by default the layers whose sequence grows with the number of
references attend in blocks of query rows (chunking.py), so onnxruntime never holds their whole score matrix;
``attention="full"`` writes the form of bundles exported before that (no ``attention`` key, byte-identical graphs).
"""
from __future__ import annotations

import hashlib
import json
import pathlib
import warnings

import onnx
import torch
from torch import nn

from refbench_model.configs import DESIGNS, ModelConfig

from . import chunking
from refbench_model.schedule import LINEAR_END, LINEAR_START, NUM_TIMESTEPS, alphas_cumprod

OPSET = 17
FORMAT = "refbench-refldm-bundle"
FORMAT_VERSION = 1
ZERO_REF_DEFAULT = 5

GRAPH_FILES = {
    "vaeEncoder": "vae_encoder.onnx", "vaeDecoder": "vae_decoder.onnx", "unetRef": "unet_ref.onnx",
    "unet": "unet.onnx", "unetSpatial": "unet_spatial.onnx", "unetCross": "unet_cross.onnx",
    "unetChannel": "unet_channel.onnx",
}
DESIGN_GRAPH = {"cachekv": "unet", "spatial": "unetSpatial", "cross": "unetCross", "channel": "unetChannel"}


def kv_names(n: int = 16) -> tuple[list[str], list[str]]:
    return [f"k_{i:02d}" for i in range(n)], [f"v_{i:02d}" for i in range(n)]


class _Enc(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, image):
        return self.vae.encode(image)


class _Dec(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent):
        return self.vae.decode(latent)


def _dtype(m: nn.Module) -> torch.dtype:
    return next(m.parameters()).dtype


def _cast(x: torch.Tensor, dt: torch.dtype) -> torch.Tensor:
    """Casts only when needed: the tracer records even a same-dtype ``.to`` as an ONNX Cast node."""
    return x if x.dtype == dt else x.to(dt)


class _Ref(nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, ref_latent):
        kv = self.unet.ref_kv(_cast(ref_latent, _dtype(self.unet)))
        f = torch.float32
        return tuple(_cast(k, f) for k, _ in kv) + tuple(_cast(v, f) for _, v in kv)


class _Main(nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, x, t, *kv):
        n, dt = len(kv) // 2, _dtype(self.unet)
        out = self.unet.eps(_cast(x, dt), t, [(_cast(kv[i], dt), _cast(kv[n + i], dt)) for i in range(n)])
        return _cast(out, torch.float32)


class _Design(nn.Module):
    def __init__(self, unet, design):
        super().__init__()
        self.unet, self.design = unet, design

    def forward(self, x, t, refs):
        dt = _dtype(self.unet)
        return _cast(getattr(self.unet, f"eps_{self.design}")(_cast(x, dt), t, _cast(refs, dt)), torch.float32)


def _io(name, dtype, shape):
    return {"name": name, "dtype": dtype, "shape": shape}


def _export(module, args, path: pathlib.Path, inputs, outputs, dynamic_axes, chunks=()) -> None:
    """``chunks``: this graph's query-chunk plan entries (chunking.plan), applied only while it is traced."""
    with warnings.catch_warnings(), chunking.applied({"graph": list(chunks)}):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=OPSET, input_names=inputs,
                          output_names=outputs, dynamic_axes=dynamic_axes, do_constant_folding=True)
    m = onnx.load(str(path))
    _shorten_names(m)
    onnx.save(m, str(path))
    consumed = {i for node in m.graph.node for i in node.input}
    # also inputs consumed inside subgraphs (none expected, but be safe)
    dangling = [i.name for i in m.graph.input if i.name not in consumed]
    if dangling:
        raise RuntimeError(f"{path.name}: graph inputs not consumed by any node: {dangling}")
    if m.ir_version > 10:
        raise RuntimeError(f"{path.name}: IR version {m.ir_version} > 10")


def _shorten_names(m: onnx.ModelProto) -> None:
    """Renames intermediate tensors to short ids and drops node names (about 20% of a tiny graph's bytes).
    Graph inputs, outputs and initializer (weight) names are kept."""
    keep = {i.name for i in m.graph.input} | {o.name for o in m.graph.output} | {i.name for i in m.graph.initializer}
    ren: dict[str, str] = {}
    for node in m.graph.node:
        node.name = ""
        for j, o in enumerate(node.output):
            if o and o not in keep:
                ren[o] = ren.get(o) or f"_{len(ren):x}"
                node.output[j] = ren[o]
        for j, i in enumerate(node.input):
            if i in ren:
                node.input[j] = ren[i]


def sha256_file(path: pathlib.Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@torch.no_grad()
def export_graphs(cfg: ModelConfig, vae, unets: dict, out: pathlib.Path, designs=DESIGNS,
                  graphs: tuple[str, ...] | None = None, fp16: bool = False,
                  chunk_plan: dict | None = None) -> dict:
    """Writes the ONNX files; returns the ``graphs`` section of bundle.json. ``graphs`` limits which are written.

    fp16: U-Net graphs carry fp16 weights and compute in fp16 (GroupNorm and softmax stay fp32); their inputs and
    outputs stay float32, so the runner's interface does not change. The VAE graphs stay fp32 (ArgMin).
    chunk_plan: ``{"refs": planned references, "budget": score elements}`` for the query-chunked form
    (chunking.py; planned on the modules actually exported); None = full attention."""
    out.mkdir(parents=True, exist_ok=True)
    if fp16:
        import copy
        unets = {d: copy.deepcopy(u).half() for d, u in unets.items()}
        for u in unets.values():  # GroupNorm keeps fp32 weights and computes in fp32 (GroupNorm32)
            for m in u.modules():
                if isinstance(m, nn.GroupNorm):
                    m.float()
    want = set(graphs) if graphs else None
    p = chunking.plan(cfg, vae, unets, chunk_plan["refs"], chunk_plan["budget"]) if chunk_plan is not None else {}
    return _export_all(cfg, vae, unets, out, designs, want, layers_of(unets), p)


def layers_of(unets: dict) -> list[dict]:
    return unets["cachekv"].attention_layers if "cachekv" in unets else next(iter(unets.values())).attention_layers


def _export_all(cfg, vae, unets, out, designs, want, layers, chunk_plan: dict) -> dict:
    res = cfg.vae.resolution
    lat = res // 8
    u = cfg.unet
    kn, vn = kv_names(len(layers))
    spec: dict = {}

    def on(name: str) -> bool:
        return want is None or name in want

    if on("vaeEncoder"):
        spec["vaeEncoder"] = {"file": GRAPH_FILES["vaeEncoder"],
                              "inputs": [_io("image", "float32", ["B", 3, res, "W"])],
                              "outputs": [_io("latent", "float32", ["B", 8, lat, "W/8"])]}
        _export(_Enc(vae), (torch.randn(1, 3, res, 2 * res),), out / GRAPH_FILES["vaeEncoder"], ["image"], ["latent"],
                {"image": {0: "B", 3: "W"}, "latent": {0: "B", 3: "W/8"}}, chunk_plan.get("vaeEncoder", ()))
    if on("vaeDecoder"):
        spec["vaeDecoder"] = {"file": GRAPH_FILES["vaeDecoder"],
                              "inputs": [_io("latent", "float32", ["B", 8, lat, lat])],
                              "outputs": [_io("image", "float32", ["B", 3, res, res])]}
        _export(_Dec(vae), (torch.randn(1, 8, lat, lat),), out / GRAPH_FILES["vaeDecoder"], ["latent"], ["image"],
                {"latent": {0: "B"}, "image": {0: "B"}}, chunk_plan.get("vaeDecoder", ()))
    if "cachekv" in designs:
        unet = unets["cachekv"]
        if on("unetRef"):
            outs_shape = [_io(n, "float32", [f"B*{L['heads']}", L["headDim"], L["tokens"]]) for n, L in zip(kn, layers)]
            outs_shape += [_io(n, "float32", [f"B*{L['heads']}", L["headDim"], L["tokens"]]) for n, L in zip(vn, layers)]
            spec["unetRef"] = {"file": GRAPH_FILES["unetRef"],
                               "inputs": [_io("ref_latent", "float32", ["B", 8, lat, lat])], "outputs": outs_shape}
            _export(_Ref(unet), (torch.randn(2, 8, lat, lat),), out / GRAPH_FILES["unetRef"], ["ref_latent"], kn + vn,
                    {"ref_latent": {0: "B"}, **{n: {0: f"Bh_{n}"} for n in kn + vn}}, chunk_plan.get("unetRef", ()))
        if on("unet"):
            n_ref = 3
            kv_in = [_io(n, "float32", [f"B*{L['heads']}", L["headDim"], "R"]) for n, L in zip(kn, layers)]
            kv_in += [_io(n, "float32", [f"B*{L['heads']}", L["headDim"], "R"]) for n, L in zip(vn, layers)]
            spec["unet"] = {"file": GRAPH_FILES["unet"],
                            "inputs": [_io("x", "float32", ["B", u.in_channels, lat, lat]), _io("t", "int64", ["B"])] + kv_in,
                            "outputs": [_io("eps", "float32", ["B", u.out_channels, lat, lat])]}
            ex_kv = [torch.randn(2 * L["heads"], L["headDim"], n_ref * L["tokens"]) for L in layers]
            ex_kv = ex_kv + [torch.randn_like(k) for k in ex_kv]
            dyn = {"x": {0: "B"}, "t": {0: "B"}, "eps": {0: "B"}}
            dyn.update({n: {0: f"Bh_{n}", 2: f"R_{n}"} for n in kn + vn})
            _export(_Main(unet), (torch.randn(2, u.in_channels, lat, lat), torch.tensor([999, 1]), *ex_kv),
                    out / GRAPH_FILES["unet"], ["x", "t"] + kn + vn, ["eps"], dyn, chunk_plan.get("unet", ()))
    for d in ("spatial", "cross", "channel"):
        g = DESIGN_GRAPH[d]
        if d not in designs or not on(g):
            continue
        if d == "channel":
            refs_shape, ex = [ "B", 8 * u.channel_concat_refs, lat, lat], torch.randn(2, 8 * u.channel_concat_refs, lat, lat)
            dyn_refs = {0: "B"}
        else:
            refs_shape, ex = ["B", 8, lat, f"{lat}*N"], torch.randn(2, 8, lat, lat * 3)
            dyn_refs = {0: "B", 3: "W"}
        spec[g] = {"file": GRAPH_FILES[g],
                   "inputs": [_io("x", "float32", ["B", u.in_channels, lat, lat]), _io("t", "int64", ["B"]),
                              _io("refs", "float32", refs_shape)],
                   "outputs": [_io("eps", "float32", ["B", u.out_channels, lat, lat])]}
        _export(_Design(unets[d], d), (torch.randn(2, u.in_channels, lat, lat), torch.tensor([999, 1]), ex),
                out / GRAPH_FILES[g], ["x", "t", "refs"], ["eps"],
                {"x": {0: "B"}, "t": {0: "B"}, "refs": dyn_refs, "eps": {0: "B"}}, chunk_plan.get(g, ()))
    return spec


def bundle_json(cfg: ModelConfig, layers: list[dict], graphs: dict, weights: dict, out: pathlib.Path,
                attention: dict | None = None) -> dict:
    """``attention``: the query-chunked form's description (chunking.describe); None = full (key absent)."""
    files = {spec["file"]: sha256_file(out / spec["file"]) for spec in graphs.values()}
    extra = {"attention": attention} if attention is not None else {}
    return {
        "format": FORMAT, "formatVersion": FORMAT_VERSION, "config": cfg.name,
        "model": cfg.to_json(), "weights": weights,
        "latent": {"channels": 8, "factor": 8, "size": cfg.vae.resolution // 8},
        "schedule": {"numTimesteps": NUM_TIMESTEPS, "betaSchedule": "linear", "linearStart": LINEAR_START,
                     "linearEnd": LINEAR_END, "alphasCumprod": [float(a) for a in alphas_cumprod()]},
        "attentionLayers": [dict(L) for L in layers],
        "zeroRefDefault": ZERO_REF_DEFAULT, "channelConcatRefs": cfg.unet.channel_concat_refs,
        **extra, "graphs": graphs, "files": files,
    }


def export_bundle(cfg: ModelConfig, vae, unets: dict, out: pathlib.Path, weights: dict, designs=DESIGNS,
                  fp16: bool = False, attention: str = chunking.FORM_QUERY_CHUNKED,
                  planned_refs: int = chunking.DEFAULT_PLANNED_REFS, budget: int = chunking.DEFAULT_BUDGET) -> dict:
    """Exports every graph for ``designs`` and writes bundle.json; returns the bundle.json object.

    attention: ``query-chunked`` (default; blocks planned for ``planned_refs`` references within ``budget`` score
    elements per batch element, chunking.py) or ``full`` (the form of bundles exported before it)."""
    if attention not in chunking.FORMS:
        raise ValueError(f"attention must be one of {chunking.FORMS}, got {attention!r}")
    out = pathlib.Path(out)
    vae.eval()
    for m in unets.values():
        m.eval()
    chunked = attention == chunking.FORM_QUERY_CHUNKED
    spec = {"refs": planned_refs, "budget": budget} if chunked else None
    graphs = export_graphs(cfg, vae, unets, out, designs, fp16=fp16, chunk_plan=spec)
    if fp16:  # absent = fp32
        for g in graphs:
            if g.startswith("unet"):
                graphs[g]["precision"] = "fp16"
    layers = next(iter(unets.values())).attention_layers
    att = chunking.describe(chunking.plan(cfg, vae, unets, planned_refs, budget), graphs, planned_refs, budget) if chunked else None
    bj = bundle_json(cfg, layers, graphs, weights, out, att)
    (out / "bundle.json").write_text(json.dumps(bj, indent=1) + "\n")
    return bj
