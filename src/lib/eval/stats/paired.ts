/**
 * @file Paired comparison of two runs over the samples they share (the dashboard's compare page): the mean
 * difference Δ = mean(b − a) with a paired bootstrap 95% CI, the per-image win rate respecting the metric's
 * direction, and the Wilcoxon signed-rank test. Runtime-neutral; the inputs are per-sample values of the same
 * samples in the same order (e.g. ordered by sample id, which makes the bootstrap deterministic).
 *
 * The paired bootstrap resamples *samples* (indices), keeping each pair together, so it is the bootstrap of the
 * per-sample differences dᵢ = bᵢ − aᵢ: the same resampler, seed and percentile interval as the run summaries
 * (bootstrap.ts: 1000 resamples, seed 2024, numpy-'linear' percentiles).
 */
import { BOOTSTRAP_DEFAULTS, bootstrapMean } from './bootstrap.ts';
import { wilcoxon, type WilcoxonResult } from './wilcoxon.ts';

export interface PairedComparison {
  /** Pairs compared. */
  readonly n: number;
  readonly meanA: number;
  readonly meanB: number;
  /** mean(b − a) (equal to meanB − meanA up to rounding). */
  readonly delta: number;
  /** Percentile 95% CI of Δ from the paired bootstrap; null below 2 pairs. */
  readonly ci95: readonly [number, number] | null;
  readonly stderr: number | null;
  /** Pairs where b is better than a (by the metric's direction), equal, worse. */
  readonly wins: number;
  readonly ties: number;
  readonly losses: number;
  /** wins / n (ties count as neither); NaN for no pairs. */
  readonly winRate: number;
  /** Wilcoxon signed-rank test of b against a (scipy defaults); null for no pairs. */
  readonly wilcoxon: WilcoxonResult | null;
}

/**
 * Compares run b against baseline a on paired per-sample values.
 * @param a baseline values; `b` the other run's values for the same samples in the same order.
 * @param higherIsBetter the metric's direction (decides what a win is).
 * @throws Error when the lengths differ.
 */
export function pairedComparison(
  a: readonly number[],
  b: readonly number[],
  higherIsBetter: boolean,
  opts: { iterations?: number; seed?: number } = {},
): PairedComparison {
  if (a.length !== b.length) throw new Error(`pairedComparison: ${a.length} baseline values vs ${b.length}: pass the same samples in the same order`);
  const n = a.length;
  const d = b.map((v, i) => v - a[i]);
  const boot = bootstrapMean(d, { iterations: opts.iterations ?? BOOTSTRAP_DEFAULTS.iterations, seed: opts.seed ?? BOOTSTRAP_DEFAULTS.seed });
  let wins = 0;
  let ties = 0;
  for (const x of d) {
    if (x === 0) ties++;
    else if (x > 0 === higherIsBetter) wins++;
  }
  const mean = (v: readonly number[]) => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : Number.NaN);
  return {
    n,
    meanA: mean(a),
    meanB: mean(b),
    delta: boot.mean,
    ci95: boot.ci95,
    stderr: boot.stderr,
    wins,
    ties,
    losses: n - wins - ties,
    winRate: n ? wins / n : Number.NaN,
    wilcoxon: n ? wilcoxon(b, a) : null,
  };
}
