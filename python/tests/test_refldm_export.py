"""ONNX bundle export: contract of bundle.json, every graph vs PyTorch (tiny, seed 0), K/V inputs connected,
the whole sampler through onnxruntime vs PyTorch, and one paper-size unet.onnx export."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import onnx
import pytest
import torch

from refbench_export.bundle import GRAPH_FILES, export_bundle, export_graphs, sha256_file
from refbench_export.ort_backend import OrtBackend
from refbench_golden.refldm import synthetic_image
from refbench_model.build import build_random
from refbench_model.configs import PAPER, TINY
from refbench_model.sampler import TorchBackend, sample
from refbench_model.schedule import alphas_cumprod

ATOL = 1e-4
# Full vs query-chunked attention, same weights: every softmax row and product is the same arithmetic; only a GEMM
# over a shorter query slab may block its reduction differently. Measured at 5 references (onnxruntime 1.30 CPU):
# 0 for the VAE encoder, spatial and cross, 7.2e-7 for the CacheKV eps (|eps| up to ~5: about 1 ulp). 1e-5 allows
# ~10 ulp at that scale, and stays 10x below ATOL, the graphs' tolerance against PyTorch.
FULL_VS_CHUNKED_ATOL = 1e-5
# The VAE encoder's latents, onnxruntime vs PyTorch: |z| up to ~6.5 after 23 convolutions whose float32 sums the two
# runtimes (MLAS vs oneDNN, each picked per CPU) order differently. Measured on the dev CPU: 1.3e-5 (one image),
# 8.3e-5 (3-reference strip), 1.2e-4 (5-reference strip, integer-draw weights), so ATOL left no margin for another
# CPU's kernels. The same bound as test/parity/server/restorers/ref-ldm/refldm.test.ts ENCODER_TOL: the final latent's tolerance, ~8x
# the largest measured spread, while a real bug (a wrong weight or strip split) moves latents by O(0.1).
ENCODER_ATOL = 1e-3
DESIGNS = ("cachekv", "spatial", "cross", "channel")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("bundle")
    vae, unets = build_random("tiny", 0, DESIGNS)
    bj = export_bundle(TINY, vae, unets, out, {"kind": "random-init", "seed": 0}, DESIGNS)
    return {"dir": out, "json": bj, "torch": TorchBackend(vae, unets), "ort": OrtBackend(out, threads=2),
            "unets": unets}


def _rand(seed, *shape, scale=1.0):
    return (torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * scale).numpy()


def _close(a, b, atol=ATOL, scale_by_max=False):
    tol = atol * max(1.0, float(np.abs(a).max())) if scale_by_max else atol
    d = float(np.abs(a - b).max())
    assert a.shape == b.shape and d <= tol, f"max abs diff {d:.3g} > {tol:.3g}"
    return d


def test_bundle_json_contract(tiny):
    bj, out = tiny["json"], tiny["dir"]
    assert json.loads((out / "bundle.json").read_text()) == bj
    assert bj["format"] == "refbench-refldm-bundle" and bj["formatVersion"] == 1 and bj["config"] == "tiny"
    assert bj["weights"] == {"kind": "random-init", "seed": 0}
    assert bj["latent"] == {"channels": 8, "factor": 8, "size": 64}
    assert bj["schedule"]["alphasCumprod"] == [float(a) for a in alphas_cumprod()]
    assert bj["zeroRefDefault"] == 5 and bj["channelConcatRefs"] == 5
    assert len(bj["attentionLayers"]) == 16 and bj["attentionLayers"][0]["name"] == "input_blocks.4.1"
    assert set(bj["graphs"]) == set(GRAPH_FILES)
    for g, spec in bj["graphs"].items():
        assert spec["file"] == GRAPH_FILES[g]
        m = onnx.load(str(out / spec["file"]))
        assert m.ir_version <= 10 and m.opset_import[0].version == 17
        assert [i.name for i in m.graph.input] == [i["name"] for i in spec["inputs"]], g
        assert [o.name for o in m.graph.output] == [o["name"] for o in spec["outputs"]], g
        assert bj["files"][spec["file"]] == sha256_file(out / spec["file"])
    kv = [i["name"] for i in bj["graphs"]["unet"]["inputs"][2:]]
    assert kv == [f"k_{i:02d}" for i in range(16)] + [f"v_{i:02d}" for i in range(16)]


def test_vae_graphs_vs_torch(tiny):
    tb, ob = tiny["torch"], tiny["ort"]
    for w in (512, 1024):  # dynamic strip width
        img = np.clip(_rand(w, 1, 3, 512, w), -1, 1)
        _close(tb.encode(img), ob.encode(img), ENCODER_ATOL)
    img = np.clip(_rand(2, 2, 3, 512, 512), -1, 1)  # dynamic batch
    _close(tb.encode(img), ob.encode(img), ENCODER_ATOL)
    lat = _rand(3, 2, 8, 64, 64, scale=3.0)
    # NOTE: the random decoder amplifies (outputs up to ~10); tolerance is relative to the output's max.
    _close(tb.decode(lat), ob.decode(lat), scale_by_max=True)


def test_unet_graphs_vs_torch(tiny):
    tb, ob = tiny["torch"], tiny["ort"]
    lat = _rand(4, 2, 8, 64, 64)
    kv_t, kv_o = tb.ref_kv(lat), ob.ref_kv(lat)
    layers = tiny["json"]["attentionLayers"]
    for (kt, vt), (ko, vo), L in zip(kv_t, kv_o, layers):
        assert kt.shape == (2 * L["heads"], L["headDim"], L["tokens"])
        _close(kt, ko)
        _close(vt, vo)
    x = _rand(5, 2, 16, 64, 64)
    t = np.array([991, 1], np.int64)
    for n in (1, 2):  # dynamic token axis R = n * tokens
        kv = [(np.concatenate([k] * n, -1) * (1 + 0.1 * np.arange(n).repeat(k.shape[-1]))[None, None], np.concatenate([v] * n, -1))
              for k, v in kv_t]
        kv = [(k.astype(np.float32), v) for k, v in kv]
        _close(tb.eps("cachekv", x, t, kv), ob.eps("cachekv", x, t, kv))
    for d, refs in (("spatial", _rand(6, 2, 8, 64, 64)), ("cross", _rand(7, 2, 8, 64, 128)),
                    ("channel", _rand(8, 2, 40, 64, 64))):
        _close(tb.eps(d, x, t, refs), ob.eps(d, x, t, refs))


def test_every_kv_input_is_connected(tiny):
    ob = tiny["ort"]
    layers = tiny["json"]["attentionLayers"]
    x = _rand(9, 1, 16, 64, 64)
    t = np.array([500], np.int64)
    kv = [(_rand(10 + i, L["heads"], L["headDim"], L["tokens"]), _rand(40 + i, L["heads"], L["headDim"], L["tokens"]))
          for i, L in enumerate(layers)]
    base = ob.eps("cachekv", x, t, kv)
    for i in range(16):
        for j in range(2):
            pert = [list(p) for p in kv]
            pert[i][j] = pert[i][j] + 0.5
            diff = float(np.abs(ob.eps("cachekv", x, t, [tuple(p) for p in pert]) - base).max())
            assert diff > 1e-5, f"{'kv'[j]}_{i:02d} does not change the output"


@pytest.mark.parametrize("design,n_refs,cfg", [("cachekv", 1, 1.5), ("cachekv", 0, 1.0), ("spatial", 1, 1.5),
                                               ("cross", 1, 1.5), ("channel", 2, 1.5)])
def test_sampler_ort_vs_torch(tiny, design, n_refs, cfg):
    lq = synthetic_image(0)
    refs = [synthetic_image(i) for i in range(1, 1 + n_refs)]
    x_t = _rand(2024, 1, 8, 64, 64)
    rt = sample(tiny["torch"], lq, refs, x_t, steps=4, schedule="uniform", cfg=cfg, design=design, zero_refs=2)
    ro = sample(tiny["ort"], lq, refs, x_t, steps=4, schedule="uniform", cfg=cfg, design=design, zero_refs=2)
    assert rt.timesteps == ro.timesteps == [1, 251, 501, 751]
    # conditioned init: latents O(1)-O(15); compare relative to the latent's scale
    d = _close(rt.latent, ro.latent, atol=1e-4, scale_by_max=True)  # measured ~2e-5 of max|x|
    dimg = np.abs(rt.image.astype(int) - ro.image.astype(int))
    assert (dimg > 1).mean() < 1e-3, f"{(dimg > 1).sum()} pixel values differ by more than 1 (latent diff {d:.3g})"


def test_paper_unet_export_vs_torch(tmp_path):
    """Paper-size unet.onnx (117.8M params, random init) exported and checked against PyTorch on one input.
    Slow (about 1-2 min on 2 cores) but part of the default run."""
    torch.set_num_threads(2)
    _, unets = build_random("paper", 0, ("cachekv",))
    from refbench_export import chunking
    spec = export_graphs(PAPER, None, unets, tmp_path, ("cachekv",), graphs=("unet",),
                         chunk_plan={"refs": 5, "budget": chunking.DEFAULT_BUDGET})
    assert set(spec) == {"unet"}
    assert _softmax_count(tmp_path / "unet.onnx") > 16  # the paper's 32^2 / 16^2 layers are query-chunked
    u = unets["cachekv"]
    layers = u.attention_layers
    x = _rand(1, 1, 16, 64, 64)
    t = np.array([501], np.int64)
    kv = [(_rand(100 + i, L["heads"], 32, L["tokens"]), _rand(200 + i, L["heads"], 32, L["tokens"]))
          for i, L in enumerate(layers)]
    with torch.no_grad():
        want = u.eps(torch.from_numpy(x), torch.from_numpy(t), [(torch.from_numpy(k), torch.from_numpy(v)) for k, v in kv]).numpy()
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(tmp_path / "unet.onnx"), so, providers=["CPUExecutionProvider"])
    feeds = {"x": x, "t": t}
    for i, (k, v) in enumerate(kv):
        feeds[f"k_{i:02d}"], feeds[f"v_{i:02d}"] = k, v
    got = sess.run(None, feeds)[0]
    _close(want, got)
    assert float(np.abs(want).mean()) > 1e-3


def test_fp16_unet_export(tmp_path):
    """--fp16: fp16 weights inside, float32 interface, close to the fp32 PyTorch model."""
    _, unets = build_random("tiny", 0, ("cachekv",))
    spec = export_graphs(TINY, None, unets, tmp_path, ("cachekv",), graphs=("unet",), fp16=True)
    m = onnx.load(str(tmp_path / spec["unet"]["file"]))
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in m.graph.initializer)
    assert unets["cachekv"].out[2].weight.dtype == torch.float32  # the caller's model is untouched
    import onnxruntime as ort
    sess = ort.InferenceSession(str(tmp_path / "unet.onnx"), providers=["CPUExecutionProvider"])
    layers = unets["cachekv"].attention_layers
    x, t = _rand(1, 1, 16, 64, 64), np.array([300], np.int64)
    kv = [(_rand(100 + i, L["heads"], L["headDim"], L["tokens"]), _rand(200 + i, L["heads"], L["headDim"], L["tokens"]))
          for i, L in enumerate(layers)]
    feeds = {"x": x, "t": t, **{f"k_{i:02d}": k for i, (k, _) in enumerate(kv)}, **{f"v_{i:02d}": v for i, (_, v) in enumerate(kv)}}
    got = sess.run(None, feeds)[0]
    with torch.no_grad():
        want = unets["cachekv"].eps(torch.from_numpy(x), torch.from_numpy(t),
                                    [(torch.from_numpy(k), torch.from_numpy(v)) for k, v in kv]).numpy()
    assert got.dtype == np.float32
    assert float(np.abs(got - want).max()) <= 2e-2 * max(1.0, float(np.abs(want).max()))


def test_export_cli_from_official_layout_checkpoint(tmp_path):
    """python -m refbench_export bundle --ckpt/--vqgan: EMA weights exported, checkpoint hashes recorded."""
    from refbench_export.__main__ import main
    from refbench_model.checkpoint import ema_name
    vae, unets = build_random("tiny", 0)
    _, ema = build_random("tiny", 7)
    sd = {f"model.diffusion_model.{k}": v for k, v in unets["cachekv"].state_dict().items()}
    sd.update({f"model_ema.{ema_name(k)}": v for k, v in ema["cachekv"].state_dict().items()})
    sd.update({"model_ema.decay": torch.tensor(0.9999), "model_ema.num_updates": torch.tensor(1, dtype=torch.int32)})
    torch.save(sd, tmp_path / "refldm.ckpt")
    torch.save({"state_dict": vae.state_dict()}, tmp_path / "vqgan.ckpt")
    out = tmp_path / "bundle"
    assert main(["bundle", "--config", "tiny", "--ckpt", str(tmp_path / "refldm.ckpt"), "--vqgan",
                 str(tmp_path / "vqgan.ckpt"), "--out", str(out)]) == 0
    bj = json.loads((out / "bundle.json").read_text())
    assert bj["weights"]["kind"] == "checkpoint"
    assert bj["weights"]["refldmSha256"] == sha256_file(tmp_path / "refldm.ckpt")
    assert bj["weights"]["vqganSha256"] == sha256_file(tmp_path / "vqgan.ckpt")
    assert set(bj["graphs"]) == {"vaeEncoder", "vaeDecoder", "unetRef", "unet"}
    ob = OrtBackend(out)
    lat = _rand(11, 1, 8, 64, 64)
    with torch.no_grad():
        want = ema["cachekv"].ref_kv(torch.from_numpy(lat))[3][0].numpy()
    _close(want, ob.ref_kv(lat)[3][0])  # the EMA weights, not model.diffusion_model.*


# -- attention form (docs/bundle.md "Attention form") -------------------------------------------------------------
CHUNKED_GRAPHS = {"vaeEncoder", "vaeDecoder", "unet", "unetSpatial", "unetCross"}  # tiny: the others fit the budget


def _softmax_count(path: pathlib.Path) -> int:
    return sum(n.op_type == "Softmax" for n in onnx.load(str(path)).graph.node)


def test_attention_form_recorded_and_in_the_graphs(tiny):
    """bundle.json records the query-chunked form, and each listed layer is one Softmax per block in its graph;
    graphs whose sequences do not grow with the references keep one Softmax per layer."""
    from refbench_export import chunking
    bj, out = tiny["json"], tiny["dir"]
    att = bj["attention"]
    assert att["form"] == "query-chunked" and att["plannedRefs"] == 5 and att["budgetElements"] == chunking.DEFAULT_BUDGET
    assert set(att["layers"]) == CHUNKED_GRAPHS
    assert [L["name"] for L in att["layers"]["vaeEncoder"]] == ["encoder.mid.attn_1"]
    assert att["layers"]["vaeEncoder"][0]["blockRows"] == [1] * 64  # 64 x 320 queries x 20,480 keys > budget
    # unetRef: the last layer's attention output is pruned with the tail (only its k, v are outputs)
    base = {"vaeEncoder": 1, "vaeDecoder": 1, "unetRef": 15, "unet": 16, "unetSpatial": 16, "unetCross": 32, "unetChannel": 16}
    for g, spec in bj["graphs"].items():
        layers = att["layers"].get(g, [])
        for L in layers:
            assert sum(L["blockRows"]) == L["rows"] and len(L["blockRows"]) > 1, (g, L)
        want = base[g] + sum(len(L["blockRows"]) - 1 for L in layers)
        assert _softmax_count(out / spec["file"]) == want, g


def test_row_blocks():
    from refbench_export.chunking import row_blocks
    assert row_blocks(32, 100, 3200) is None  # the whole matrix fits: not cut
    assert row_blocks(32, 100, 1000) == (10, 10, 10, 2)
    assert row_blocks(8, 10**9, 1000) == (1,) * 8  # never less than one row


def _five_ref_inputs(tiny):
    """5-reference inputs of every chunked graph (the count the blocks are sized for)."""
    tb = tiny["torch"]
    strip = np.clip(_rand(50, 1, 3, 512, 5 * 512), -1, 1)
    lats = _rand(51, 5, 8, 64, 64)
    kv1 = tb.ref_kv(lats)  # batch 5 -> concatenate each reference's tokens (strip order)
    kv = []
    for (k, v), L in zip(kv1, tiny["json"]["attentionLayers"]):
        h = L["heads"]
        kv.append((np.concatenate([k[i * h:(i + 1) * h] for i in range(5)], -1),
                   np.concatenate([v[i * h:(i + 1) * h] for i in range(5)], -1)))
    refs_strip = np.concatenate(list(lats[:, None]), -1)  # [1, 8, 64, 320]
    x = _rand(52, 1, 16, 64, 64)
    return strip, kv, refs_strip, x


def test_five_references_vs_torch(tiny):
    """The chunked graphs at 5 references (the largest sequences) against PyTorch's full attention."""
    tb, ob = tiny["torch"], tiny["ort"]
    strip, kv, refs_strip, x = _five_ref_inputs(tiny)
    _close(tb.encode(strip), ob.encode(strip), ENCODER_ATOL)
    t = np.array([991], np.int64)
    _close(tb.eps("cachekv", x, t, kv), ob.eps("cachekv", x, t, kv))
    for d in ("spatial", "cross"):
        _close(tb.eps(d, x, t, refs_strip), ob.eps(d, x, t, refs_strip))


def test_full_form_is_the_pre_chunking_bundle_and_agrees(tiny, tmp_path):
    """attention='full' writes the form of bundles exported before the query-chunked one (no ``attention`` key,
    one Softmax per layer); it loads through the same backend and gives the same outputs as the chunked bundle.
    Measured: max |full - chunked| = 0 (encoder, spatial, cross) and 7.2e-7 (CacheKV eps) at 5 references."""
    vae, unets = build_random("tiny", 0, DESIGNS)
    bj = export_bundle(TINY, vae, unets, tmp_path, {"kind": "random-init", "seed": 0}, DESIGNS, attention="full")
    assert "attention" not in bj
    for g, spec in bj["graphs"].items():
        assert _softmax_count(tmp_path / spec["file"]) == {"vaeEncoder": 1, "vaeDecoder": 1, "unetRef": 15, "unetCross": 32}.get(g, 16)
    full, chunked = OrtBackend(tmp_path, threads=2), tiny["ort"]
    strip, kv, refs_strip, x = _five_ref_inputs(tiny)
    t = np.array([991], np.int64)
    pairs = [(full.encode(strip), chunked.encode(strip)), (full.eps("cachekv", x, t, kv), chunked.eps("cachekv", x, t, kv))]
    pairs += [(full.eps(d, x, t, refs_strip), chunked.eps(d, x, t, refs_strip)) for d in ("spatial", "cross")]
    for a, b in pairs:
        _close(a, b, atol=FULL_VS_CHUNKED_ATOL)


def test_chunked_modules_equal_full_in_torch():
    """The PyTorch chunked path (what the exporter traces) against the unchunked one, eager, 5 references."""
    from refbench_export import chunking
    torch.set_num_threads(2)
    vae, unets = build_random("tiny", 0, ("cachekv", "spatial", "cross"))
    p = chunking.plan(TINY, vae, unets)
    img = torch.from_numpy(np.clip(_rand(60, 1, 3, 512, 5 * 512), -1, 1))
    x, t, refs = torch.from_numpy(_rand(61, 1, 16, 64, 64)), torch.tensor([500]), torch.from_numpy(_rand(62, 1, 8, 64, 320))
    with torch.no_grad():
        full = [vae.encode(img), unets["spatial"].eps_spatial(x, t, refs), unets["cross"].eps_cross(x, t, refs)]
        with chunking.applied(p):
            chunked = [vae.encode(img), unets["spatial"].eps_spatial(x, t, refs), unets["cross"].eps_cross(x, t, refs)]
    for a, b in zip(full, chunked):
        _close(a.numpy(), b.numpy(), atol=FULL_VS_CHUNKED_ATOL)
    assert all(m.query_chunks is None for u in (vae, *unets.values()) for m in u.modules() if hasattr(m, "query_chunks"))
