"""Goldens for the dashboard's paired statistics (generator ``stats``): src/lib/eval/stats/{wilcoxon,paired}.ts.

- Wilcoxon signed-rank: ``scipy.stats.wilcoxon`` itself on cases that reach every branch of its ``method='auto'``
  choice (exact without ties/zeros up to 50 pairs, the normal approximation above 50, the exact permutation test
  over all sign flips for ties or zeros up to 13 pairs, the tie-corrected normal approximation beyond), each zero
  method (wilcox, pratt, zsplit), the three alternatives, the continuity correction, forced ``exact`` with ties,
  forced ``asymptotic``, all-zero differences, one pair, x/y given separately (d = x − y in float64) and a tail
  p-value near 1e-30.
- Paired bootstrap: an independent Python port of the resampler the TS side uses (mulberry32 seeded 2024, 1000
  resamples of sample indices, numpy 'linear' percentiles, ddof=1 stderr of the resampled means), and numpy's
  mean difference and win/tie/loss counts.

File: test/fixtures/stats/golden.json (``cases``: inputs and scipy's statistic, p-value, z; ``paired``: inputs and
Δ, CI, stderr, wins/ties/losses). Non-finite numbers are written as null. Check mode recomputes everything with
the installed scipy and compares within rtol 1e-12.
"""
from __future__ import annotations

import json
import math
import pathlib

import numpy as np

from .common import compare_json_numbers, write_json

FIXTURE = ("test", "fixtures", "stats", "golden.json")
M32 = 0xFFFFFFFF


def _num(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _wilcoxon_cases() -> list[dict]:
    rng = np.random.default_rng(20261204)
    n8 = rng.normal(0.3, 1, 8)
    n30 = rng.normal(0.2, 1, 30)
    n50 = rng.normal(-0.1, 1, 50)
    n51 = rng.normal(0.25, 1, 51)
    n200 = rng.normal(0.05, 1, 200)
    ties10 = np.round(rng.normal(0.4, 1, 10), 1)
    ties10[ties10 == 0] = 0.5
    ties30 = np.round(rng.normal(0.3, 1, 30), 0)
    ties30[ties30 == 0] = 2.0
    zeros9 = np.round(rng.normal(0.3, 1, 9), 2)
    zeros9[[1, 4, 7]] = 0.0
    zeros40 = np.round(rng.normal(0.3, 1, 40), 1)
    zeros40[::7] = 0.0
    tiesexact20 = np.round(rng.normal(0.2, 1, 20), 1)
    tiesexact20[tiesexact20 == 0] = -0.3
    tail = rng.normal(1.5, 1, 200)
    x_pair = [0.5, 0.825, 0.375, 0.5]
    y_pair = [0.525, 0.775, 0.325, 0.55]
    lpips_like_a = np.round(rng.uniform(0.1, 0.5, 24), 6)
    lpips_like_b = np.round(lpips_like_a - rng.normal(0.02, 0.03, 24), 6)

    cases: list[dict] = []

    def add(name, x, y=None, **kw):
        cases.append({"name": name, "x": [float(v) for v in x], "y": None if y is None else [float(v) for v in y], "options": kw})

    add("exact_n8", n8)
    add("exact_n30", n30)
    add("exact_n50", n50)
    add("asymptotic_n51", n51)
    add("asymptotic_n200", n200)
    add("permutation_ties_n10", ties10)
    add("asymptotic_ties_n30", ties30)
    for zm in ("wilcox", "pratt", "zsplit"):
        add(f"permutation_zeros_n9_{zm}", zeros9, zero_method=zm)
        add(f"asymptotic_zeros_n40_{zm}", zeros40, zero_method=zm)
    for alt in ("less", "greater"):
        add(f"exact_n8_{alt}", n8, alternative=alt)
        add(f"asymptotic_n51_{alt}", n51, alternative=alt)
        add(f"permutation_ties_n10_{alt}", ties10, alternative=alt)
    add("asymptotic_n51_correction", n51, correction=True)
    add("asymptotic_ties_n30_correction_greater", ties30, correction=True, alternative="greater")
    add("forced_exact_ties_n20", tiesexact20, method="exact")
    add("forced_asymptotic_n10", n8[:6].tolist() + n30[:4].tolist(), method="asymptotic")
    add("all_zero_n5", np.zeros(5))
    add("all_zero_n20", np.zeros(20))
    add("one_pair", [1.0])
    add("x_minus_y_greater", x_pair, y_pair, alternative="greater")
    add("paired_metric_values", lpips_like_b, lpips_like_a)
    add("tail_n200", tail)

    from scipy import stats

    for c in cases:
        o = c["options"]
        res = stats.wilcoxon(
            np.asarray(c["x"], dtype=np.float64),
            None if c["y"] is None else np.asarray(c["y"], dtype=np.float64),
            zero_method=o.get("zero_method", "wilcox"),
            correction=o.get("correction", False),
            alternative=o.get("alternative", "two-sided"),
            method=o.get("method", "auto"),
        )
        c["statistic"] = _num(res.statistic)
        c["pvalue"] = _num(res.pvalue)
        c["zstatistic"] = _num(res.zstatistic) if hasattr(res, "zstatistic") else None
    return cases


def mulberry32(seed: int):
    """The TS engine's generator (src/lib/eval/stats/rng.ts), in unsigned 32-bit arithmetic."""
    state = seed & M32

    def nxt() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & M32
        t = state
        t = ((t ^ (t >> 15)) * (t | 1)) & M32
        t = (t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & M32)) & M32)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296

    return nxt


def paired_bootstrap(a: list[float], b: list[float], higher_is_better: bool, iterations=1000, seed=2024) -> dict:
    d = [y - x for x, y in zip(a, b)]
    n = len(d)
    rng = mulberry32(seed)
    means = []
    for _ in range(iterations):
        s = 0.0
        for _ in range(n):
            s += d[math.floor(rng() * n)]
        means.append(s / n)
    means_np = np.asarray(means)
    lo, hi = np.percentile(means_np, [2.5, 97.5])
    darr = np.asarray(d)
    wins = int(np.sum(darr > 0)) if higher_is_better else int(np.sum(darr < 0))
    ties = int(np.sum(darr == 0))
    total = 0.0
    for v in d:  # sequential float64 sum, as the TS mean
        total += v
    return {
        "delta": total / n,
        "ci95": [float(lo), float(hi)],
        "stderr": float(np.std(means_np, ddof=1)),
        "wins": wins,
        "ties": ties,
        "losses": n - wins - ties,
    }


def _paired_cases() -> list[dict]:
    rng = np.random.default_rng(7)
    out = []
    for name, n, hib, shift in (("psnr_like_n44", 44, True, 0.4), ("lpips_like_n12", 12, False, -0.01), ("ties_n20", 20, True, 0.0)):
        a = np.round(rng.normal(25 if hib else 0.3, 2 if hib else 0.05, n), 4)
        b = np.round(a + rng.normal(shift, 0.5 if hib else 0.02, n), 4)
        if name == "ties_n20":
            b[:5] = a[:5]
        a_l, b_l = [float(v) for v in a], [float(v) for v in b]
        out.append({"name": name, "a": a_l, "b": b_l, "higherIsBetter": hib, **paired_bootstrap(a_l, b_l, hib)})
    return out


def build() -> dict:
    import scipy

    return {"scipy_version": scipy.__version__, "cases": _wilcoxon_cases(), "paired": _paired_cases()}


def run(mode: str, repo_root: pathlib.Path) -> None:
    path = repo_root.joinpath(*FIXTURE)
    fresh = build()
    if mode == "generate":
        write_json(path, fresh)
        return
    if mode != "check":
        raise ValueError(f"unknown mode {mode!r}")
    committed = json.loads(path.read_text())
    committed.pop("scipy_version", None)
    fresh.pop("scipy_version", None)
    compare_json_numbers(committed, fresh, rtol=1e-12, atol=0.0)
