/**
 * @file DDIM sampling with eta = 0 (Song et al. 2021, "Denoising Diffusion Implicit Models", eq. 12), exactly as
 * LDM's `DDIMSampler` runs it for ReF-LDM (docs/model.md §5), plus classifier-free guidance (§6).
 * Pure functions over Float32Arrays; the U-Net call is the caller's business (diffusers' scheduler/loop split).
 *
 * Notation (paper symbol ← name here):
 * - t_0 < … < t_{K−1}      ← `timesteps` (ascending, as `make_ddim_timesteps` returns them; sampling walks them
 *                             in descending order)
 * - ᾱ_t                     ← `alphasCumprod[t]` (float32 table, ᾱ[0] = 0.9985)
 * - ᾱ_t, ᾱ_prev at position i ← `DdimTables.alphas[i]`, `DdimTables.alphasPrev[i]`
 * - √(1 − ᾱ_t)             ← `DdimTables.sqrtOneMinusAlphas[i]`
 * - x_t, ε_θ(x_t, t)        ← `x`, `eps`
 * - x̂₀ = (x_t − √(1−ᾱ_t)·ε) / √ᾱ_t                        (eq. 12, "predicted x₀")
 * - x_prev = √ᾱ_prev·x̂₀ + √(1 − ᾱ_prev − σ_t²)·ε + σ_t·z   (eq. 12 with σ_t = 0: no noise term)
 * - ε̃ = ε_u + s·(ε_c − ε_u)  ← `cfgCombine` (Ho & Salimans 2022), s ← `scale`
 *
 * Float32 emulation: the official loop multiplies float32 torch tensors by float32 scalars, so every operation
 * here is rounded with `Math.fround` in the same order as `p_sample_ddim`; this keeps the TS loop within float32
 * rounding of PyTorch's instead of drifting by float64-vs-float32 differences over 100 steps.
 */

/** `make_ddim_timesteps` discretisations. `uniform` is the paper protocol; `uniform_trailing` is the demo's. */
export type DdimSchedule = 'uniform' | 'uniform_trailing';

/**
 * The DDIM timestep list (ascending), as ReF-LDM's `make_ddim_timesteps` builds it (docs/model.md §5.2).
 * NOTE: the length is ⌈numTrain / c⌉ with c = ⌊numTrain / steps⌋, which differs from `steps` when `steps` does
 * not divide `numTrain` (30 → 31): the official code commented out its length assertion, and so do we.
 * With `uniform` and c | (numTrain − 1) (S = 3, 9, 27, 37, 111, 333, 1000) the list ends at t = numTrain, which
 * the official sampler cannot index (IndexError on `alphas_cumprod[1000]`): this throws, as the Python reference
 * sampler does, instead of running a setting the official code cannot run.
 * @param steps S, requested steps (1 … numTrain).
 * @returns ascending integers; both schedules add 1 at the end "to get the final alpha values right".
 * @throws when the list would reach t = numTrain (see above).
 */
export function makeDdimTimesteps(schedule: DdimSchedule, steps: number, numTrain = 1000): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > numTrain) {
    throw new Error(`steps: expected an integer in 1…${numTrain}, got ${steps}`);
  }
  const c = Math.floor(numTrain / steps);
  const out: number[] = [];
  if (schedule === 'uniform') {
    for (let b = 0; b < numTrain; b += c) out.push(b + 1);
  } else if (schedule === 'uniform_trailing') {
    // np.flip(np.arange(numTrain, 0, -c)) - 2, then + 1.
    for (let b = numTrain; b > 0; b -= c) out.push(b - 2 + 1);
    out.reverse();
  } else {
    throw new Error(`schedule: unknown DDIM schedule '${String(schedule)}' (known: uniform, uniform_trailing)`);
  }
  const last = out[out.length - 1];
  if (last >= numTrain) {
    const ok = [steps + 1, steps - 1].find((s) => s >= 1 && s <= numTrain && lastUniformTimestep(s, numTrain) < numTrain) ?? 4;
    throw new Error(
      `steps: ${schedule} with ${steps} steps yields t = ${last}, which the official sampler cannot index; ` +
        `use uniform_trailing or another step count, e.g. ${ok}`,
    );
  }
  return out;
}

/** Last timestep of the `uniform` list for S steps (1 + the largest multiple of ⌊numTrain/S⌋ below numTrain). */
function lastUniformTimestep(steps: number, numTrain: number): number {
  const c = Math.floor(numTrain / steps);
  return Math.floor((numTrain - 1) / c) * c + 1;
}

/**
 * Checks that every timestep indexes the ᾱ table (t ≤ numTrain − 1) and returns them unchanged.
 * NOTE: this used to clamp t = 1000 to 999; such lists are now rejected by `makeDdimTimesteps` (the official
 * sampler cannot run them), so `clamped` is always false. Kept for callers that record the flag.
 * @throws naming the first out-of-range timestep.
 */
export function clampTimesteps(timesteps: readonly number[], numTrain = 1000): { timesteps: number[]; clamped: boolean } {
  const bad = timesteps.find((t) => !Number.isInteger(t) || t < 0 || t > numTrain - 1);
  if (bad !== undefined) {
    throw new Error(`timesteps: t = ${bad} is outside the ᾱ table (0 … ${numTrain - 1}); the official sampler cannot index it`);
  }
  return { timesteps: [...timesteps], clamped: false };
}

/** Per-position DDIM coefficients, float32 as the official `make_ddim_sampling_parameters` stores them. */
export interface DdimTables {
  /** Ascending timesteps t_0 … t_{K−1}. */
  readonly timesteps: readonly number[];
  /** ᾱ_{t_i}. */
  readonly alphas: Float32Array;
  /** ᾱ_{t_{i−1}}, and ᾱ[0] (0.9985, not 1) at i = 0: the final step does not reach ᾱ = 1. */
  readonly alphasPrev: Float32Array;
  /** √(1 − ᾱ_{t_i}) computed in float32 (numpy on the float32 table). */
  readonly sqrtOneMinusAlphas: Float32Array;
}

/**
 * Builds the DDIM coefficient tables from ᾱ.
 * @param alphasCumprod float32 ᾱ table of length numTrain.
 * @throws Error when a timestep falls outside the table.
 */
export function makeDdimTables(timesteps: readonly number[], alphasCumprod: Float32Array): DdimTables {
  const k = timesteps.length;
  const alphas = new Float32Array(k);
  const alphasPrev = new Float32Array(k);
  const sqrtOneMinusAlphas = new Float32Array(k);
  for (let i = 0; i < k; i++) {
    const t = timesteps[i];
    if (!Number.isInteger(t) || t < 0 || t >= alphasCumprod.length) {
      throw new Error(`timesteps[${i}] = ${t} is outside the ᾱ table (length ${alphasCumprod.length})`);
    }
    alphas[i] = alphasCumprod[t];
    alphasPrev[i] = i === 0 ? alphasCumprod[0] : alphasCumprod[timesteps[i - 1]];
    sqrtOneMinusAlphas[i] = Math.fround(Math.sqrt(Math.fround(1 - alphas[i])));
  }
  return { timesteps: [...timesteps], alphas, alphasPrev, sqrtOneMinusAlphas };
}

/**
 * One deterministic DDIM update (eta = 0) at sampling position `index` (K−1 first, 0 last).
 * Operation order follows `DDIMSampler.p_sample_ddim`:
 *   x̂₀ = (x − √(1−ᾱ_t)·ε) / √ᾱ_t;  dir = √(1 − ᾱ_prev)·ε;  x_prev = √ᾱ_prev·x̂₀ + dir.
 * @param x x_t, any shape, float32.
 * @param eps ε (already guided), same length.
 * @param out destination (may alias `x`); allocated when omitted.
 * @returns x_prev (`out`).
 */
export function ddimStep(tables: DdimTables, index: number, x: Float32Array, eps: Float32Array, out?: Float32Array): Float32Array {
  if (index < 0 || index >= tables.alphas.length) throw new Error(`ddimStep: index ${index} outside 0…${tables.alphas.length - 1}`);
  if (eps.length !== x.length) throw new Error(`ddimStep: eps has ${eps.length} values, x has ${x.length}`);
  const o = out ?? new Float32Array(x.length);
  const f = Math.fround;
  const sqrtAt = f(Math.sqrt(tables.alphas[index]));
  const s1mAt = tables.sqrtOneMinusAlphas[index];
  const sqrtAPrev = f(Math.sqrt(tables.alphasPrev[index]));
  const dirCoef = f(Math.sqrt(f(1 - tables.alphasPrev[index])));
  for (let j = 0; j < x.length; j++) {
    const e = eps[j];
    const predX0 = f(f(x[j] - f(s1mAt * e)) / sqrtAt);
    o[j] = f(f(sqrtAPrev * predX0) + f(dirCoef * e));
  }
  return o;
}

/**
 * Classifier-free guidance, ε̃ = ε_u + s·(ε_c − ε_u) in float32 (LDM's operation order).
 * @param out destination (may alias either input); allocated when omitted.
 */
export function cfgCombine(epsUncond: Float32Array, epsCond: Float32Array, scale: number, out?: Float32Array): Float32Array {
  if (epsUncond.length !== epsCond.length) throw new Error(`cfgCombine: lengths differ (${epsUncond.length} vs ${epsCond.length})`);
  const o = out ?? new Float32Array(epsCond.length);
  const f = Math.fround;
  const s = f(scale);
  for (let j = 0; j < o.length; j++) {
    const u = epsUncond[j];
    o[j] = f(u + f(s * f(epsCond[j] - u)));
  }
  return o;
}

/** Whether guidance needs an unconditional pass: scale 1 short-circuits to a single conditional pass (§6). */
export function needsUncond(scale: number): boolean {
  return scale !== 1;
}
