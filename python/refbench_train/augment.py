"""The paper's reference augmentations (docs/model.md §14), written with torch ops, no torchvision.

ColorJitter (brightness, contrast, saturation +-0.2, hue +-0.02), RandomAffine (+-2 degrees, translate +-0.05,
scale 0.95-1.05), RandomPerspective (distortion 0.2, applied with p = 1.0 as in the code, not the paper's 0.5),
horizontal flip p = 0.5. Every draw comes from the caller's ``torch.Generator`` (resumable, bit-exact).

ASSUMPTIONS (the training code is not released; only the config values are known):
- Order: colour jitter (its four factors in a random order, as torchvision) -> affine -> perspective -> flip.
- Affine and perspective are composed into ONE homography and resampled once (bilinear, zeros outside), where
  torchvision resamples twice; the geometric distribution is the same, the image is slightly less blurred.
- Images are augmented in [0, 1] RGB; the fill outside the warped image is 0 (black), torchvision's default.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

BRIGHTNESS = CONTRAST = SATURATION = 0.2
HUE = 0.02
DEGREES, TRANSLATE, SCALE = 2.0, 0.05, (0.95, 1.05)
DISTORTION = 0.2
PERSPECTIVE_P = 1.0
FLIP_P = 0.5


def _u(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g, dtype=torch.float64))


def _gray(x: torch.Tensor) -> torch.Tensor:
    return (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2])[None]


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x[0], x[1], x[2]
    maxc, _ = x.max(0)
    minc, _ = x.min(0)
    v = maxc
    delta = maxc - minc
    s = torch.where(maxc > 0, delta / maxc.clamp_min(1e-12), torch.zeros_like(maxc))
    dc = delta.clamp_min(1e-12)
    rc, gc, bc = (maxc - r) / dc, (maxc - g) / dc, (maxc - b) / dc
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.where(delta > 0, (h / 6.0) % 1.0, torch.zeros_like(h))
    return torch.stack([h, s, v])


def hsv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    h, s, v = x[0], x[1], x[2]
    i = torch.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.long() % 6
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = torch.zeros_like(x)
    for k, (r, g, b) in enumerate(table):
        m = i == k
        out[0] = torch.where(m, r, out[0])
        out[1] = torch.where(m, g, out[1])
        out[2] = torch.where(m, b, out[2])
    return out


def color_jitter(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    order = torch.randperm(4, generator=g).tolist()
    b = _u(g, 1 - BRIGHTNESS, 1 + BRIGHTNESS)
    c = _u(g, 1 - CONTRAST, 1 + CONTRAST)
    s = _u(g, 1 - SATURATION, 1 + SATURATION)
    h = _u(g, -HUE, HUE)
    for op in order:
        if op == 0:
            x = (x * b).clamp(0, 1)
        elif op == 1:
            x = (c * x + (1 - c) * _gray(x).mean()).clamp(0, 1)
        elif op == 2:
            x = (s * x + (1 - s) * _gray(x)).clamp(0, 1)
        else:
            hsv = rgb_to_hsv(x)
            hsv[0] = (hsv[0] + h) % 1.0
            x = hsv_to_rgb(hsv)
    return x


def _homography(src: list, dst: list) -> torch.Tensor:
    """3x3 H with H @ src_i ~ dst_i (4 point pairs)."""
    a, bvec = [], []
    for (x, y), (u, v) in zip(src, dst):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        bvec += [u, v]
    sol = torch.linalg.solve(torch.tensor(a, dtype=torch.float64), torch.tensor(bvec, dtype=torch.float64))
    return torch.cat([sol, torch.ones(1, dtype=torch.float64)]).reshape(3, 3)


def geometric(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Affine (rotation, translation, scale about the centre) then perspective, as one homography warp."""
    _, h, w = x.shape
    ang = math.radians(_u(g, -DEGREES, DEGREES))
    tx = round(_u(g, -TRANSLATE * w, TRANSLATE * w))
    ty = round(_u(g, -TRANSLATE * h, TRANSLATE * h))
    sc = _u(g, *SCALE)
    cx, cy = (w - 1) * 0.5, (h - 1) * 0.5
    ca, sa = math.cos(ang) * sc, math.sin(ang) * sc
    aff = torch.tensor([[ca, -sa, cx + tx - ca * cx + sa * cy], [sa, ca, cy + ty - sa * cx - ca * cy], [0, 0, 1]],
                       dtype=torch.float64)
    hmat = aff
    if _u(g, 0, 1) < PERSPECTIVE_P:
        dx, dy = int(DISTORTION * w / 2), int(DISTORTION * h / 2)
        ri = lambda lo, hi: int(torch.randint(lo, hi + 1, (), generator=g))  # noqa: E731
        src = [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]
        dst = [[ri(0, dx), ri(0, dy)], [w - 1 - ri(0, dx), ri(0, dy)], [w - 1 - ri(0, dx), h - 1 - ri(0, dy)],
               [ri(0, dx), h - 1 - ri(0, dy)]]
        hmat = _homography(src, dst) @ aff
    inv = torch.linalg.inv(hmat)  # output pixel -> source pixel
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    pts = torch.stack([xs, ys, torch.ones_like(xs)], -1) @ inv.T
    sx, sy = pts[..., 0] / pts[..., 2], pts[..., 1] / pts[..., 2]
    grid = torch.stack([sx / (w - 1) * 2 - 1, sy / (h - 1) * 2 - 1], -1)[None].to(x.dtype)
    return F.grid_sample(x[None], grid, mode="bilinear", padding_mode="zeros", align_corners=True)[0]


def augment_reference(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """x [3,H,W] in [-1,1] -> augmented [3,H,W] in [-1,1]."""
    y = color_jitter((x + 1) * 0.5, g)
    y = geometric(y, g)
    if _u(g, 0, 1) < FLIP_P:
        y = y.flip(-1)
    return y * 2 - 1
