"""Which CPU kernels does this process get, and what do the kernel-dependent quantities come out as?

``python -m refbench_golden.kernel_probe [--out FILE]`` prints one JSON object (used by scripts/kernel-sweep.sh,
which runs it under each kernel knob and diffs the objects against the run with no knob set):

- ``kernels``: what the libraries report (ATen CPU capability, OpenBLAS core of numpy and of scipy, numpy's
  enabled SIMD targets, OpenCV's dispatch line);
- ``fp``: sha256 fingerprints of small fixed computations through each kernel family (MKL sgemm/dgemm/LAPACK,
  ATen vectorised maths, oneDNN convolution, torch.randn, OpenBLAS dot/eigh, numpy SIMD sin/exp, cv2 resize and
  filter2D). A fingerprint that changes under a knob proves the knob changes that kernel here;
- ``values``: the quantities our goldens pin: the seeded random-init weights of the tiny ReF-LDM (sha256 of every
  parameter, python/refbench_model/init.py), pyiqa's Y planes and NIQE of the committed pyiqa fixture images, and
  NIQE scored from the fixed float32-emulated Y plane (refbench_golden.pyiqa_basic.emulated_y).
"""
from __future__ import annotations

import argparse
import ctypes
import glob
import hashlib
import json
import os
import pathlib

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
KNOBS = ("LD_PRELOAD", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "OPENBLAS_CORETYPE",
         "NPY_DISABLE_CPU_FEATURES", "OPENCV_CPU_DISABLE")


def _sha(a) -> str:
    if hasattr(a, "detach"):
        a = a.detach().contiguous().numpy()
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def _openblas_core(pkg_dir: str) -> str | None:
    for lib in glob.glob(os.path.join(pkg_dir, "*openblas*.so*")):
        handle = ctypes.CDLL(lib)
        for sym in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename64_",
                    "openblas_get_corename"):
            fn = getattr(handle, sym, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return None


def kernels() -> dict:
    import cv2
    import scipy
    import torch
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    site = pathlib.Path(np.__file__).parents[1]
    return {
        "aten_capability": torch.backends.cpu.get_cpu_capability(),
        "openblas_numpy": _openblas_core(str(site / "numpy.libs")),
        "openblas_scipy": _openblas_core(str(pathlib.Path(scipy.__file__).parents[1] / "scipy.libs")),
        "numpy_dispatch": [t for t in __cpu_dispatch__ if __cpu_features__.get(t)],
        "opencv": cv2.getCPUFeaturesLine(),
    }


def fingerprints() -> dict:
    import cv2
    import scipy.linalg
    import torch

    torch.set_num_threads(1)  # thread partitioning is not what we probe
    rng = np.random.default_rng(0)
    a64 = rng.standard_normal((67, 67))
    a32 = a64.astype(np.float32)
    ta32, ta64 = torch.from_numpy(a32), torch.from_numpy(a64)
    img = rng.uniform(0, 1, (1, 3, 40, 40)).astype(np.float32)
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    x = np.linspace(0.2, 10, 4099)
    return {
        "mkl_sgemm": _sha(ta32 @ ta32),
        "mkl_dgemm": _sha(ta64 @ ta64),
        "mkl_pinv": _sha(torch.linalg.pinv(ta64 @ ta64.T)),
        "aten_lgamma_exp_f64": _sha(torch.lgamma(torch.from_numpy(x)).exp()),
        "aten_exp_f32": _sha(torch.from_numpy(x.astype(np.float32)).exp()),
        "onednn_conv2d": _sha(torch.nn.functional.conv2d(torch.from_numpy(img), torch.from_numpy(w), padding=1)),
        "torch_randn": _sha(torch.randn(4099, generator=torch.Generator().manual_seed(0))),
        "torch_rand": _sha(torch.rand(4099, generator=torch.Generator().manual_seed(0))),
        "openblas_dot": _sha(a64 @ a64),
        "openblas_eigh": _sha(np.linalg.eigvalsh(a64 @ a64.T)),
        "scipy_sqrtm": _sha(scipy.linalg.sqrtm(a64 @ a64.T + 67 * np.eye(67))),
        "numpy_sin_f64": _sha(np.sin(x)),
        "numpy_exp_f32": _sha(np.exp(x.astype(np.float32))),
        "cv2_resize": _sha(cv2.resize(img[0, 0], (29, 31), interpolation=cv2.INTER_LINEAR)),
        "cv2_filter2d": _sha(cv2.filter2D(img[0].transpose(1, 2, 0).copy(), -1, w[0, 0], borderType=cv2.BORDER_REFLECT_101)),
    }


def values() -> dict:
    import torch
    from PIL import Image

    from refbench_golden.pyiqa_basic import (FIXTURE_DIR, emulated_y, load_niqe_params, load_pyiqa, niqe_from_y,
                                             pyiqa_scores, to_tensor)
    from refbench_model.build import build_random

    torch.set_num_threads(1)
    vae, unets = build_random("tiny", 0, ("cachekv", "spatial", "cross", "channel"))
    h = hashlib.sha256()
    for mod in (vae, *unets.values()):
        for _, p in mod.named_parameters():
            h.update(p.detach().contiguous().numpy().tobytes())
    out: dict = {"init_tiny_seed0": h.hexdigest()[:16], "pyiqa": {}}
    mods = load_pyiqa()
    from pyiqa.utils.color_util import to_y_channel

    mu, cov = load_niqe_params(REPO_ROOT)
    fixture = REPO_ROOT.joinpath(*FIXTURE_DIR)
    out["pyiqa_cases"] = {}
    for case in json.loads((fixture / "golden.json").read_text())["cases"]:
        imgs = [np.asarray(Image.open(fixture / case[k]).convert("RGB")) for k in ("a", "b")]
        sc = pyiqa_scores(*imgs, mods, mu, cov)
        out["pyiqa_cases"][case["name"]] = {"psnr": sc["psnr"], "ssim_from_emulated_y": sc["ssim"]}
        for key in ("a", "b"):
            if case.get(f"niqe_{key}") is None or (key == "b" and case["b"] == case["a"]):
                continue
            u8 = np.asarray(Image.open(fixture / case[key]).convert("RGB"))
            t = to_tensor(u8)
            with torch.no_grad():
                y_torch = to_y_channel(t, 255, "yiq")[0, 0].numpy()
                y_emul = emulated_y(u8)
                off = int((y_torch != y_emul).sum())
                from_y = niqe_from_y(y_emul, mods, mu, cov)
                out["pyiqa"][case[key]] = {
                    "y_plane": _sha(y_torch),
                    "y_pixels_off_emulated": off,
                    # equal Y planes -> the same computation (the pyiqa_basic check asserts that equality)
                    "niqe_pyiqa": mods["niqe_arch"].calculate_niqe(t, 0, True, "yiq", mu, cov).item() if off else from_y,
                    "niqe_from_emulated_y": from_y,
                }
    return out


def refldm_graphs() -> dict:
    """Max |torch now - committed golden| of the single-graph goldens of test/fixtures/refldm-tiny (torch only)."""
    import torch

    from refbench_golden.refldm import FOLDER, _inputs
    from refbench_model.build import build_random
    from refbench_model.sampler import TorchBackend, encode_strip, to_model_input

    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))  # as refbench_golden.refldm.compute_goldens
    src = REPO_ROOT / FOLDER
    vae, unets = build_random("tiny", 0, ("cachekv",))
    be = TorchBackend(vae, unets)
    lq, refs, x_t = _inputs()

    def d(name, arr):
        ref = np.fromfile(src / name, "<f4").reshape(arr.shape)
        return float(np.abs(arr - ref).max())

    z = be.encode(to_model_input(lq))
    lats = encode_strip(be, refs)
    per = [be.ref_kv(r) for r in lats]
    kv = [(np.concatenate([p[i][0] for p in per], -1), np.concatenate([p[i][1] for p in per], -1)) for i in range(16)]
    z_ref = np.fromfile(src / "z_lq.f32", "<f4").reshape(z.shape)
    e = be.eps("cachekv", np.concatenate([x_t, z_ref], 1), np.array([991], np.int64), kv)
    return {"z_lq": d("z_lq.f32", z), "ref_latents": d("ref_latents.f32", np.concatenate(lats, axis=3)),
            "eps_t991": d("eps_t991.f32", e)}


def diff(folder: pathlib.Path) -> str:
    """Markdown table: per probe-<tag>.json in ``folder``, what differs from probe-baseline.json."""
    base = json.loads((folder / "probe-baseline.json").read_text())
    rows = ["| setting | kernels changed | fingerprints changed | init weights | pyiqa Y planes changed (pixels off emulated) "
            "| NIQE pyiqa max rel Δ | NIQE from emulated Y max rel Δ | PSNR max rel Δ | SSIM from emulated Y max |Δ| |",
            "|---|---|---|---|---|---|---|---|---|"]
    for path in sorted(folder.glob("probe-*.json")):
        p = json.loads(path.read_text())
        tag = path.stem[len("probe-"):]
        kern = ", ".join(f"{k}: {p['kernels'][k]}" for k in p["kernels"] if p["kernels"][k] != base["kernels"][k])
        fps = ", ".join(k for k in sorted(p["fp"]) if p["fp"][k] != base["fp"][k])
        bv, pv = base.get("values"), p.get("values")
        if not (bv and pv):
            rows.append(f"| {tag} | {kern or '-'} | {fps or '-'} | | | | | | |")
            continue
        init = "identical" if pv["init_tiny_seed0"] == bv["init_tiny_seed0"] else "DIFFER"
        ych, dn, de = [], 0.0, 0.0
        for img, v in pv["pyiqa"].items():
            b = bv["pyiqa"][img]
            if v["y_plane"] != b["y_plane"]:
                ych.append(f"{img} ({v['y_pixels_off_emulated']})")
            dn = max(dn, abs(v["niqe_pyiqa"] - b["niqe_pyiqa"]) / abs(b["niqe_pyiqa"]))
            de = max(de, abs(v["niqe_from_emulated_y"] - b["niqe_from_emulated_y"]) / abs(b["niqe_from_emulated_y"]))
        dp = max(abs(v["psnr"] - bv["pyiqa_cases"][c]["psnr"]) / abs(bv["pyiqa_cases"][c]["psnr"])
                 for c, v in pv["pyiqa_cases"].items())
        ds = max(abs(v["ssim_from_emulated_y"] - bv["pyiqa_cases"][c]["ssim_from_emulated_y"])
                 for c, v in pv["pyiqa_cases"].items())
        rows.append(f"| {tag} | {kern or '-'} | {fps or '-'} | {init} | {', '.join(ych) or '-'} | {dn:.2g} | {de:.2g} "
                    f"| {dp:.2g} | {ds:.2g} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m refbench_golden.kernel_probe")
    ap.add_argument("--out", type=pathlib.Path)
    ap.add_argument("--diff", type=pathlib.Path, help="compare the probe-*.json files of a sweep folder; print a table")
    ap.add_argument("--no-values", action="store_true", help="only kernels and fingerprints (a few seconds)")
    ap.add_argument("--refldm", action="store_true", help="also max |torch - committed| of the refldm-tiny graph goldens")
    args = ap.parse_args(argv)
    if args.diff:
        print(diff(args.diff))
        return 0
    obj = {"env": {k: os.environ[k] for k in KNOBS if k in os.environ}, "kernels": kernels(), "fp": fingerprints()}
    if not args.no_values:
        obj["values"] = values()
    if args.refldm:
        obj["refldm_torch_vs_committed"] = refldm_graphs()
    text = json.dumps(obj, indent=1, sort_keys=True)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
