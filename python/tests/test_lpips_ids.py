"""LPIPS / IDS reference code and converters: full-size random-init checks (ONNX export vs torch) that are too
big for committed fixtures, the real lpips v0.1 linear weights, and torchvision / insightface layouts."""
from __future__ import annotations

import hashlib
import json
import pathlib

import numpy as np
import onnxruntime as ort
import pytest
import torch

from refbench_metrics.arcface import identity, iresnet
from refbench_metrics.lpips import convert, reference, trunks

LPIPS_PKG = pathlib.Path(reference._import_lpips().__file__).parent
LIN_SHA = {"vgg": "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868",
           "alex": "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"}
LIN_SUMS = {"vgg": [6.9260, 8.8583, 17.5150, 51.5213, 47.0349], "alex": [2.3495, 16.1430, 39.2684, 27.1972, 20.3172]}


def lin_path(net: str) -> pathlib.Path:
    return LPIPS_PKG / "weights" / "v0.1" / f"{net}.pth"


def lpips_tail(feats_a, feats_b, lins) -> float:
    """numpy transcription of the TS tail (eval/metrics/functional/lpips.ts), float64."""
    total = 0.0
    for fa, fb, w in zip(feats_a, feats_b, lins):
        fa, fb = fa.astype(np.float64), fb.astype(np.float64)
        na = fa / (np.sqrt((fa ** 2).sum(0, keepdims=True)) + 1e-10)
        nb = fb / (np.sqrt((fb ** 2).sum(0, keepdims=True)) + 1e-10)
        total += float((np.asarray(w, np.float64)[:, None, None] * (na - nb) ** 2).sum(0).mean())
    return total


@pytest.mark.parametrize("net", ["vgg", "alex"])
def test_real_lin_weights_match_protocol(net):
    assert hashlib.sha256(lin_path(net).read_bytes()).hexdigest() == LIN_SHA[net]
    lins = reference.load_lin_weights(str(lin_path(net)))
    assert [int(w.shape[1]) for w in lins] == trunks.channels(net)
    assert np.allclose([float(w.sum()) for w in lins], LIN_SUMS[net], atol=1e-4)


def test_torchvision_parameter_layout():
    vgg = {k for k in trunks.vgg16_features().state_dict()}
    convs = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
    assert vgg == {f"{i}.{p}" for i in convs for p in ("weight", "bias")}
    alex = trunks.alexnet_features().state_dict()
    assert set(alex) == {f"{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias")}
    assert tuple(alex["0.weight"].shape) == (64, 3, 11, 11)
    assert sum(v.numel() for v in trunks.vgg16_features().state_dict().values()) == 14_714_688  # torchvision vgg16.features


@pytest.mark.parametrize("net,size", [("vgg", 96), ("alex", 128)])
def test_full_size_converter_matches_lpips_package(tmp_path, net, size):
    """Full-size random trunk saved as a torchvision checkpoint + REAL lin weights → convert CLI → ORT + the TS
    tail (numpy) equals lpips.LPIPS on the same weights."""
    feats = trunks.features(net)
    trunks.randomize_(feats, seed=5)
    state = {f"features.{k}": v for k, v in feats.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # torchvision checkpoints carry the classifier too
    ckpt = tmp_path / "trunk.pth"
    torch.save(state, ckpt)
    out = tmp_path / f"lpips-{net}.onnx"
    assert convert.main(["--net", net, "--trunk", str(ckpt), "--lin", str(lin_path(net)), "--out", str(out)]) == 0
    lin_json = json.loads(convert.lin_json_path(out).read_text())
    assert lin_json["format"] == "refbench-lpips-lin" and lin_json["channels"] == trunks.channels(net)
    assert LIN_SHA[net] in lin_json["source"]

    g = torch.Generator().manual_seed(3)
    a, b = torch.rand(2, 3, size, size, generator=g), torch.rand(2, 3, size, size, generator=g)
    ref = reference.build_lpips(net, trunks.load_torchvision_features(net, state), reference.load_lin_weights(str(lin_path(net))))
    expected = reference.lpips_values(ref, a, b)

    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == [f"relu{i}" for i in range(1, 6)]
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    x = torch.cat([a, b])
    x = ((2 * x - 1) - ref.scaling_layer.shift[0]) / ref.scaling_layer.scale[0]
    assert torch.allclose(x, (torch.cat([a, b]) - mean) / std, atol=1e-5)  # ScalingLayer == ImageNet normalisation
    outs = sess.run(None, {"input": x.numpy()})
    got = [lpips_tail([o[i] for o in outs], [o[2 + i] for o in outs], lin_json["weights"]) for i in range(2)]
    assert np.allclose(got, expected, atol=1e-5, rtol=0), (got, expected)


def test_full_size_iresnet50_onnx_matches_torch(tmp_path):
    model = iresnet.randomize_(iresnet.iresnet50(), seed=7)
    assert sum(p.numel() for p in model.parameters()) == 43_590_848  # insightface r50 (w600k_r50.onnx ≈ 166 MB)
    path = tmp_path / "r50.onnx"
    iresnet.export_onnx(model, path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (outp,) = sess.get_inputs(), sess.get_outputs()
    assert inp.name == "input.1" and inp.shape[1:] == [3, 112, 112] and outp.shape[1] == 512
    g = torch.Generator().manual_seed(1)
    pred = torch.rand(2, 3, 512, 512, generator=g) * 2 - 1
    gt = (pred + 0.2 * torch.rand(2, 3, 512, 512, generator=g)).clamp(-1, 1)
    want = identity.ids(model, pred, gt)
    e = sess.run(None, {"input.1": torch.cat([identity.preprocess(pred), identity.preprocess(gt)]).numpy()})[0].astype(np.float64)
    got = [float(e[i] @ e[2 + i] / np.linalg.norm(e[i]) / np.linalg.norm(e[2 + i])) for i in range(2)]
    assert np.allclose(got, want, atol=1e-5, rtol=0), (got, want)
    ref_emb = identity.embed(model, pred).numpy()
    assert np.allclose(e[:2], ref_emb, atol=1e-4 * np.abs(ref_emb).max())


def test_area_resize_is_exact_box_mean():
    x = torch.rand(1, 3, 512, 512)
    y = identity.preprocess(x)
    box = x[:, :, 32:480, 32:480].reshape(1, 3, 112, 4, 112, 4).mean((3, 5))
    assert torch.allclose(y, box, atol=1e-6)


def test_golden_check_passes():
    from refbench_golden import lpips_ids
    lpips_ids.run("check", pathlib.Path(__file__).resolve().parents[2])
