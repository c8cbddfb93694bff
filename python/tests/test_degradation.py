"""Checks of the degradation golden generator: the BasicSR transcription against an independent formula, cv2's
border/resize conventions, and the committed goldens (check mode)."""
import pathlib

import cv2
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from refbench_golden import degradation as dg

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sx,sy,theta,iso", [(2.0, 2.0, 0.0, True), (6.0, 2.5, 0.6, False), (0.4, 9.0, -2.3, False)])
def test_kernel_matches_scipy_pdf(sx, sy, theta, iso):
    k = dg.bivariate_gaussian(41, sx, sy, theta, iso)
    cov = np.diag([sx**2, sx**2]) if iso else dg.sigma_matrix2(sx, sy, theta)
    ax = np.arange(-20, 21.0)
    xx, yy = np.meshgrid(ax, ax)
    ref = multivariate_normal([0, 0], cov).pdf(np.dstack([xx, yy]))
    ref /= ref.sum()
    assert abs(k.sum() - 1) < 1e-12
    assert np.abs(k - ref).max() < 1e-12


def test_theta_zero_is_wider_along_columns():
    k = dg.bivariate_gaussian(41, 6.0, 2.0, 0.0, False)
    assert k[20, 25] > k[25, 20]


def test_filter2d_default_border_is_reflect_101():
    img = dg.ramp(9, 11)
    k = dg.bivariate_gaussian(5, 1.0, 0.5, 0.3, False)
    a = cv2.filter2D(img, -1, k)
    pad = np.pad(img, ((2, 2), (2, 2), (0, 0)), mode="reflect")  # numpy 'reflect' == cv2 REFLECT_101
    manual = np.zeros_like(img, dtype=np.float64)
    for r in range(5):
        for c in range(5):
            manual += k[r, c] * pad[r : r + 9, c : c + 11]
    assert np.abs(a - manual).max() < 1e-5


def test_inter_linear_has_no_antialias():
    img = dg.ramp(32, 32)
    out = cv2.resize(img, (8, 8), interpolation=cv2.INTER_LINEAR)
    # scale 4: centres at 1.5, 5.5, ...: mean of source pixels 1 and 2 (two taps per axis).
    expected = 0.25 * (img[1, 1] + img[1, 2] + img[2, 1] + img[2, 2])
    assert np.abs(out[0, 0] - expected).max() < 1e-6


def test_committed_goldens_match():
    dg.run("check", REPO)
