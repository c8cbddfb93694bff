"""The tolerances of golden checks on BLAS/LAPACK results come from each quantity's conditioning, so they must hold
whatever kernel OpenBLAS picks: these tests check that the bounds really bound the error (against an exact value
computed another way) and that the check rejects a golden that moved by more than its bound."""
from __future__ import annotations

import numpy as np
import pytest

from refbench_golden.common import compare_json_numbers
from refbench_metrics.fid.pipeline import (
    frechet_distance_eigh,
    frechet_distance_eigvals,
    frechet_distance_lowrank_exact,
    frechet_distance_sqrtm,
    frechet_noise_bound,
    kid_noise_bound,
    kid_with_subsets,
)


def _rank_deficient_case(n=60, d=400, seed=0):
    rng = np.random.default_rng(seed)
    feats = rng.random((n, d))
    v = rng.random(d)
    sigma2 = 0.02 * np.outer(v, v) + np.diag(0.05 + 0.1 * rng.random(d))
    mu2 = 0.5 + 0.01 * rng.random(d)
    return feats, mu2, sigma2


def test_lowrank_exact_against_a_closed_form():
    # Σ₂ = c·I: Tr √(Σ₁Σ₂) = √c · Σ singular values of the centred features / √(n − 1), computed by an SVD.
    feats, mu2, _ = _rank_deficient_case()
    c, d = 0.3, feats.shape[1]
    exact, bound = frechet_distance_lowrank_exact(feats, mu2, c * np.eye(d))
    centred = feats - feats.mean(0)
    sv = np.linalg.svd(centred / np.sqrt(len(feats) - 1), compute_uv=False)
    diff = feats.mean(0) - mu2
    closed = diff @ diff + np.sum(sv**2) + c * d - 2 * np.sqrt(c) * sv[: len(feats) - 1].sum()
    assert abs(exact - closed) <= bound


def test_lowrank_exact_refuses_full_rank_input():
    feats, mu2, sigma2 = _rank_deficient_case(n=300, d=40)
    with pytest.raises(ValueError, match="n − 1 ≤ d"):
        frechet_distance_lowrank_exact(feats, mu2, sigma2)


@pytest.mark.parametrize("form", [frechet_distance_eigh, frechet_distance_eigvals, frechet_distance_sqrtm])
def test_noise_bound_covers_the_d_by_d_forms_on_rank_deficient_covariances(form):
    feats, mu2, sigma2 = _rank_deficient_case()
    exact, exact_bound = frechet_distance_lowrank_exact(feats, mu2, sigma2)
    mu1, s1 = feats.mean(0), np.cov(feats, rowvar=False)
    noise = frechet_noise_bound(mu1, s1, mu2, sigma2)
    err = abs(form(mu1, s1, mu2, sigma2) - exact)
    assert exact_bound < 1e-9 * exact  # the low-rank problem is well conditioned
    assert err <= noise + exact_bound, f"{form.__name__}: |Δ| {err} > bound {noise}"
    assert err > exact_bound  # the d × d forms really are noisier than the exact form (else the test proves nothing)


def test_kid_bound_covers_a_reordered_summation():
    rng = np.random.default_rng(1)
    a, b = rng.random((120, 32)), rng.random((150, 32))
    xs = [rng.choice(150, 40, replace=False) for _ in range(4)]
    ys = [rng.choice(120, 40, replace=False) for _ in range(4)]
    ref = kid_with_subsets(a, b, xs, ys)
    # Same maths, features permuted along d (another summation order for every dot product, as another kernel has).
    p = rng.permutation(32)
    assert abs(kid_with_subsets(a[:, p], b[:, p], xs, ys) - ref) <= 2 * kid_noise_bound(a, b, xs, ys)


def test_per_key_tolerances_accept_within_and_reject_beyond():
    exp = {"fd": 248.0, "kid": {"value": 0.5}, "width": 0.125}
    compare_json_numbers(exp, {"fd": 248.0 + 9e-4, "kid": {"value": 0.5}, "width": 0.125}, 0.0, 0.0, atol_at={"fd": 1e-3})
    with pytest.raises(AssertionError, match=r"\$\.fd: .*> 0.001"):
        compare_json_numbers(exp, {"fd": 248.0 + 2e-3, "kid": {"value": 0.5}, "width": 0.125}, 0.0, 0.0, atol_at={"fd": 1e-3})
    with pytest.raises(AssertionError, match=r"\$\.kid\.value"):
        compare_json_numbers(exp, {"fd": 248.0, "kid": {"value": 0.5 + 1e-15}, "width": 0.125}, 0.0, 0.0, atol_at={"fd": 1e-3})
