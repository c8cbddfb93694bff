"""The reference FID preprocessing and statistics, transcribed from clean-fid / pyiqa (``ResizeDataset``,
``frechet_distance``, ``kernel_distance``) so goldens and benches need neither torchvision nor downloads.

Modes (clean-fid names):
- ``clean``: per channel ``Image.fromarray(c.astype(float32), 'F').resize((299, 299), BICUBIC)``, clip [0, 255],
  then (x − 128)/128;
- ``legacy_pytorch``: ``F.interpolate(bilinear, align_corners=False)`` on the float [0, 255] image, then
  x/255·2 − 1 (pytorch-fid's ``normalize_input``).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import linalg


def resize_channel_f(ch: np.ndarray, size=(299, 299)) -> np.ndarray:
    """PIL mode 'F' bicubic resize of one channel (float32 out, NOT clipped)."""
    return np.asarray(Image.fromarray(ch.astype(np.float32), mode="F").resize(size, resample=Image.BICUBIC))


def preprocess(img_u8: np.ndarray, mode: str) -> torch.Tensor:
    """HWC uint8 RGB → 1×3×299×299 float32 network input."""
    if mode == "clean":
        chans = [resize_channel_f(img_u8[:, :, c]).clip(0, 255) for c in range(3)]
        x = torch.from_numpy(np.stack(chans, 0).astype(np.float32))[None]
        return (x - 128) / 128
    if mode == "legacy_pytorch":
        x = torch.from_numpy(img_u8.astype(np.float32)).permute(2, 0, 1)[None]
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return 2 * (x / 255) - 1
    raise ValueError(f"unknown mode {mode!r}")


def features(model: torch.nn.Module, images: list[np.ndarray], mode: str, batch: int = 8) -> np.ndarray:
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.cat([preprocess(im, mode) for im in images[i:i + batch]], 0)
            out.append(model(x).numpy())
    return np.concatenate(out, 0)


def frechet_distance_sqrtm(mu1, sigma1, mu2, sigma2, eps=1e-6) -> float:
    """clean-fid ``frechet_distance`` (scipy sqrtm, eps retry, real part)."""
    diff = mu1 - mu2
    # NOTE: clean-fid passes disp=False (deprecated in SciPy 1.16, removed in 1.18); same result.
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def frechet_distance_eigh(mu1, sigma1, mu2, sigma2) -> float:
    """Symmetric eigen form: A = Σ₁^½ (eigh, clamped), Tr √(A Σ₂ A) (float64)."""
    w, v = np.linalg.eigh(sigma1)
    a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = a @ sigma2 @ a
    lam = np.linalg.eigvalsh((m + m.T) / 2)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(np.clip(lam, 0, None)).sum())


def frechet_distance_eigvals(mu1, sigma1, mu2, sigma2) -> float:
    """torch-fidelity ≥ 0.4 / torchmetrics form: Σ Re √eig(Σ₁Σ₂)."""
    lam = np.linalg.eigvals(sigma1 @ sigma2).astype(np.complex128)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(lam).real.sum())


def kid_with_subsets(feats1: np.ndarray, feats2: np.ndarray, xs, ys) -> float:
    """clean-fid ``kernel_distance`` with given subset indices (x ⊂ feats2, y ⊂ feats1), float64."""
    n = feats1.shape[1]
    m = len(xs[0])
    t = 0.0
    for xi, yi in zip(xs, ys):
        x = feats2[xi]
        y = feats1[yi]
        a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
        b = (x @ y.T / n + 1) ** 3
        t += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return float(t / len(xs) / m)


def mulberry32(seed: int):
    """Bit-exact port of the TS ``mulberry32`` (kernel-distance.ts): floats in [0, 1)."""
    state = seed & 0xFFFFFFFF

    def imul(a, b):
        return (a * b) & 0xFFFFFFFF

    def rnd() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return rnd
