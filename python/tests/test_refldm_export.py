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
        _close(tb.encode(img), ob.encode(img))
    img = np.clip(_rand(2, 2, 3, 512, 512), -1, 1)  # dynamic batch
    _close(tb.encode(img), ob.encode(img))
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
    spec = export_graphs(PAPER, None, unets, tmp_path, ("cachekv",), graphs=("unet",))
    assert set(spec) == {"unet"}
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
