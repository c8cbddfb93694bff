/**
 * @file Bootstrap uncertainty for per-sample means (lm-eval `bootstrap_stderr` idea): resample the per-sample
 * values with replacement, B times, with a fixed-seed PRNG so the same values always give the same CI.
 * Runtime-neutral.
 */

import { mulberry32 } from './rng.ts';

export { mulberry32 };

export interface BootstrapResult {
  readonly mean: number;
  readonly n: number;
  /** Standard deviation of the bootstrap means (null when n < 2). */
  readonly stderr: number | null;
  /** Percentile 95% interval of the bootstrap means (null when n < 2). */
  readonly ci95: readonly [number, number] | null;
}

/** Default settings written into summary.json so a reader can reproduce the numbers. */
export const BOOTSTRAP_DEFAULTS = Object.freeze({ iterations: 1000, seed: 2024 });

/** Linear-interpolated quantile of sorted values (numpy's default 'linear' method). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Mean with bootstrap stderr and 95% percentile CI. Sums in float64.
 * @param values per-sample values (order matters for determinism: pass them in a stable order, e.g. by sampleId).
 */
export function bootstrapMean(values: readonly number[], opts: { iterations?: number; seed?: number } = {}): BootstrapResult {
  const n = values.length;
  const iterations = opts.iterations ?? BOOTSTRAP_DEFAULTS.iterations;
  if (n < 2) return tooFew(values);
  const rng = mulberry32(opts.seed ?? BOOTSTRAP_DEFAULTS.seed);
  const means = new Float64Array(iterations);
  for (let b = 0; b < iterations; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[Math.floor(rng() * n)];
    means[b] = s / n;
  }
  return summarise(values, means);
}

/**
 * The resample indices `bootstrapMean` draws for n values with these settings (iterations × n, resample b at
 * [b·n, (b+1)·n)). They depend only on n, the iterations and the seed, so one draw serves every run and metric
 * with n values (the dashboard draws them once per benchmark). Null when n < 2 (no resampling).
 */
export function bootstrapIndices(n: number, opts: { iterations?: number; seed?: number } = {}): Uint32Array | null {
  if (n < 2) return null;
  const iterations = opts.iterations ?? BOOTSTRAP_DEFAULTS.iterations;
  const rng = mulberry32(opts.seed ?? BOOTSTRAP_DEFAULTS.seed);
  const idx = new Uint32Array(iterations * n);
  for (let k = 0; k < idx.length; k++) idx[k] = Math.floor(rng() * n);
  return idx;
}

/**
 * `bootstrapMean` over indices drawn once by `bootstrapIndices(values.length, opts)`: the same result, bit for bit
 * (the same resamples summed in the same order).
 */
export function bootstrapMeanWith(values: readonly number[], indices: Uint32Array | null): BootstrapResult {
  const n = values.length;
  if (n < 2) return tooFew(values);
  if (!indices || indices.length % n !== 0) throw new Error(`bootstrapMeanWith: ${indices?.length ?? 'no'} indices do not hold whole resamples of ${n} values`);
  const iterations = indices.length / n;
  const means = new Float64Array(iterations);
  for (let b = 0, k = 0; b < iterations; b++) {
    let s = 0;
    for (let i = 0; i < n; i++, k++) s += values[indices[k]];
    means[b] = s / n;
  }
  return summarise(values, means);
}

function tooFew(values: readonly number[]): BootstrapResult {
  let sum = 0;
  for (const v of values) sum += v;
  return { mean: values.length ? sum / values.length : Number.NaN, n: values.length, stderr: null, ci95: null };
}

/** Mean of the values, and stderr and percentile 95% CI of the bootstrap means (sorted in place). */
function summarise(values: readonly number[], means: Float64Array): BootstrapResult {
  const n = values.length;
  const iterations = means.length;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let m = 0;
  for (const x of means) m += x;
  m /= iterations;
  let ss = 0;
  for (const x of means) ss += (x - m) * (x - m);
  const stderr = Math.sqrt(ss / (iterations - 1));
  means.sort();
  return { mean, n, stderr, ci95: [quantileSorted(means, 0.025), quantileSorted(means, 0.975)] };
}
