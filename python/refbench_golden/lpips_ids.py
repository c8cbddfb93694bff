"""Goldens for LPIPS-VGG / LPIPS-Alex / fLPIPS-VGG (test/fixtures/lpips/) and IDS (test/fixtures/ids/).

Everything is synthetic and seeded:
- 6 synthetic 512×512 "faces" drawn from CelebAMask-HQ-style label maps (the maps are committed too, for
  fLPIPS: s0–s2 as uint8 .npy, s3–s5 as greyscale .png), and a degraded prediction of each (bicubic ×1/4 and
  back, Gaussian noise σ=4); s5's prediction is left at 256×256 to exercise the PIL-bicubic resize option.
- Narrow random-init networks of the exact topologies (VGG16 channels ÷8, AlexNet ÷4, iresnet50 base 4 with
  a 512-d output) exported to ONNX; LPIPS linear weights are random non-negative of the narrow widths.
- Values come from the reference pipelines: the pip ``lpips`` package's ``LPIPS.forward(..., normalize=True)``
  (pyiqa's [0,1] convention) and ReF-LDM's IdentityLoss convention (``refbench_metrics.arcface.identity``).
Check mode regenerates into a temporary folder and compares images exactly, network weights and values within
``ATOL``.
"""
from __future__ import annotations

import json
import pathlib
import tempfile

import numpy as np
import torch
from PIL import Image

from refbench_golden.common import compare_json_numbers, write_json
from refbench_metrics.arcface import identity, iresnet
from refbench_metrics.lpips import convert as lp_convert
from refbench_metrics.lpips import reference as lp_ref
from refbench_metrics.lpips import trunks

ATOL = 2e-6  # torch CPU re-runs agree to ~1e-7; the committed values are compared within this
FACE_CLASSES = [2, 4, 5, 10, 11, 12, 13, 6, 7, 8, 9, 15]
N = 6
SIZE = 512
VGG_DIV, ALEX_DIV, R50_BASE = 8, 4, 4


def _ellipse(xx, yy, cx, cy, a, b):
    return ((xx - cx) / a) ** 2 + ((yy - cy) / b) ** 2 <= 1.0


def label_map(rng: np.random.Generator, glasses: bool) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    lab = np.zeros((SIZE, SIZE), np.uint8)
    cx, cy = 256 + rng.uniform(-20, 20), 265 + rng.uniform(-20, 20)
    a, b = rng.uniform(125, 150), rng.uniform(165, 190)
    lab[(yy > cy + 0.85 * b)] = 3                                        # cloth
    lab[_ellipse(xx, yy, cx, cy - 35, 1.3 * a, 1.15 * b)] = 14            # hair
    lab[(np.abs(xx - cx) < 0.45 * a) & (yy > cy + 0.5 * b) & (yy < cy + 1.2 * b)] = 1  # neck
    lab[_ellipse(xx, yy, cx - a, cy, 0.15 * a, 0.25 * b)] = 4             # ears
    lab[_ellipse(xx, yy, cx + a, cy, 0.15 * a, 0.25 * b)] = 5
    lab[_ellipse(xx, yy, cx, cy, a, b)] = 2                               # face skin
    for side, brow, eye in ((-1, 6, 8), (1, 7, 9)):
        ex = cx + side * 0.4 * a
        lab[_ellipse(xx, yy, ex, cy - 0.4 * b, 0.25 * a, 0.04 * b)] = brow
        if glasses:
            ring = _ellipse(xx, yy, ex, cy - 0.2 * b, 0.3 * a, 0.14 * b) & ~_ellipse(xx, yy, ex, cy - 0.2 * b, 0.25 * a, 0.11 * b)
            lab[ring] = 15
        lab[_ellipse(xx, yy, ex, cy - 0.2 * b, 0.16 * a, 0.06 * b)] = eye
    lab[_ellipse(xx, yy, cx, cy + 0.1 * b, 0.1 * a, 0.2 * b)] = 10        # nose
    mouth_y = cy + 0.5 * b
    lab[_ellipse(xx, yy, cx, mouth_y, 0.35 * a, 0.09 * b) & (yy < mouth_y)] = 13
    lab[_ellipse(xx, yy, cx, mouth_y, 0.35 * a, 0.09 * b) & (yy >= mouth_y)] = 12
    lab[_ellipse(xx, yy, cx, mouth_y, 0.3 * a, 0.02 * b)] = 11
    return lab


def render(lab: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    palette = rng.uniform(30, 225, size=(19, 3))
    palette[2] = rng.uniform([170, 120, 90], [230, 180, 150])  # skin
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    img = palette[lab]
    for _ in range(3):  # low-frequency shading
        fx, fy, ph = rng.uniform(0.005, 0.03), rng.uniform(0.005, 0.03), rng.uniform(0, 2 * np.pi)
        img += rng.uniform(5, 20) * np.sin(fx * xx + fy * yy + ph)[..., None] * rng.uniform(0.5, 1, 3)
    fx, fy = rng.uniform(0.5, 1.2), rng.uniform(0.5, 1.2)  # fine texture (hair, skin)
    img += (6 + 10 * (lab == 14))[..., None] * (np.sin(fx * xx) * np.sin(fy * yy))[..., None]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def degrade(gt: np.ndarray, rng: np.random.Generator, keep_small: bool) -> np.ndarray:
    small = Image.fromarray(gt).resize((SIZE // 4, SIZE // 4), Image.BICUBIC)
    up = small.resize((SIZE // 2, SIZE // 2) if keep_small else (SIZE, SIZE), Image.BICUBIC)
    x = np.asarray(up).astype(np.float64) + rng.normal(0, 4, size=np.asarray(up).shape)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def to01(u8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(u8.astype(np.float32) / 255.0).permute(2, 0, 1)[None]


def resize512(u8: np.ndarray) -> np.ndarray:
    """eval.py: PIL bicubic to 512 only when not already 512."""
    if u8.shape[:2] == (SIZE, SIZE):
        return u8
    return np.asarray(Image.fromarray(u8).resize((SIZE, SIZE), Image.BICUBIC))


def make_lpips_net(net: str, seed: int):
    div = VGG_DIV if net == "vgg" else ALEX_DIV
    feats = trunks.features(net, div)
    trunks.randomize_(feats, seed)
    g = torch.Generator().manual_seed(seed + 1)
    lins = [torch.rand(1, c, 1, 1, generator=g) * (4.0 / c) for c in trunks.channels(net, div)]
    return feats, lins


class _NanTrunk(torch.nn.Module):
    """Five 'relu maps' that are NaN wherever the input is negative (tests the NaN guard)."""

    def forward(self, x):
        r = torch.sqrt(x)
        return r, r[:, :, ::2, ::2], r[:, :, ::4, ::4], r[:, :, ::8, ::8], r[:, :, ::16, ::16]


class _NanEmbed(torch.nn.Module):
    def forward(self, x):
        return torch.sqrt(x).flatten(1)[:, :512]


def build(out: pathlib.Path) -> None:
    lp_dir, ids_dir = out / "lpips", out / "ids"
    for d in (lp_dir / "images" / "gt", lp_dir / "images" / "pred", lp_dir / "labels", ids_dir):
        d.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    gts, preds, labs = {}, {}, {}
    for i in range(N):
        sid = f"s{i}"
        rng = np.random.default_rng(1000 + i)
        labs[sid] = label_map(rng, glasses=(i % 3 == 1))
        gts[sid] = render(labs[sid], rng)
        preds[sid] = degrade(gts[sid], rng, keep_small=(i == N - 1))
        Image.fromarray(gts[sid]).save(lp_dir / "images" / "gt" / f"{sid}.png")
        Image.fromarray(preds[sid]).save(lp_dir / "images" / "pred" / f"{sid}.png")
        if i < 3:
            np.save(lp_dir / "labels" / f"{sid}.npy", labs[sid])
        else:
            Image.fromarray(labs[sid], mode="L").save(lp_dir / "labels" / f"{sid}.png")

    golden: dict = {"meta": {"ids": [f"s{i}" for i in range(N)], "resized": [f"s{N - 1}"],
                             "faceClasses": FACE_CLASSES, "torch": torch.__version__,
                             "lpipsPackage": "0.1.4", "atol": ATOL,
                             "note": "values from lpips.LPIPS(net, version='0.1').forward(pred, gt, normalize=True) on [0,1] "
                                     "inputs; s5's prediction is PIL-bicubic-resized from 256 to 512 first"}}
    for net, seed in (("vgg", 11), ("alex", 12)):
        feats, lins = make_lpips_net(net, seed)
        onnx_path = lp_dir / f"{net}-narrow.onnx"
        lp_convert.export_trunk(feats, net, onnx_path)
        lp_convert.write_lin_json(lp_convert.lin_json_path(onnx_path), net, lins, f"random non-negative (seed {seed + 1}), test fixture")
        model = lp_ref.build_lpips(net, feats, lins)
        golden[net] = {sid: lp_ref.lpips_values(model, to01(resize512(preds[sid])), to01(gts[sid]))[0] for sid in gts}
        if net == "vgg":
            fl = {}
            for sid in gts:
                mask = np.isin(labs[sid], FACE_CLASSES).astype(np.uint8)[..., None]
                fl[sid] = lp_ref.lpips_values(model, to01(resize512(preds[sid]) * mask), to01(gts[sid] * mask))[0]
            golden["flpips_vgg"] = fl
            golden["vgg_self"] = lp_ref.lpips_values(model, to01(gts["s0"]), to01(gts["s0"]))[0]
    write_json(lp_dir / "golden.json", golden)
    torch.onnx.export(_NanTrunk(), (torch.zeros(1, 3, 32, 32),), str(lp_dir / "nan-trunk.onnx"), dynamo=False, opset_version=17,
                      input_names=["input"], output_names=[f"relu{i + 1}" for i in range(5)],
                      dynamic_axes={"input": {0: "b", 2: "h", 3: "w"}})

    r50 = iresnet.randomize_(iresnet.iresnet50(base=R50_BASE), seed=21)
    iresnet.export_onnx(r50, ids_dir / "r50-narrow.onnx")
    torch.onnx.export(_NanEmbed(), (torch.zeros(1, 3, 112, 112),), str(ids_dir / "nan-r50.onnx"), dynamo=False, opset_version=17,
                      input_names=["input.1"], output_names=["embedding"], dynamic_axes={"input.1": {0: "b"}, "embedding": {0: "b"}})
    export_fixed_batch_pair(ids_dir)
    t = {sid: identity.to_minus_one_one(resize512(preds[sid])) for sid in gts}
    g = {sid: identity.to_minus_one_one(gts[sid]) for sid in gts}
    refs = {f"s{i}": [f"s{(i + 1) % N}", f"s{(i + 2) % N}", f"s{i}"] for i in range(N)}
    ids_golden = {
        "meta": {"ids": list(gts), "refs": refs, "resized": [f"s{N - 1}"], "torch": torch.__version__, "atol": ATOL,
                 "note": "cosine(ArcFace(crop+area(pred)), ArcFace(crop+area(gt))) with a base-4 random iresnet50; refs "
                         "are ground truths of the listed samples"},
        "ids": {sid: identity.ids(r50, t[sid], g[sid])[0] for sid in gts},
        "ids_refs": {sid: float(np.mean([identity.ids(r50, t[sid], g[r])[0] for r in refs[sid]])) for sid in gts},
        "embedding_s0_gt_head": [float(v) for v in identity.embed(r50, g["s0"])[0, :8]],
    }
    write_json(ids_dir / "golden.json", ids_golden)


class _TinyEmbed(torch.nn.Module):
    """A tiny stand-in for an ArcFace network (112² RGB in, 16-d embedding out), to test export quirks."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 8, stride=8)
        self.fc = torch.nn.Linear(4 * 14 * 14, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def export_fixed_batch_pair(ids_dir: pathlib.Path) -> None:
    """The same tiny embedding network twice: with a dynamic batch on input and output, and exported the way
    insightface's buffalo_l/w600k_r50.onnx is (input ``input.1`` [None,3,112,112], the output fixed at
    [1,D]), which makes onnxruntime warn (VerifyOutputSizes) on every batch of more than one image."""
    import onnx

    torch.manual_seed(31)
    model = _TinyEmbed().eval()
    dyn = ids_dir / "tiny-embed-dynamic-batch.onnx"
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(1, 3, 112, 112),), str(dyn), dynamo=False, opset_version=17,
                          input_names=["input.1"], output_names=["embedding"],
                          dynamic_axes={"input.1": {0: "None"}, "embedding": {0: "None"}})
    fixed = onnx.load(str(dyn))
    dim = fixed.graph.output[0].type.tensor_type.shape.dim[0]
    dim.Clear()
    dim.dim_value = 1
    onnx.save(fixed, str(ids_dir / "tiny-embed-fixed-out-batch.onnx"))


def _onnx_weights(path: pathlib.Path) -> dict:
    import onnx
    from onnx import numpy_helper
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}


def run(mode: str, repo_root: pathlib.Path) -> None:
    fixtures = repo_root / "test" / "fixtures"
    if mode == "generate":
        build(fixtures)
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp_p = pathlib.Path(tmp)
        build(tmp_p)
        for sub in ("lpips", "ids"):
            for f in sorted((tmp_p / sub).rglob("*")):
                if f.is_dir():
                    continue
                rel = f.relative_to(tmp_p)
                committed = fixtures / rel
                if not committed.exists():
                    raise AssertionError(f"{committed}: missing (run: python -m refbench_golden generate lpips_ids)")
                if f.suffix == ".png":
                    if not np.array_equal(np.asarray(Image.open(f)), np.asarray(Image.open(committed))):
                        raise AssertionError(f"{committed}: pixels differ from the regenerated image")
                elif f.suffix == ".npy":
                    if not np.array_equal(np.load(f), np.load(committed)):
                        raise AssertionError(f"{committed}: label map differs")
                elif f.suffix == ".onnx":
                    a, b = _onnx_weights(f), _onnx_weights(committed)
                    if set(a) != set(b) or any(not np.allclose(a[k], b[k], atol=ATOL, rtol=0) for k in a):
                        raise AssertionError(f"{committed}: ONNX weights differ from the regenerated network")
                elif f.suffix == ".json":
                    exp, act = json.loads(committed.read_text()), json.loads(f.read_text())
                    for m in (exp, act):
                        if isinstance(m.get("meta"), dict):
                            m["meta"].pop("torch", None)
                    compare_json_numbers(exp, act, rtol=0, atol=ATOL, where=str(rel))
