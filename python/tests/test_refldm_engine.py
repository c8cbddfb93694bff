"""The fast PyTorch engine (engine.py) against the reference sampler (sampler.py), its switches, and the worker's
framing (worker.py). Small images (128², latent 16²) keep it quick; the model is size-agnostic."""
from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
import torch

from refbench_model.build import build_random
from refbench_model.engine import EAGER, FASTEST, Engine, KvBuffer, SampleSettings, Switches, resolve_switches, state_dict_sha256
from refbench_model.sampler import TorchBackend, sample
from refbench_model.unet import legacy_attention
from refbench_model.worker import ProtocolError, read_frame, write_frame

S = 128
STEPS = 2  # uniform: 1, 501


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(0)
    lq = rng.integers(0, 256, (S, S, 3), dtype=np.uint8)
    refs = [rng.integers(0, 256, (S, S, 3), dtype=np.uint8) for _ in range(3)]
    x_t = torch.randn(1, 8, S // 8, S // 8, generator=torch.Generator().manual_seed(1)).numpy()
    return lq, refs, x_t


@pytest.fixture(scope="module")
def models():
    torch.set_num_threads(2)
    return build_random("tiny", 0, ("cachekv", "spatial", "cross", "channel"))


SWITCH_SETS = [EAGER, Switches(), dataclasses.replace(Switches(), cfg_batch=False), Switches(ref_pass="loop"),
               Switches(attention="math", kv_cache="concat"), Switches(kv_cache="concat")]


@pytest.mark.parametrize("design,n", [("cachekv", 0), ("cachekv", 1), ("cachekv", 3), ("spatial", 2), ("cross", 2), ("channel", 2)])
def test_every_switch_set_matches_the_reference_sampler(models, inputs, design, n):
    vae, unets = models
    lq, refs, x_t = inputs
    ref = sample(TorchBackend(vae, unets), lq, refs[:n], x_t, steps=STEPS, cfg=1.5, design=design)
    # kvCache / refPass only concern CacheKV: the other designs run eager and the default fast set
    for sw in SWITCH_SETS if design == "cachekv" else SWITCH_SETS[:3]:
        out = Engine(vae, unets, "cpu", sw).restore(lq, refs[:n], x_t, SampleSettings(steps=STEPS, design=design))
        assert np.abs(out.latent - ref.latent).max() <= 1e-4, (design, n, sw)
        assert np.abs(out.decoded - ref.decoded).max() <= 1e-4, (design, n, sw)
        assert out.info["zeroRefs"] == (5 if n == 0 else 0) and out.info["stepsRun"] == STEPS


def test_cfg_one_runs_the_conditional_pass_only(models, inputs):
    vae, unets = models
    lq, refs, x_t = inputs
    ref = sample(TorchBackend(vae, unets), lq, refs[:1], x_t, steps=STEPS, cfg=1.0)
    out = Engine(vae, unets, "cpu", Switches()).restore(lq, refs[:1], x_t, SampleSettings(steps=STEPS, cfg=1.0))
    assert out.info["batch"] == 1 and out.info["cfgPasses"] == 1
    assert np.abs(out.latent - ref.latent).max() <= 1e-4


def test_channel_design_cuts_more_than_five_refs_as_the_onnx_engine(models, inputs):
    vae, unets = models
    lq, refs, x_t = inputs
    out = Engine(vae, unets, "cpu", Switches()).restore(lq, refs * 2, x_t, SampleSettings(steps=1, design="channel"))
    assert out.info["channelRefsUsed"] == 5 and out.info["channelRefsDropped"] == 1


def test_kv_buffer_equals_concatenation():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(4, 8, 16, generator=g) for _ in range(3))
    kr, vr = torch.randn(4, 8, 48, generator=g), torch.randn(4, 8, 48, generator=g)
    want = legacy_attention(q, torch.cat([k, kr], -1), torch.cat([v, vr], -1), "math")
    for impl in ("math", "sdpa"):
        buf = KvBuffer(4, 8, 16, 48, torch.float32, "cpu")
        buf.fill(kr, vr)
        assert torch.allclose(buf.attend(q, k, v, impl), want, atol=1e-5)


def test_cuda_only_switches_are_ignored_on_cpu_with_a_reason():
    sw, ignored = resolve_switches(FASTEST, "cpu")
    assert not sw.cuda_graphs and not sw.cudnn_benchmark and sw.dtype == "bf16"
    assert set(ignored) == {"cudaGraphs", "cudnnBenchmark"} and all(ignored.values())
    _, ignored = resolve_switches(dataclasses.replace(EAGER, compile=True), "cpu")
    assert "compile" in ignored
    assert Switches.from_json(FASTEST.to_json()) == FASTEST
    with pytest.raises(ValueError, match="unknown switch"):
        Switches.from_json({"cfgbatch": True})
    with pytest.raises(ValueError, match="attention must be one of math, sdpa"):
        Switches(attention="flash")


def test_bf16_and_fp16_autocast_run_on_cpu_and_drift_a_little(models, inputs):
    vae, unets = models
    lq, refs, x_t = inputs
    base = Engine(vae, {"cachekv": unets["cachekv"]}, "cpu", Switches()).restore(lq, refs[:1], x_t, SampleSettings(steps=1))
    for dt in ("bf16", "fp16"):
        out = Engine(vae, {"cachekv": unets["cachekv"]}, "cpu", Switches(dtype=dt)).restore(lq, refs[:1], x_t, SampleSettings(steps=1))
        d = np.abs(out.latent - base.latent).max()
        assert 0 < d < 0.5, (dt, d)


def test_state_dict_digest_identifies_the_weights():
    a, _ = build_random("tiny", 0, ())
    b, _ = build_random("tiny", 0, ())
    c, _ = build_random("tiny", 1, ())
    assert state_dict_sha256(a) == state_dict_sha256(b) != state_dict_sha256(c)


def test_frames_round_trip_and_reject_a_truncated_stream():
    buf = io.BytesIO()
    lq = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    lat = np.linspace(-1, 1, 6, dtype=np.float32).reshape(1, 2, 3)
    write_frame(buf, {"type": "restore", "id": 7}, [("lq", lq), ("xT", lat)])
    first = len(buf.getvalue())
    write_frame(buf, {"type": "bye"})
    raw = buf.getvalue()
    f = io.BytesIO(raw)
    h, blobs = read_frame(f)
    assert h["type"] == "restore" and h["id"] == 7
    assert np.array_equal(blobs["lq"], lq) and np.array_equal(blobs["xT"], lat) and blobs["xT"].flags.writeable
    assert read_frame(f)[0]["type"] == "bye" and read_frame(f) is None
    with pytest.raises(ProtocolError, match="end of input inside"):
        read_frame(io.BytesIO(raw[: first - 3]))  # inside the xT blob


BIT_STEPS = 5


@pytest.mark.parametrize("n", [0, 1, 3])
@pytest.mark.parametrize("cfg", [1.5, 3.0])
def test_eager_is_bit_equal_to_the_reference_sampler(models, inputs, n, cfg):
    """EAGER is the official arithmetic and batching (CFG as one B = 2 batch [uncond, cond]; the reference pass one
    U-Net pass per reference with B = 2 [zero, real]), so its final latent and decoder output are the reference
    sampler's bit for bit, not merely close: a batch of 1 per branch instead drifts by ~1e-3 (different BLAS paths)."""
    vae, unets = models
    lq, refs, x_t = inputs
    ref = sample(TorchBackend(vae, unets), lq, refs[:n], x_t, steps=BIT_STEPS, cfg=cfg)
    out = Engine(vae, unets, "cpu", EAGER).restore(lq, refs[:n], x_t, SampleSettings(steps=BIT_STEPS, cfg=cfg))
    assert out.info["batch"] == 2 and out.info["refPassBatch"] == 2
    assert np.array_equal(out.latent, ref.latent), float(np.abs(out.latent - ref.latent).max())
    assert np.array_equal(out.decoded, ref.decoded), float(np.abs(out.decoded - ref.decoded).max())


def test_engines_sharing_modules_each_run_their_own_attention_kernel(models, inputs, monkeypatch):
    """Two engines on the SAME module objects, one math and one sdpa, created before either runs and called
    interleaved: each runs its own kernel (counted at the two kernels' entry points) and gives what an engine of its
    kind gives alone (math: EAGER = the reference sampler, bit for bit; sdpa: an engine on a private copy)."""
    import copy

    vae, unets = models
    lq, refs, x_t = inputs
    cachekv = {"cachekv": unets["cachekv"]}
    settings = SampleSettings(steps=2)
    ref = sample(TorchBackend(vae, unets), lq, refs[:2], x_t, steps=2, cfg=1.5)
    fast_sw = Switches(attention="sdpa", kv_cache="concat", ref_pass="loop")  # only the kernel differs from EAGER
    alone = Engine(copy.deepcopy(vae), copy.deepcopy(cachekv), "cpu", fast_sw).restore(lq, refs[:2], x_t, settings)
    before = state_dict_sha256(vae), state_dict_sha256(unets["cachekv"])

    calls = {"sdpa": 0, "softmax": 0}
    sdpa, softmax = torch.nn.functional.scaled_dot_product_attention, torch.softmax

    def counting_sdpa(*a, **k):
        calls["sdpa"] += 1
        return sdpa(*a, **k)

    def counting_softmax(*a, **k):
        calls["softmax"] += 1
        return softmax(*a, **k)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", counting_sdpa)
    monkeypatch.setattr(torch, "softmax", counting_softmax)
    math_engine = Engine(vae, cachekv, "cpu", EAGER)
    sdpa_engine = Engine(vae, cachekv, "cpu", fast_sw)
    for engine, kernel, want in ((math_engine, "softmax", ref.latent), (sdpa_engine, "sdpa", alone.latent)) * 2:
        calls.update(sdpa=0, softmax=0)
        out = engine.restore(lq, refs[:2], x_t, settings)
        other = "sdpa" if kernel == "softmax" else "softmax"
        # 16 U-Net layers per pass (3 reference + 2 main passes), plus the VAE mid blocks
        assert calls[kernel] > 0 and calls[other] == 0, (engine.attn, calls)
        assert np.array_equal(out.latent, want), (engine.attn, float(np.abs(out.latent - want).max()))
    assert (state_dict_sha256(vae), state_dict_sha256(unets["cachekv"])) == before


def test_engine_refuses_modules_it_would_have_to_change(models):
    vae, unets = models
    u = unets["cachekv"]
    u.train()
    try:
        with pytest.raises(ValueError, match="unet cachekv: in training mode; call .eval"):
            Engine(vae, {"cachekv": u}, "cpu", EAGER)
    finally:
        u.eval()
    with pytest.raises(ValueError, match="vae: its weights are on cpu, the engine's device is meta"):
        Engine(vae, {"cachekv": u}, "meta", EAGER)
