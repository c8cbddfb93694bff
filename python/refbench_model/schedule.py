"""Noise schedule and DDIM timesteps, as docs/model.md §4 and §5 (ldm util.make_beta_schedule /
make_ddim_timesteps with the repo's ``uniform_trailing``)."""
from __future__ import annotations

import numpy as np

NUM_TIMESTEPS = 1000
LINEAR_START = 0.0015
LINEAR_END = 0.0155


def alphas_cumprod() -> np.ndarray:
    """abar [1000] float32: beta = linspace(sqrt(0.0015), sqrt(0.0155), 1000)^2, cumprod(1-beta) in float64."""
    betas = np.linspace(LINEAR_START ** 0.5, LINEAR_END ** 0.5, NUM_TIMESTEPS, dtype=np.float64) ** 2
    return np.cumprod(1.0 - betas, axis=0).astype(np.float32)


def ddim_timesteps(steps: int, schedule: str = "uniform") -> np.ndarray:
    """Ascending int64 timesteps; the count is ceil(1000 / (1000 // steps)), not always ``steps``."""
    if steps < 1 or steps > NUM_TIMESTEPS:
        raise ValueError(f"steps must be in 1..{NUM_TIMESTEPS}, got {steps}")
    c = NUM_TIMESTEPS // steps
    if schedule == "uniform":
        base = np.arange(0, NUM_TIMESTEPS, c)
    elif schedule == "uniform_trailing":
        base = np.flip(np.arange(NUM_TIMESTEPS, 0, -c)) - 2
    else:
        raise ValueError(f"unknown schedule {schedule!r}; expected uniform | uniform_trailing")
    ts = (base + 1).astype(np.int64)
    if ts[-1] >= NUM_TIMESTEPS:
        # e.g. uniform with 3 steps: c = 333 -> 1000; the official sampler would index abar[1000] and crash
        raise ValueError(f"{schedule} with {steps} steps yields timestep {int(ts[-1])} >= {NUM_TIMESTEPS}")
    return ts


def ddim_tables(timesteps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(abar_t, abar_prev) float32 per position; the final step uses abar_prev = abar[0] (0.9985), not 1."""
    ac = alphas_cumprod()
    a = ac[timesteps]
    a_prev = np.concatenate([[ac[0]], ac[timesteps[:-1]]]).astype(np.float32)
    return a, a_prev
