/**
 * @file Noise schedules for the DDPM forward process (Ho et al. 2020), as LDM builds them
 * (`ldm/modules/diffusionmodules/util.py::make_beta_schedule`). Pure functions, runtime-neutral.
 *
 * Notation:
 * - `betas`         → β_t, t = 0 … T−1 (T = `numTrain`, 1000 for ReF-LDM)
 * - `alphas`        → α_t = 1 − β_t
 * - `alphasCumprod` → ᾱ_t = ∏_{s ≤ t} α_s
 *
 * Invariant: β and ᾱ are computed in float64 (as torch/numpy do) and ᾱ is rounded to float32 once, because the
 * official sampler reads its ᾱ table from float32 buffers (docs/model.md §4).
 */

/** LDM's "linear" schedule: β = linspace(√start, √end, T)² (a line in √β, not in β). */
export type BetaScheduleName = 'linear';

/**
 * torch.linspace in float64: the first half counts up from `start`, the second half down from `end`
 * (aten `linspace` kernel), so both end points are exact.
 */
export function linspaceTorch(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (steps - 1);
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < half ? start + step * i : end - step * (steps - i - 1);
  return out;
}

/**
 * β_t of LDM's `linear` schedule, float64.
 * @param numTrain T, the number of training timesteps (1000).
 * @param linearStart β₀ (0.0015 for ReF-LDM).
 * @param linearEnd β_{T−1} (0.0155 for ReF-LDM).
 */
export function makeLinearBetas(numTrain: number, linearStart: number, linearEnd: number): Float64Array {
  if (!Number.isInteger(numTrain) || numTrain < 2) throw new Error(`numTrain: expected an integer ≥ 2, got ${numTrain}`);
  const b = linspaceTorch(Math.sqrt(linearStart), Math.sqrt(linearEnd), numTrain);
  for (let i = 0; i < b.length; i++) b[i] = b[i] * b[i];
  return b;
}

/** ᾱ_t = cumprod(1 − β) in float64, returned rounded to float32 (the sampler's buffers). */
export function alphasCumprodFromBetas(betas: Float64Array): Float32Array {
  const out = new Float32Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc *= 1 - betas[i];
    out[i] = acc;
  }
  return out;
}

/** The ᾱ table of a named schedule (float32). */
export function makeAlphasCumprod(schedule: BetaScheduleName, numTrain: number, linearStart: number, linearEnd: number): Float32Array {
  switch (schedule) {
    case 'linear':
      return alphasCumprodFromBetas(makeLinearBetas(numTrain, linearStart, linearEnd));
    default:
      throw new Error(`betaSchedule: unknown schedule '${String(schedule)}' (known: linear)`);
  }
}
