"""Golden fixtures for the TypeScript ReF-LDM runner: the tiny bundle (seed 0, all four designs), inputs and
PyTorch-reference goldens, under test/fixtures/refldm-tiny/.

generate: exports the bundle, writes inputs and goldens (raw little-endian float32 .f32 + golden.json).
check:    rebuilds the seed-0 models, recomputes every golden with PyTorch into a temp dir and compares with the
          committed files (latents/eps/kv: atol 1e-5 + rtol 1e-6; PNGs: at most 0.1% of values off by 1);
          verifies the committed ONNX files' sha256 against bundle.json and runs the committed ``unet``,
          ``unetRef`` and ``vaeEncoder`` graphs in onnxruntime against the goldens (atol 1e-4).
Goldens come from the PyTorch reference, never from ORT.
"""
from __future__ import annotations

import json
import pathlib
import sys
import tempfile

import numpy as np

_PY = pathlib.Path(__file__).resolve().parents[1]
if str(_PY) not in sys.path:
    sys.path.insert(0, str(_PY))

from refbench_golden.common import write_f32, write_json  # noqa: E402

FOLDER = "test/fixtures/refldm-tiny"
SEED = 0
XT_SEED = 2024
STEPS, SCHEDULE, CFG = 10, "uniform", 1.5
EPS_TIMESTEPS = (991, 1)
LATENT_ATOL, LATENT_RTOL = 1e-5, 1e-6
ORT_ATOL = 1e-4


def synthetic_image(kind: int, size: int = 512) -> np.ndarray:
    """Deterministic smooth colour pattern (uint8 HWC): gradients + low-frequency waves + a soft disc."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    f = [(2.0, 3.0, 5.0), (3.5, 1.5, 2.5), (1.0, 4.0, 3.0), (5.0, 2.0, 1.5)][kind % 4]
    disc = np.exp(-(((xx - 0.35 - 0.1 * kind) ** 2 + (yy - 0.5) ** 2) / 0.05))
    r = 0.5 + 0.35 * np.sin(2 * np.pi * f[0] * xx + kind) * np.cos(2 * np.pi * f[1] * yy) + 0.15 * disc
    g = 0.5 + 0.3 * np.cos(2 * np.pi * f[1] * (xx + yy) / 2 + 0.5 * kind) - 0.2 * disc
    b = 0.2 + 0.6 * xx * (1 - yy) + 0.2 * np.sin(2 * np.pi * f[2] * yy)
    img = np.stack([r, g, b], -1)
    return np.clip(np.floor(img * 255.0 + 0.5), 0, 255).astype(np.uint8)


def _x_t() -> np.ndarray:
    """x_T from refbench_model.init.standard_normal_exact (bit-identical on every CPU; torch.randn is not)."""
    from refbench_model.init import standard_normal_exact
    return standard_normal_exact(np.random.Generator(np.random.PCG64(XT_SEED)), (1, 8, 64, 64)).astype(np.float32)


def _write_png(path: pathlib.Path, img: np.ndarray) -> None:
    from PIL import Image
    Image.fromarray(img, "RGB").save(path, format="PNG", optimize=False, compress_level=9)


def _read_png(path: pathlib.Path) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB"))


def _seed0_codebook() -> np.ndarray:
    from refbench_model.build import build_random
    vae, _ = build_random("tiny", SEED, ())
    return vae.quantize.embedding.weight.detach().numpy()


def _decode_codes(codes: np.ndarray) -> np.ndarray:
    """The seed-0 tiny decoder (PyTorch, this CPU) on the given codebook indices [64*64] -> uint8 HWC image. Feeding
    the entries themselves: any float32 ArgMin snaps an entry to itself (entries are far apart, test/helpers/vq.ts)."""
    import torch
    from refbench_model.build import build_random
    from refbench_model.sampler import TorchBackend, to_uint8_image
    vae, _ = build_random("tiny", SEED, ())
    e = vae.quantize.embedding.weight.detach().numpy()
    lat = e[codes].reshape(1, 64, 64, -1).transpose(0, 3, 1, 2).copy()
    with torch.no_grad():
        return to_uint8_image(TorchBackend(vae, {}).decode(lat))


def codebook_ambiguous_positions(latent: np.ndarray, codebook: np.ndarray, slack: float = 0.0) -> list[int]:
    """Latent pixels (index p of h*w) whose nearest codebook entry a float32 kernel might not reproduce: the gap
    between the two nearest squared distances (float64) is within the worst-case float32 rounding of a gap,
    2·γ_(C+2)·(|z| + max|e|)² (Higham; the same bound as test/helpers/vq.ts ``gapRoundingBound``)."""
    z = latent.reshape(latent.shape[1], -1).T.astype(np.float64)  # [P, C]
    e = codebook.astype(np.float64)  # [K, C]
    d = (z * z).sum(1)[:, None] + (e * e).sum(1)[None, :] - 2.0 * z @ e.T
    two = np.partition(d, 1, axis=1)[:, :2]
    gap = two[:, 1] - two[:, 0]
    n = z.shape[1] + 2
    u = 2.0**-24
    gamma = n * u / (1 - n * u)
    zn, en = np.sqrt((z * z).sum(1)), np.sqrt((e * e).sum(1)).max()
    bound = 2 * gamma * (zn + en) ** 2
    # ``slack``: a latent known only within ±slack per value moves each distance by ≤ 2·|δ|·(|z| + |e|) + |δ|²
    # (|δ| ≤ √C·slack), the gap by twice that
    dn = np.sqrt(z.shape[1]) * slack
    bound = bound + 2 * (2 * dn * (zn + en) + dn * dn)
    return np.nonzero(gap <= bound)[0].tolist()


def compute_goldens(out: pathlib.Path, lq, refs, x_t) -> dict:
    """Writes every golden into ``out``; returns golden.json's object."""
    import torch
    from refbench_model.build import build_random
    from refbench_model.sampler import TorchBackend, encode_strip, sample, to_model_input

    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    vae, unets = build_random("tiny", SEED, ("cachekv", "spatial", "cross", "channel"))
    be = TorchBackend(vae, unets)
    files: dict[str, dict] = {}

    def f32(name: str, arr: np.ndarray, desc: str) -> None:
        write_f32(out / name, arr)
        files[name] = {"shape": list(arr.shape), "dtype": "float32", "description": desc}

    z_lq = be.encode(to_model_input(lq))
    f32("z_lq.f32", z_lq, "vaeEncoder(lq.png as u8/127.5-1): pre-quantisation latent")
    ref_lats = encode_strip(be, refs)
    f32("ref_latents.f32", np.concatenate(ref_lats, axis=3),
        "vaeEncoder of the strip [ref0|ref1|ref2] (1x3x512x1536, one pass); split width into 3 latents of 64")
    kv3 = be.ref_kv(np.concatenate(ref_lats, axis=0))
    f32("kv_ref3_k00.f32", kv3[0][0], "unetRef(ref_latent = the 3 ref latents as batch B=3): k_00 [3*heads, headDim, 1024]")
    f32("kv_ref3_v00.f32", kv3[0][1], "unetRef(same): v_00")
    kv_cond = [be.ref_kv(r) for r in ref_lats]  # one pass per reference, B = 1 (cond branch)
    kv_cond = [(np.concatenate([p[i][0] for p in kv_cond], -1), np.concatenate([p[i][1] for p in kv_cond], -1))
               for i in range(16)]
    x16 = np.concatenate([x_t, z_lq], axis=1)
    for t in EPS_TIMESTEPS:
        e = be.eps("cachekv", x16, np.array([t], np.int64), kv_cond)
        f32(f"eps_t{t}.f32", e, f"unet(x = [x_T | z_lq], t = [{t}], k_i/v_i = cond K/V of the 3 refs, R = 3*tokens)")
    samples = {}
    for key, n, design in (("refs0", 0, "cachekv"), ("refs1", 1, "cachekv"), ("refs3", 3, "cachekv"),
                           ("spatial3", 3, "spatial")):
        r = sample(be, lq, refs[:n], x_t, steps=STEPS, schedule=SCHEDULE, cfg=CFG, design=design, zero_refs=5)
        f32(f"sample_{key}_latent.f32", r.latent, f"final DDIM latent, {design}, {n} refs")
        # NOTE: the codes PyTorch's float32 ArgMin picked (the PNG is the decoder on them). At a latent pixel within
        # float32 rounding of a codebook tie another CPU may pick the other entry, so the codes are a golden of
        # their own: consumers compare codes (differences only at near-ties) and decode from these (issue 15).
        with torch.no_grad():
            codes = vae.quantize.codes(torch.from_numpy(r.latent)).numpy().astype("<i4")
        codes.tofile(out / f"sample_{key}_codes.i32")
        files[f"sample_{key}_codes.i32"] = {"shape": [64 * 64], "dtype": "int32",
                                            "description": "codebook indices PyTorch's float32 ArgMin picked, row-major pixels"}
        _write_png(out / f"sample_{key}.png", r.image)
        files[f"sample_{key}.png"] = {"shape": [512, 512, 3], "dtype": "uint8",
                                      "description": "vaeDecoder(final latent) -> trunc(clamp((x+1)/2,0,1)*255)"}
        samples[key] = {"design": design, "refs": [f"ref{i}.png" for i in range(n)], "zeroRefs": r.zero_refs,
                        "latent": f"sample_{key}_latent.f32", "codes": f"sample_{key}_codes.i32",
                        "image": f"sample_{key}.png",
                        "timesteps": r.timesteps}
    return {
        "generator": "python/refbench_golden/refldm.py", "source": "pytorch-reference (refbench_model), fp32, CPU",
        "bundle": "bundle.json", "weights": {"kind": "random-init", "seed": SEED},
        "inputs": {"lq": "lq.png", "refs": ["ref0.png", "ref1.png", "ref2.png"],
                   "xT": {"file": "x_T.f32", "shape": [1, 8, 64, 64], "dtype": "float32",
                          "source": f"refbench_model.init.standard_normal_exact(numpy PCG64({XT_SEED}))"}},
        "settings": {"steps": STEPS, "schedule": SCHEDULE, "cfg": CFG, "eta": 0.0, "cfgBatchOrder": ["uncond", "cond"],
                     "zeroRefDefault": 5, "quantise": "trunc", "epsTimesteps": list(EPS_TIMESTEPS)},
        "samples": samples, "files": files,
        "tolerances": {"latentAtol": LATENT_ATOL, "latentRtol": LATENT_RTOL, "ortVsTorchAtol": ORT_ATOL},
    }


def _inputs():
    lq = synthetic_image(0)
    refs = [synthetic_image(i) for i in (1, 2, 3)]
    return lq, refs, _x_t()


def generate(repo_root: pathlib.Path) -> None:
    from refbench_model.build import build_random
    from refbench_model.configs import TINY
    from refbench_export.bundle import export_bundle

    out = repo_root / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    vae, unets = build_random("tiny", SEED, ("cachekv", "spatial", "cross", "channel"))
    export_bundle(TINY, vae, unets, out, {"kind": "random-init", "seed": SEED})
    lq, refs, x_t = _inputs()
    _write_png(out / "lq.png", lq)
    for i, r in enumerate(refs):
        _write_png(out / f"ref{i}.png", r)
    write_f32(out / "x_T.f32", x_t)
    write_json(out / "golden.json", compute_goldens(out, lq, refs, x_t))


def check(repo_root: pathlib.Path) -> None:
    from refbench_export.bundle import sha256_file
    from refbench_export.ort_backend import OrtBackend
    from refbench_model.sampler import to_model_input

    src = repo_root / FOLDER
    lq, refs, x_t = _inputs()
    assert np.array_equal(_read_png(src / "lq.png"), lq), "lq.png differs from synthetic_image(0)"
    for i, r in enumerate(refs):
        assert np.array_equal(_read_png(src / f"ref{i}.png"), r), f"ref{i}.png differs"
    assert np.array_equal(np.fromfile(src / "x_T.f32", "<f4").reshape(x_t.shape), x_t), "x_T.f32 differs"
    bj = json.loads((src / "bundle.json").read_text())
    for name, digest in bj["files"].items():
        assert sha256_file(src / name) == digest, f"{name}: sha256 differs from bundle.json"
    committed = json.loads((src / "golden.json").read_text())
    with tempfile.TemporaryDirectory() as td:
        tmp = pathlib.Path(td)
        fresh = compute_goldens(tmp, lq, refs, x_t)
        assert json.dumps(fresh, sort_keys=True) == json.dumps(committed, sort_keys=True), "golden.json differs"
        codebook = _seed0_codebook()
        for name, meta in committed["files"].items():
            if name.endswith(".f32"):
                a = np.fromfile(src / name, "<f4")
                b = np.fromfile(tmp / name, "<f4")
                assert a.shape == b.shape, f"{name}: size differs"
                bad = np.abs(a - b) > LATENT_ATOL + LATENT_RTOL * np.abs(a)
                assert not bad.any(), f"{name}: {bad.sum()} values off, max diff {np.abs(a - b).max():.3g}"
            elif name.endswith(".i32"):
                # codes: the ArgMin is a discontinuity. Where this CPU picked another entry, the committed latent
                # must be within float32 rounding of a tie there (then the PNG is compared on the committed codes).
                a = np.fromfile(src / name, "<i4")
                b = np.fromfile(tmp / name, "<i4")
                lat = np.fromfile(src / name.replace("_codes.i32", "_latent.f32"), "<f4").reshape(1, 8, 64, 64)
                differ = np.nonzero(a != b)[0].tolist()
                ties = set(codebook_ambiguous_positions(lat, codebook, slack=LATENT_ATOL + LATENT_RTOL * np.abs(lat).max()))
                assert set(differ) <= ties, f"{name}: codes differ at {sorted(set(differ) - ties)[:8]}, not near-ties"
            else:
                a = _read_png(src / name).astype(int)
                codes_name = name.replace(".png", "_codes.i32")
                if codes_name in committed["files"] and not np.array_equal(
                        np.fromfile(src / codes_name, "<i4"), np.fromfile(tmp / codes_name, "<i4")):
                    b = _decode_codes(np.fromfile(src / codes_name, "<i4")).astype(int)  # same codes, this CPU
                else:
                    b = _read_png(tmp / name).astype(int)
                d = np.abs(a - b)
                assert d.max() <= 1 and (d > 0).mean() <= 1e-3, f"{name}: max diff {d.max()}, {(d > 0).sum()} values"
    # the committed graphs must carry the seed-0 weights: run them on the golden inputs
    ob = OrtBackend(src)
    z = ob.encode(to_model_input(lq))
    z_ref = np.fromfile(src / "z_lq.f32", "<f4").reshape(z.shape)
    assert np.abs(z - z_ref).max() <= ORT_ATOL, f"vae_encoder.onnx vs z_lq.f32: {np.abs(z - z_ref).max():.3g}"
    lat = np.fromfile(src / "ref_latents.f32", "<f4").reshape(1, 8, 64, 192)
    lats = [np.ascontiguousarray(lat[..., i * 64:(i + 1) * 64]) for i in range(3)]
    kv3 = ob.ref_kv(np.concatenate(lats, 0))
    k_ref = np.fromfile(src / "kv_ref3_k00.f32", "<f4").reshape(kv3[0][0].shape)
    assert np.abs(kv3[0][0] - k_ref).max() <= ORT_ATOL, "unet_ref.onnx vs kv_ref3_k00.f32"
    per = [ob.ref_kv(r) for r in lats]
    kv = [(np.concatenate([p[i][0] for p in per], -1), np.concatenate([p[i][1] for p in per], -1)) for i in range(16)]
    e = ob.eps("cachekv", np.concatenate([x_t, z_ref], 1), np.array([991], np.int64), kv)
    e_ref = np.fromfile(src / "eps_t991.f32", "<f4").reshape(e.shape)
    assert np.abs(e - e_ref).max() <= ORT_ATOL, f"unet.onnx vs eps_t991.f32: {np.abs(e - e_ref).max():.3g}"


def run(mode: str, repo_root: pathlib.Path) -> None:
    if mode == "generate":
        generate(pathlib.Path(repo_root))
    elif mode == "check":
        check(pathlib.Path(repo_root))
    else:
        raise ValueError(f"mode must be generate or check, got {mode!r}")
