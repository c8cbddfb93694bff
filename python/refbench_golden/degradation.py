"""Goldens for the degradation maths (src/lib/eval/degradation/): BasicSR Gaussian kernels, cv2.filter2D with
BORDER_REFLECT_101, cv2.resize INTER_LINEAR down and up.

The kernel functions below are a numpy transcription of BasicSR's ``degradations.py`` (``mesh_grid``,
``sigma_matrix2``, ``pdf2``, ``bivariate_Gaussian``) as vendored by ReF-LDM ``ldm/data/degradations.py``;
cv2 is the real OpenCV. Inputs are deterministic without an RNG: value[i] = ((i * 7919) % 997) / 997 over the
flattened HWC array, float32, so the TS side rebuilds them exactly.

Files in test/fixtures/degradation/: cases.json (index + tolerances) and one raw little-endian float32 file per
array. Tolerance: 1e-4 absolute (float maths; cv2 may use a DFT for large kernels).
"""
from __future__ import annotations

import json
import pathlib
import tempfile

import cv2
import numpy as np

from .common import write_f32, write_json

FOLDER = "test/fixtures/degradation"
ATOL = 1e-4


# --- BasicSR transcription -------------------------------------------------------------------------------------
def sigma_matrix2(sig_x: float, sig_y: float, theta: float) -> np.ndarray:
    d = np.array([[sig_x**2, 0], [0, sig_y**2]])
    u = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return u @ d @ u.T


def mesh_grid(kernel_size: int):
    ax = np.arange(-kernel_size // 2 + 1.0, kernel_size // 2 + 1.0)
    xx, yy = np.meshgrid(ax, ax)
    xy = np.hstack((xx.reshape((kernel_size * kernel_size, 1)), yy.reshape(kernel_size * kernel_size, 1))).reshape(
        kernel_size, kernel_size, 2
    )
    return xy, xx, yy


def pdf2(sigma_matrix: np.ndarray, grid: np.ndarray) -> np.ndarray:
    inverse_sigma = np.linalg.inv(sigma_matrix)
    return np.exp(-0.5 * np.sum(np.dot(grid, inverse_sigma) * grid, 2))


def bivariate_gaussian(kernel_size: int, sig_x: float, sig_y: float, theta: float, isotropic: bool) -> np.ndarray:
    grid, _, _ = mesh_grid(kernel_size)
    if isotropic:
        sigma_matrix = np.array([[sig_x**2, 0], [0, sig_x**2]])
    else:
        sigma_matrix = sigma_matrix2(sig_x, sig_y, theta)
    kernel = pdf2(sigma_matrix, grid)
    return kernel / np.sum(kernel)


# --- inputs and cases ------------------------------------------------------------------------------------------
def ramp(h: int, w: int, c: int = 3) -> np.ndarray:
    i = np.arange(h * w * c, dtype=np.int64)
    return (((i * 7919) % 997) / 997).astype(np.float32).reshape(h, w, c)


KERNELS = [
    # name, size, sigma_x, sigma_y, theta, isotropic
    ("iso_s2", 41, 2.0, 2.0, 0.0, True),
    ("iso_s12", 41, 12.0, 12.0, 0.0, True),
    ("aniso_a", 41, 6.0, 2.5, 0.6, False),
    ("aniso_b", 41, 0.4, 9.0, -2.3, False),
    ("aniso_c", 41, 15.0, 8.5, 3.0, False),
    ("aniso_small", 7, 1.2, 0.7, 1.1, False),
]

FILTERS = [
    # name, image (h, w), kernel name
    ("f_aniso_a", (48, 64), "aniso_a"),
    ("f_iso_s2", (48, 64), "iso_s2"),
    ("f_aniso_small", (13, 17), "aniso_small"),
]

RESIZES = [
    # name, image (h, w), (dst_w, dst_h)
    ("down_2p7", (48, 64), (int(64 // 2.7), int(48 // 2.7))),
    ("down_7p3", (96, 96), (int(96 // 7.3), int(96 // 7.3))),
    ("down_2", (48, 64), (32, 24)),
    ("up_to_64x48", (17, 23), (64, 48)),
    ("up_13_to_96", (13, 13), (96, 96)),
]


def build(out: pathlib.Path) -> None:
    index: dict = {"atol": ATOL, "input": "((i * 7919) % 997) / 997 over HWC, float32", "kernels": [], "filters": [], "resizes": []}
    kernels = {}
    for name, size, sx, sy, th, iso in KERNELS:
        k = bivariate_gaussian(size, sx, sy, th, iso)
        kernels[name] = k
        write_f32(out / f"kernel_{name}.f32", k)
        index["kernels"].append({"name": name, "size": size, "sigmaX": sx, "sigmaY": sy, "theta": th, "isotropic": iso})
    for name, (h, w), kname in FILTERS:
        img = ramp(h, w)
        res = cv2.filter2D(img, -1, kernels[kname], borderType=cv2.BORDER_REFLECT_101)
        write_f32(out / f"filter_{name}.f32", res)
        index["filters"].append({"name": name, "height": h, "width": w, "kernel": kname})
    for name, (h, w), (dw, dh) in RESIZES:
        img = ramp(h, w)
        res = cv2.resize(img, (dw, dh), interpolation=cv2.INTER_LINEAR)
        write_f32(out / f"resize_{name}.f32", res)
        index["resizes"].append({"name": name, "height": h, "width": w, "dstWidth": dw, "dstHeight": dh})
    index["cv2"] = cv2.__version__
    write_json(out / "cases.json", index)


def compare(expected: pathlib.Path, actual: pathlib.Path) -> None:
    exp_index = json.loads((expected / "cases.json").read_text())
    act_index = json.loads((actual / "cases.json").read_text())
    exp_index.pop("cv2", None)
    act_index.pop("cv2", None)
    assert exp_index == act_index, "cases.json differs (regenerate with: python -m refbench_golden generate degradation)"
    for f in sorted(expected.glob("*.f32")):
        a = np.fromfile(f, dtype="<f4")
        b = np.fromfile(actual / f.name, dtype="<f4")
        assert a.shape == b.shape, f"{f.name}: size differs"
        d = float(np.abs(a - b).max())
        assert d <= ATOL, f"{f.name}: max abs diff {d} > {ATOL}"


def run(mode: str, repo_root: pathlib.Path) -> None:
    target = repo_root / FOLDER
    if mode == "generate":
        target.mkdir(parents=True, exist_ok=True)
        for old in target.glob("*.f32"):
            old.unlink()
        build(target)
        return
    with tempfile.TemporaryDirectory() as tmp:
        build(pathlib.Path(tmp))
        compare(target, pathlib.Path(tmp))
