/**
 * @file The Wilcoxon signed-rank test for paired samples, as `scipy.stats.wilcoxon` (scipy 1.17) computes it, so
 * that the dashboard's p-values equal what a reader gets in Python. Runtime-neutral; checked against goldens made
 * by scipy itself (`python -m refbench_golden generate stats` → test/fixtures/stats/golden.json).
 *
 * Notation (scipy's): d = x − y; zeros of d are treated by `zeroMethod`; the non-zero |d| are ranked with average
 * ranks for ties; r₊ / r₋ = sums of the ranks of positive / negative d; `count` = the number of d taking part.
 *
 * `method: 'auto'` (scipy's default) chooses:
 * - more than 50 pairs → the normal approximation (`asymptotic`);
 * - otherwise, no ties and no zeros → the `exact` null distribution of r₊;
 * - otherwise (ties or zeros), at most 13 pairs → an exact `permutation` test over all 2ⁿ sign flips (scipy's
 *   `PermutationMethod()`, deterministic for n ≤ 13 because 2¹³ < its 9,999 resamples);
 * - otherwise → `asymptotic`, with the tie correction of the variance.
 * The asymptotic z has the continuity correction only when `correction` is true (scipy's default: false). For
 * `pratt`, the mean and variance drop the zeros' ranks and the zeros are left out of the tie correction
 * (Cureton 1967); `zsplit` adds half the zeros' ranks to r₊ and to r₋.
 */
import { normalSf, ndtr } from './normal.ts';

export type ZeroMethod = 'wilcox' | 'pratt' | 'zsplit';
export type WilcoxonMethod = 'auto' | 'exact' | 'asymptotic';
export type Alternative = 'two-sided' | 'less' | 'greater';

export interface WilcoxonOptions {
  readonly zeroMethod?: ZeroMethod;
  readonly correction?: boolean;
  readonly alternative?: Alternative;
  readonly method?: WilcoxonMethod;
}

export interface WilcoxonResult {
  /** min(r₊, r₋) for two-sided, else r₊ (scipy's `statistic`). */
  readonly statistic: number;
  readonly pvalue: number;
  /** The method actually used (after `auto` decided). */
  readonly method: 'exact' | 'asymptotic' | 'permutation';
  /** The normal-approximation z (with the correction, if any), when the method is asymptotic; else null. */
  readonly z: number | null;
  readonly rPlus: number;
  readonly rMinus: number;
  /** Pairs given (zeros included). */
  readonly n: number;
  /** Pairs with d = 0. */
  readonly zeros: number;
  /** True when some non-zero |d| are tied. */
  readonly ties: boolean;
}

interface Statistic {
  rPlus: number;
  rMinus: number;
  z: number;
  se: number;
  count: number;
  ties: boolean;
}

/**
 * Average ranks (1-based) of `v` with NaN sorted last (numpy's order), and the sizes of the tie groups in sorted
 * order (scipy `_rankdata(..., 'average', return_ties=True)`: a NaN is a group of its own).
 */
function averageRanks(v: Float64Array): { ranks: Float64Array; groups: number[] } {
  const n = v.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    const x = v[a];
    const y = v[b];
    if (Number.isNaN(x)) return Number.isNaN(y) ? a - b : 1;
    if (Number.isNaN(y)) return -1;
    return x - y || a - b; // stable, as numpy's argsort(stable=True)
  });
  const ranks = new Float64Array(n);
  const groups: number[] = [];
  let i = 0;
  while (i < n) {
    let j = i + 1;
    // NaN != NaN, so NaNs never join a group (as in scipy).
    while (j < n && v[order[j]] === v[order[i]]) j++;
    const rank = i + 1 + (j - i - 1) / 2;
    for (let k = i; k < j; k++) ranks[order[k]] = rank;
    groups.push(j - i);
    i = j;
  }
  return { ranks, groups };
}

/** scipy `_wilcoxon_statistic` for one vector of differences. */
function signedRankStatistic(d: Float64Array, zeroMethod: ZeroMethod): Statistic {
  const n = d.length;
  const isZero = Array.from(d, (x) => x === 0);
  const dd = Float64Array.from(d, (x) => (zeroMethod === 'wilcox' && x === 0 ? Number.NaN : x));
  let count = 0;
  for (const x of dd) if (!Number.isNaN(x)) count++;
  const { ranks, groups } = averageRanks(Float64Array.from(dd, Math.abs));
  let rPlus = 0;
  let rMinus = 0;
  for (let i = 0; i < n; i++) {
    if (dd[i] > 0) rPlus += ranks[i];
    else if (dd[i] < 0) rMinus += ranks[i];
  }
  const ties = groups.some((g) => g > 1);
  if (zeroMethod === 'zsplit') {
    let rz = 0;
    for (let i = 0; i < n; i++) if (isZero[i]) rz += ranks[i];
    rPlus += rz / 2;
    rMinus += rz / 2;
  }
  let mn = count * (count + 1) * 0.25;
  let se = count * (count + 1) * (2 * count + 1);
  const tieGroups = [...groups];
  if (zeroMethod === 'pratt') {
    const nz = isZero.filter(Boolean).length;
    mn -= nz * (nz + 1) * 0.25;
    se -= nz * (nz + 1) * (2 * nz + 1);
    // The zeros have the lowest |d|: they are the first group, which is left out of the tie correction.
    if (nz > 0) tieGroups[0] = 0;
  }
  let tieCorrect = 0;
  for (const t of tieGroups) tieCorrect += t ** 3 - t;
  se = Math.sqrt((se - tieCorrect / 2) / 24);
  return { rPlus, rMinus, z: (rPlus - mn) / se, se, count, ties };
}

/** Probabilities of r₊ = 0 … n(n+1)/2 under H₀ (scipy `_get_wilcoxon_distr`). */
export function signedRankDistribution(n: number): Float64Array {
  let c = new Float64Array([1]);
  for (let k = 1; k <= n; k++) {
    const prev = c;
    c = new Float64Array((k * (k + 1)) / 2 + 1);
    const m = prev.length;
    for (let i = 0; i < m; i++) c[i] = prev[i] * 0.5;
    for (let i = 0; i < m; i++) c[c.length - m + i] += prev[i] * 0.5;
  }
  return c;
}

/** Exact p-value of r₊ (scipy `WilcoxonDistribution`, non-integral r₊ rounded conservatively). */
function exactPvalue(rPlus: number, count: number, alternative: Alternative): number {
  const pmf = signedRankDistribution(count);
  const mean = (count * (count + 1)) / 4;
  const sumRange = (from: number, to: number) => {
    let s = 0;
    for (let k = Math.max(0, from); k <= Math.min(pmf.length - 1, to); k++) s += pmf[k];
    return s;
  };
  const cdfRaw = (k: number) => sumRange(0, k);
  const sfRaw = (k: number) => sumRange(k, pmf.length - 1);
  const cdf = (k: number) => (k <= mean ? cdfRaw(k) : 1 - sfRaw(k + 1));
  const sf = (k: number) => (k <= mean ? sfRaw(k) : 1 - cdfRaw(k - 1));
  let p: number;
  if (alternative === 'less') p = cdf(Math.ceil(rPlus));
  else if (alternative === 'greater') p = sf(Math.floor(rPlus));
  else p = Math.min(1, Math.max(0, 2 * Math.min(sf(Math.floor(rPlus)), cdf(Math.ceil(rPlus)))));
  return p;
}

/**
 * Exact permutation p-value over all 2ⁿ sign flips of d (scipy `permutation_test(..., permutation_type='samples')`
 * with every resample enumerated: no +1 adjustment, a relative tolerance of 100 ε on the observed value).
 */
function permutationPvalue(d: Float64Array, zeroMethod: ZeroMethod, observed: number, alternative: Alternative): number {
  const n = d.length;
  const total = 2 ** n;
  const gamma = Math.abs(Number.EPSILON * 100 * observed);
  let less = 0;
  let greater = 0;
  const flipped = new Float64Array(n);
  for (let mask = 0; mask < total; mask++) {
    for (let i = 0; i < n; i++) flipped[i] = mask & (1 << i) ? -d[i] : d[i];
    const r = signedRankStatistic(flipped, zeroMethod).rPlus;
    if (r <= observed + gamma) less++;
    if (r >= observed - gamma) greater++;
  }
  const pl = less / total;
  const pg = greater / total;
  const p = alternative === 'less' ? pl : alternative === 'greater' ? pg : 2 * Math.min(pl, pg);
  return Math.min(1, Math.max(0, p));
}

/**
 * The Wilcoxon signed-rank test of `x` against `y` (paired: d = x − y), or of `x` alone when `y` is omitted.
 * Matches `scipy.stats.wilcoxon(x, y, zero_method, correction, alternative, method)` (scipy 1.17), with the
 * same defaults: `wilcox`, no continuity correction, two-sided, `auto`.
 * @throws Error when x and y differ in length.
 */
export function wilcoxon(x: readonly number[], y?: readonly number[], opts: WilcoxonOptions = {}): WilcoxonResult {
  const zeroMethod = opts.zeroMethod ?? 'wilcox';
  const alternative = opts.alternative ?? 'two-sided';
  const correction = opts.correction ?? false;
  if (y && y.length !== x.length) throw new Error(`wilcoxon: x and y must have the same length (${x.length} vs ${y.length})`);
  const d = Float64Array.from(x, (v, i) => (y ? v - y[i] : v));
  const n = d.length;
  const zeros = d.filter((v) => v === 0).length;
  if (n === 0) return { statistic: Number.NaN, pvalue: Number.NaN, method: 'asymptotic', z: null, rPlus: Number.NaN, rMinus: Number.NaN, n, zeros, ties: false };
  let method: WilcoxonResult['method'] | 'auto' = opts.method ?? 'auto';
  if (method === 'auto' && n > 50) method = 'asymptotic';
  const st = signedRankStatistic(d, zeroMethod);
  if (method === 'auto') method = !(st.ties || zeros > 0) ? 'exact' : n <= 13 ? 'permutation' : 'asymptotic';
  let pvalue: number;
  let z: number | null = null;
  if (method === 'asymptotic') {
    z = st.z;
    if (correction) {
      const sign = alternative === 'greater' ? 1 : alternative === 'less' ? -1 : Math.sign(z);
      z -= (sign * 0.5) / st.se;
    }
    pvalue = alternative === 'less' ? ndtr(z) : alternative === 'greater' ? normalSf(z) : 2 * normalSf(Math.abs(z));
    if (alternative === 'two-sided') z = -Math.abs(z);
  } else if (method === 'exact') {
    pvalue = exactPvalue(st.rPlus, st.count, alternative);
  } else {
    pvalue = permutationPvalue(d, zeroMethod, st.rPlus, alternative);
  }
  const statistic = alternative === 'two-sided' ? Math.min(st.rPlus, st.rMinus) : st.rPlus;
  return { statistic, pvalue, method, z, rPlus: st.rPlus, rMinus: st.rMinus, n, zeros, ties: st.ties };
}
