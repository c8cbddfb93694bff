"""FID-Inception: architecture facts, state-dict compatibility with pytorch-fid's file, ONNX export parity
(full size and the narrow fixture), and the clean-fid pipeline pieces."""
from __future__ import annotations

import pathlib

import numpy as np
import onnxruntime as ort
import pytest
import torch

from refbench_metrics.fid.convert import export, load_official
from refbench_metrics.fid.inception import FidInceptionV3, random_init
from refbench_metrics.fid.pipeline import frechet_distance_eigh, frechet_distance_sqrtm, kid_with_subsets, mulberry32, preprocess

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_full_size_parameter_count_and_keys():
    m = FidInceptionV3()
    # torchvision inception_v3(aux_logits=False) has 23,834,568 parameters with 1000 classes; 1008 adds 8·2049.
    assert sum(p.numel() for p in m.parameters()) == 23_834_568 + 8 * 2049
    sd = m.state_dict()
    assert sd["fc.weight"].shape == (1008, 2048)
    assert sd["Mixed_7c.branch3x3dbl_3b.conv.weight"].shape == (384, 384, 3, 1)
    assert "Mixed_6e.branch7x7dbl_5.bn.running_var" in sd and not any(k.startswith("AuxLogits") for k in sd)
    assert m.Conv2d_1a_3x3.bn.eps == 1e-3 and m.dim == 2048


def test_official_loader_is_strict(tmp_path):
    m = random_init(FidInceptionV3(), 1)
    sd = m.state_dict()
    torch.save(sd, tmp_path / "ok.pth")
    assert torch.equal(load_official(tmp_path / "ok.pth").state_dict()["fc.bias"], sd["fc.bias"])
    del sd["Mixed_7c.branch_pool.conv.weight"]
    torch.save(sd, tmp_path / "bad.pth")
    with pytest.raises(SystemExit, match="missing"):
        load_official(tmp_path / "bad.pth")


def test_mixed_7c_max_pool_and_avg_pool_without_padding():
    m = random_init(FidInceptionV3(width=0.125), 0)
    x = torch.randn(1, m.Mixed_7b.out_channels, 8, 8)
    base = m.Mixed_7c(x)
    m.Mixed_7c.pool = "avg"
    assert not torch.allclose(base, m.Mixed_7c(x))  # the pool branch matters


@pytest.mark.parametrize("width", [1.0, 0.125])
def test_onnx_export_matches_pytorch(tmp_path, width):
    m = random_init(FidInceptionV3(width=width), 3)
    path = tmp_path / "m.onnx"
    export(m, path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["pool3"]
    x = torch.randn(2, 3, 299, 299, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = m(x).numpy()
    got = sess.run(["pool3"], {"input": x.numpy()})[0]
    assert got.shape == (2, m.dim)
    assert np.abs(got - want).max() < 1e-4 * max(1.0, np.abs(want).max())


def test_clean_preprocess_range_and_fd_forms_agree():
    img = (np.arange(512 * 512 * 3) % 251).astype(np.uint8).reshape(512, 512, 3)
    x = preprocess(img, "clean")
    assert x.shape == (1, 3, 299, 299) and x.min() >= -1 and x.max() <= 127 / 128
    r = mulberry32(1)
    a = np.array([r() for _ in range(200 * 16)]).reshape(200, 16)
    b = a[::-1] ** 2
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    assert abs(frechet_distance_sqrtm(mu1, s1, mu2, s2) - frechet_distance_eigh(mu1, s1, mu2, s2)) < 1e-9
    # identical subsets: the unbiased estimator is 2(ΣK − tr K)/(m − 1) − 2ΣK/m, not 0
    x = a[:50]
    k = (x @ x.T / 16 + 1) ** 3
    want = (2 * (k.sum() - np.trace(k)) / 49 - 2 * k.sum() / 50) / 50
    assert abs(kid_with_subsets(a, a, [np.arange(50)], [np.arange(50)]) - want) < 1e-12


def test_mulberry32_matches_ts_reference_values():
    # first outputs of the TS mulberry32(0) (kernel-distance.ts), printed by tsx; the 2048-d goldens rely on it
    r = mulberry32(0)
    assert [r() for _ in range(3)] == [0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]
