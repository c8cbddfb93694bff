"""Reference sampler semantics (CFG batch order, zeroed uncond refs, zero-reference default, strip encoding,
DDIM update) with a stub backend, plus the sample CLI on the tiny config."""
from __future__ import annotations

import json

import numpy as np
import pytest

from refbench_golden.refldm import synthetic_image
from refbench_model.sampler import sample, to_model_input, to_uint8_image
from refbench_model.schedule import ddim_tables, ddim_timesteps


class StubBackend:
    """encode: mean of the image per 8x8 block; ref_kv: the latent itself as k/v; eps: records its inputs."""

    def __init__(self):
        self.calls = []
        self.encoded_widths = []

    def encode(self, img):
        self.encoded_widths.append(img.shape[3])
        b, c, h, w = img.shape
        m = img.reshape(b, c, h // 8, 8, w // 8, 8).mean(axis=(3, 5))
        return np.concatenate([m, m, m[:, :2]], axis=1).astype(np.float32)

    def decode(self, lat):
        return np.repeat(np.repeat(lat[:, :3], 8, axis=2), 8, axis=3)

    def ref_kv(self, lat):
        k = lat.reshape(lat.shape[0], 8, -1)
        return [(k, k * 2) for _ in range(16)]

    def eps(self, design, x, t, cond):
        self.calls.append((design, x.copy(), t.copy(), cond))
        # row i gets offset 0.1 * (i + 1), so the CFG mix of [uncond, cond] is observable
        row = np.stack([np.full((8, 64, 64), 0.1 * (i + 1), np.float32) for i in range(x.shape[0])])
        return (0.01 * x[:, :8] + row).astype(np.float32)


def test_cfg_batch_order_and_zeroed_uncond_refs():
    be = StubBackend()
    lq, refs = synthetic_image(0), [synthetic_image(1), synthetic_image(2)]
    x_t = np.ones((1, 8, 64, 64), np.float32)
    r = sample(be, lq, refs, x_t, steps=10, cfg=1.5, design="cachekv")
    assert be.encoded_widths == [512, 1024]  # LQ, then ONE strip of both refs
    design, x, t, kv = be.calls[0]
    assert x.shape == (2, 16, 64, 64) and np.array_equal(x[0], x[1])  # same x_t and z_lq in both rows
    assert np.array_equal(x[0, 8:], r.z_lq[0]) and t.tolist() == [901, 901]
    k0 = kv[0][0]  # stub: 1 "head" of 8 channels -> [2, 8, 2*4096 tokens]: row 0 uncond (zeros), row 1 cond
    assert k0.shape == (2, 8, 2 * 4096) and not k0[0].any() and k0[1].any()
    assert np.array_equal(k0[1, :, :4096], r.ref_latents[0].reshape(8, -1))  # strip order: ref0 first
    assert np.array_equal(k0[1, :, 4096:], r.ref_latents[1].reshape(8, -1))
    # eps_u = 0.01 x + 0.1, eps_c = 0.01 x + 0.2 -> guided eps = 0.01 x + 0.25; check the first DDIM update
    ts = ddim_timesteps(10)
    a, ap = ddim_tables(ts)
    e = 0.01 * 1.0 + 0.1 + 1.5 * 0.1
    x0 = (1.0 - np.sqrt(np.float32(1) - a[-1]) * e) / np.sqrt(a[-1])
    x1 = np.sqrt(ap[-1]) * x0 + np.sqrt(1 - ap[-1]) * e
    assert np.allclose(be.calls[1][1][0, :8], x1, rtol=1e-5)


def test_cfg_one_is_a_single_conditional_pass_and_zero_refs_default():
    be = StubBackend()
    r = sample(be, synthetic_image(0), [], np.zeros((1, 8, 64, 64), np.float32), steps=4, cfg=1.0)
    assert r.zero_refs == 5 and r.num_refs == 0 and len(r.ref_latents) == 5
    assert all(c[1].shape[0] == 1 for c in be.calls)
    assert be.calls[0][3][0][0].shape == (1, 8, 5 * 4096)
    assert be.encoded_widths == [512]  # zero latents are not encoded images
    with pytest.raises(ValueError, match="zero_refs"):
        sample(be, synthetic_image(0), [], np.zeros((1, 8, 64, 64), np.float32), steps=4, zero_refs=0)


def test_design_conditioning_shapes():
    be = StubBackend()
    refs = [synthetic_image(1), synthetic_image(2)]
    for design, shape in (("spatial", (2, 8, 64, 128)), ("cross", (2, 8, 64, 128)), ("channel", (2, 40, 64, 64))):
        be.calls.clear()
        r = sample(be, synthetic_image(0), refs, np.zeros((1, 8, 64, 64), np.float32), steps=4, design=design)
        cond = be.calls[0][3]
        assert cond.shape == shape and not cond[0].any() and cond[1].any()
        if design == "channel":  # 2 refs repeated cyclically to 5: r0 r1 r0 r1 r0
            assert np.array_equal(cond[1, 16:24], r.ref_latents[0][0]) and np.array_equal(cond[1, 32:40], r.ref_latents[0][0])


def test_quantisation_truncates_and_input_scaling():
    x = np.array([-1.5, -1.0, 0.0, 0.999, 1.0, 2.0], np.float32)
    img = np.stack([np.stack([x, x, x])[:, None, :]])  # [1,3,1,6]
    assert to_uint8_image(img)[0, :, 0].tolist() == [0, 0, 127, 254, 255, 255]
    u8 = np.array([[[0, 127, 255]]], np.uint8)
    assert np.allclose(to_model_input(u8)[0, :, 0, 0], [-1.0, 127 / 127.5 - 1, 1.0])


def test_invalid_schedules():
    with pytest.raises(ValueError, match="1000"):
        ddim_timesteps(3, "uniform")  # c = 333 -> timestep 1000, which the official sampler cannot index
    with pytest.raises(ValueError, match="unknown schedule"):
        ddim_timesteps(10, "linear")


def test_sample_cli_tiny(tmp_path):
    from PIL import Image
    from refbench_model.sample import main
    Image.fromarray(synthetic_image(0)).save(tmp_path / "lq.png")
    Image.fromarray(synthetic_image(1)).resize((256, 256)).save(tmp_path / "r0.png")  # resized back to 512
    np.zeros((1, 8, 64, 64), "<f4").tofile(tmp_path / "xt.f32")
    rc = main(["--config", "tiny", "--random-init", "0", "--lq", str(tmp_path / "lq.png"), "--ref", str(tmp_path / "r0.png"),
               "--steps", "2", "--schedule", "uniform_trailing", "--cfg", "1.5", "--xt", str(tmp_path / "xt.f32"),
               "--design", "cachekv", "--device", "cpu", "--out", str(tmp_path / "out.png"),
               "--timing-json", str(tmp_path / "t.json"), "--refs-bench", "1,2", "--threads", "2"])
    assert rc == 0
    rep = json.loads((tmp_path / "t.json").read_text())
    assert rep["timesteps"] == [499, 999] and [r["numRefs"] for r in rep["runs"]] == [1, 2]
    assert all(len(r["stepsMs"]) == 2 and r["refPassMs"] > 0 and r["decodeMs"] > 0 for r in rep["runs"])
    assert np.asarray(Image.open(tmp_path / "out.png")).shape == (512, 512, 3)
