"""The reference FID preprocessing and statistics, transcribed from clean-fid / pyiqa (``ResizeDataset``,
``frechet_distance``, ``kernel_distance``) so goldens and benches need neither torchvision nor downloads.

Modes (clean-fid names):
- ``clean``: per channel ``Image.fromarray(c.astype(float32), 'F').resize((299, 299), BICUBIC)``, clip [0, 255],
  then (x − 128)/128;
- ``legacy_pytorch``: ``F.interpolate(bilinear, align_corners=False)`` on the float [0, 255] image, then
  x/255·2 − 1 (pytorch-fid's ``normalize_input``). Resized one channel at a time (``resize_channel_bilinear``) so
  ATen always takes its generic kernel, the one pytorch-fid's batched, multi-threaded calls get: with one thread a
  3-channel NCHW tensor goes to the channels-last kernel instead, which rounds differently (≤ 2 float32 ulps).
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


def resize_channel_bilinear(ch: np.ndarray, size=(299, 299)) -> np.ndarray:
    """torch bilinear (align_corners=False, no antialias) of one float channel, ATen's generic CPU kernel (float32)."""
    x = torch.from_numpy(np.ascontiguousarray(ch, dtype=np.float32))[None, None]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)[0, 0].numpy()


def preprocess(img_u8: np.ndarray, mode: str) -> torch.Tensor:
    """HWC uint8 RGB → 1×3×299×299 float32 network input."""
    if mode == "clean":
        chans = [resize_channel_f(img_u8[:, :, c]).clip(0, 255) for c in range(3)]
        x = torch.from_numpy(np.stack(chans, 0).astype(np.float32))[None]
        return (x - 128) / 128
    if mode == "legacy_pytorch":
        x = torch.from_numpy(np.stack([resize_channel_bilinear(img_u8[:, :, c]) for c in range(3)], 0))[None]
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


UNIT_ROUNDOFF = float(np.finfo(np.float64).eps) / 2  # u = 2^-53


def frechet_distance_lowrank_exact(feats1: np.ndarray, mu2, sigma2) -> tuple[float, float]:
    """Fréchet distance between the sample Gaussian of ``feats1`` (n × d, n ≤ d: rank n − 1) and (μ₂, Σ₂), through a
    well-conditioned problem instead of the rank-deficient d × d product.

    With Y = Hᵀ(F − 1μ₁ᵀ)/√(n − 1), H an orthonormal basis of the vectors orthogonal to 1 (n × (n − 1)), Σ₁ = YᵀY
    exactly, and the non-zero eigenvalues of Σ₁Σ₂ are those of the (n − 1)² SPD matrix YΣ₂Yᵀ; the d − n + 1 zero
    eigenvalues contribute exactly 0 to Tr √(Σ₁Σ₂). Its condition number is that of YΣ₂Yᵀ (57 for the 2048-d golden),
    so every BLAS/LAPACK kernel gives the same value to ~1e-12 relative. scipy's ``sqrtm`` and the eigen forms on the
    d × d product instead add √|λ| of every rounding-noise eigenvalue (see ``frechet_noise_bound``).

    Returns (value, bound): the bound is this computation's own rounding error, from the conditioning κ of YΣ₂Yᵀ:
    forming Y and YΣ₂Yᵀ perturbs every eigenvalue by ≤ 2·n·u·κ relative, the solver by ≤ √n·u·λ_max absolute.
    """
    f = np.asarray(feats1, dtype=np.float64)
    n = f.shape[0]
    if n - 1 > f.shape[1]:
        raise ValueError(f"the low-rank form needs n − 1 ≤ d (got n = {n}, d = {f.shape[1]}); use frechet_distance_eigh")
    mu1 = f.mean(0)
    centring = np.eye(n) - 1.0 / n
    h, _ = np.linalg.qr(centring[:, : n - 1])  # columns span 1⊥ (the first n − 1 centring columns are independent)
    y = h.T @ (f - mu1) / np.sqrt(n - 1)
    m = y @ sigma2 @ y.T
    lam = np.linalg.eigvalsh((m + m.T) / 2)
    diff = mu1 - mu2
    value = float(diff.dot(diff) + np.sum(y * y) + np.trace(sigma2) - 2 * np.sqrt(np.clip(lam, 0, None)).sum())
    k = n - 1
    lam_max, lam_min = float(lam.max()), float(lam.min())
    kappa = lam_max / lam_min
    root_sum = float(np.sqrt(lam).sum())
    solver = np.sqrt(k) * UNIT_ROUNDOFF * lam_max
    bound = 2 * (root_sum * n * UNIT_ROUNDOFF * kappa + k * solver / (2 * np.sqrt(lam_min)))
    bound += f.shape[1] * UNIT_ROUNDOFF * (float(np.sum(y * y)) + float(np.trace(sigma2)) + float(diff.dot(diff)))
    return value, float(bound)


def frechet_noise_bound(mu1, sigma1, mu2, sigma2) -> float:
    """Absolute bound on the rounding error of the Fréchet distance computed by an eigen-solver or ``sqrtm`` on the
    d × d product Σ₁Σ₂, whatever BLAS/LAPACK kernel runs it. Golden checks of such values use it as their tolerance.

    A backward-stable eigen-solver returns the eigenvalues of Σ₁Σ₂ + E with ‖E‖ ≤ c·u·‖Σ₁‖‖Σ₂‖, c = √d (the usual
    estimate for accumulated rounding; the worst case is a low-degree polynomial in d). Then:
    - each of the d − r eigenvalues that are exactly 0 (r = min of the numerical ranks) comes back with |λ| ≤ δ and
      adds at most √δ to Tr √(Σ₁Σ₂): this is what makes rank-deficient FID kernel-dependent (n < d);
    - each of the r non-zero eigenvalues λᵢ moves by ≤ δ, its root by ≤ δ / (2√λᵢ);
    - the traces and ‖μ₁ − μ₂‖² carry d·u relative error.
    FD has −2·Tr √(Σ₁Σ₂), hence the factor 2.
    """
    s1 = np.asarray(sigma1, dtype=np.float64)
    s2 = np.asarray(sigma2, dtype=np.float64)
    d = s1.shape[0]
    w1, v1 = np.linalg.eigh(s1)
    w2 = np.linalg.eigvalsh(s2)
    n1, n2 = max(w1.max(), 0.0), max(w2.max(), 0.0)
    rank = min(int((w1 > d * UNIT_ROUNDOFF * n1).sum()), int((w2 > d * UNIT_ROUNDOFF * n2).sum()))
    delta = np.sqrt(d) * UNIT_ROUNDOFF * n1 * n2
    s1_half = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T
    lam = np.linalg.eigvalsh(s1_half @ s2 @ s1_half)[::-1][:rank]  # the r largest: the range of Σ₁Σ₂
    lam_min = max(float(lam[-1]) if rank else 0.0, delta)
    null_part = 2 * (d - rank) * np.sqrt(delta)
    range_part = 2 * rank * delta / (2 * np.sqrt(lam_min))
    diff = np.asarray(mu1, dtype=np.float64) - np.asarray(mu2, dtype=np.float64)
    trace_part = d * UNIT_ROUNDOFF * (np.trace(s1) + np.trace(s2) + diff.dot(diff))
    return float(null_part + range_part + trace_part)


def kid_noise_bound(feats1: np.ndarray, feats2: np.ndarray, xs, ys) -> float:
    """Absolute rounding bound of ``kid_with_subsets``: every kernel value k = (x·y/d + 1)³ comes from a d-term dot
    product (relative error ≤ d·u on |x|·|y|/d), cubed (×3), then summed; the bound is 3·d·u·(Σ|terms| normalised as
    in the estimator) plus the summation error. A BLAS kernel only changes the dot products' summation order.
    """
    d = feats1.shape[1]
    m = len(xs[0])
    t = 0.0
    for xi, yi in zip(xs, ys):
        x = np.abs(feats2[xi])
        y = np.abs(feats1[yi])
        a = (x @ x.T / d + 1) ** 3 + (y @ y.T / d + 1) ** 3
        b = (x @ y.T / d + 1) ** 3
        t += a.sum() / (m - 1) + b.sum() * 2 / m
    return float((3 * d + 2 * m) * UNIT_ROUNDOFF * t / len(xs) / m)


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
