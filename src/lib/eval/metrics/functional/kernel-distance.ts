/**
 * @file Kernel Inception Distance (KID): the unbiased MMD² with the cubic polynomial kernel, averaged over random
 * subsets, exactly as clean-fid `kernel_distance` (pyiqa `mmd_polynomial_kernel`) defines it. Runtime-neutral.
 *
 * Notation (Bińkowski et al. 2018; clean-fid `fid.py`):
 *   k(x, y) = (xᵀy / d + 1)³,  m = min(n₁, n₂, maxSubsetSize)
 *   per subset s (x ⊂ feats2, y ⊂ feats1, m rows each, without replacement):
 *     t_s = (ΣK_xx + ΣK_yy − tr K_xx − tr K_yy)/(m − 1) − 2 ΣK_xy / m
 *   KID = Σ_s t_s / (numSubsets · m)   (raw; papers often print ×10³)
 *
 * NOTE: clean-fid draws subsets with the unseeded global `np.random`, so its KID is not reproducible. We draw
 * them with a seeded generator (`seed` is returned and must be recorded), or take explicit `subsets`
 * (used by the parity test to feed both implementations the same indices).
 */
import { mulberry32 } from '../../stats/rng.ts';
import { dot } from './linalg.ts';

/** A feature matrix: `n` rows of `dim` values, row-major. */
export interface FeatureMatrix {
  readonly n: number;
  readonly dim: number;
  readonly data: Float32Array | Float64Array;
}

export interface KidOptions {
  /** Default 100 (clean-fid). */
  readonly numSubsets?: number;
  /** Default 1000 (clean-fid). */
  readonly maxSubsetSize?: number;
  /** Seed of the subset sampler (default 0); ignored when `subsets` is given. */
  readonly seed?: number;
  /** Explicit subsets: `x[s]` indexes rows of feats2, `y[s]` rows of feats1 (clean-fid's order). */
  readonly subsets?: { readonly x: readonly ArrayLike<number>[]; readonly y: readonly ArrayLike<number>[] };
}

export interface KidResult {
  /** KID (mean over subsets of the unbiased MMD²). */
  readonly value: number;
  /** Standard deviation of the per-subset MMD² values (torch-fidelity reports it; clean-fid does not). */
  readonly std: number;
  readonly subsetSize: number;
  readonly numSubsets: number;
  /** The sampler seed, or null when explicit subsets were given. */
  readonly seed: number | null;
}

export { mulberry32 };

/** `m` distinct indices from [0, n) (partial Fisher–Yates), in draw order. */
export function sampleWithoutReplacement(n: number, m: number, rand: () => number): Int32Array {
  if (m > n) throw new Error(`cannot draw ${m} distinct indices from ${n}`);
  const pool = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  return pool.slice(0, m);
}

/** Gram matrices are cached per feature set when this small (n² entries); beyond, kernels are computed per subset. */
const GRAM_CACHE_MAX_ROWS = 6000;

function gram(a: FeatureMatrix, b: FeatureMatrix, symmetric: boolean): Float64Array {
  const d = a.dim;
  const g = new Float64Array(a.n * b.n);
  for (let i = 0; i < a.n; i++) {
    const lim = symmetric ? i + 1 : b.n;
    for (let j = 0; j < lim; j++) {
      const v = dot(a.data, i * d, b.data, j * d, d);
      g[i * b.n + j] = v;
      if (symmetric) g[j * b.n + i] = v;
    }
  }
  return g;
}

/** Σ_{i,j} k(a_i, b_j) over the index sets (and its diagonal when `ia === ib` semantics apply). */
function kernelSum(
  a: FeatureMatrix,
  ia: ArrayLike<number>,
  b: FeatureMatrix,
  ib: ArrayLike<number>,
  g: Float64Array | null,
  sameSet: boolean,
): { sum: number; diag: number } {
  const d = a.dim;
  let sum = 0;
  let diag = 0;
  for (let p = 0; p < ia.length; p++) {
    const i = ia[p];
    const lim = sameSet ? p + 1 : ib.length;
    for (let q = 0; q < lim; q++) {
      const j = ib[q];
      const xy = g ? g[i * b.n + j] : dot(a.data, i * d, b.data, j * d, d);
      const base = xy / d + 1;
      const k = base * base * base;
      if (sameSet && q === p) diag += k;
      else sum += sameSet ? 2 * k : k;
    }
  }
  return { sum: sum + diag, diag };
}

/**
 * KID between two feature sets, clean-fid definition.
 * @throws Error if dims differ, a set has fewer than 2 rows, or explicit subsets are malformed.
 */
export function kernelDistance(feats1: FeatureMatrix, feats2: FeatureMatrix, opts: KidOptions = {}): KidResult {
  if (feats1.dim !== feats2.dim) throw new Error(`kernelDistance: feature dimensions differ (${feats1.dim} vs ${feats2.dim})`);
  for (const [f, what] of [[feats1, 'first'], [feats2, 'second']] as const) {
    if (f.data.length !== f.n * f.dim) throw new Error(`kernelDistance: ${what} set has ${f.data.length} values, expected ${f.n}×${f.dim}`);
    if (f.n < 2) throw new Error(`kernelDistance: the ${what} set needs at least 2 feature vectors, got ${f.n}`);
  }
  const numSubsets = opts.subsets ? opts.subsets.x.length : (opts.numSubsets ?? 100);
  const m = opts.subsets ? opts.subsets.x[0]?.length ?? 0 : Math.min(feats1.n, feats2.n, opts.maxSubsetSize ?? 1000);
  if (opts.subsets) {
    const { x, y } = opts.subsets;
    if (y.length !== numSubsets || numSubsets === 0) throw new Error(`kernelDistance: subsets.x and subsets.y must be non-empty and equally long`);
    for (let s = 0; s < numSubsets; s++) {
      if (x[s].length !== m || y[s].length !== m) throw new Error(`kernelDistance: subset ${s} has sizes ${x[s].length}/${y[s].length}, expected ${m}`);
      for (const [idx, n, name] of [[x[s], feats2.n, 'x'], [y[s], feats1.n, 'y']] as const) {
        for (let k = 0; k < idx.length; k++) {
          if (!(idx[k] >= 0 && idx[k] < n)) throw new Error(`kernelDistance: subsets.${name}[${s}][${k}] = ${idx[k]} is out of range [0, ${n})`);
        }
      }
    }
  }
  if (m < 2) throw new Error(`kernelDistance: subset size ${m} < 2`);
  const seed = opts.subsets ? null : (opts.seed ?? 0);
  const rand = mulberry32(seed ?? 0);
  const g11 = feats1.n <= GRAM_CACHE_MAX_ROWS ? gram(feats1, feats1, true) : null;
  const g22 = feats2.n <= GRAM_CACHE_MAX_ROWS ? gram(feats2, feats2, true) : null;
  const g21 = feats1.n <= GRAM_CACHE_MAX_ROWS && feats2.n <= GRAM_CACHE_MAX_ROWS ? gram(feats2, feats1, false) : null;
  const ts: number[] = [];
  for (let s = 0; s < numSubsets; s++) {
    // clean-fid draws x from feats2 first, then y from feats1.
    const x = opts.subsets ? opts.subsets.x[s] : sampleWithoutReplacement(feats2.n, m, rand);
    const y = opts.subsets ? opts.subsets.y[s] : sampleWithoutReplacement(feats1.n, m, rand);
    const kxx = kernelSum(feats2, x, feats2, x, g22, true);
    const kyy = kernelSum(feats1, y, feats1, y, g11, true);
    const kxy = kernelSum(feats2, x, feats1, y, g21, false);
    ts.push((kxx.sum - kxx.diag + kyy.sum - kyy.diag) / (m - 1) - (2 * kxy.sum) / m);
  }
  let total = 0;
  for (const t of ts) total += t;
  const value = total / numSubsets / m;
  let v = 0;
  for (const t of ts) v += (t / m - value) ** 2;
  return { value, std: Math.sqrt(v / numSubsets), subsetSize: m, numSubsets, seed };
}
