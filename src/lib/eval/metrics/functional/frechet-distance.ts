/**
 * @file Fréchet distance between two Gaussians (the FID formula) and the streaming, mergeable float64 feature
 * moments it is computed from. Runtime-neutral.
 *
 * Notation (Heusel et al. 2017; clean-fid `fid.py` `frechet_distance`):
 *   d² = ‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr √(Σ₁ Σ₂)
 *
 * NOTE: clean-fid / pytorch-fid / pyiqa take `scipy.linalg.sqrtm(Σ₁Σ₂)` (a general, non-symmetric square root
 * that turns complex or non-finite for rank-deficient Σ, i.e. fewer samples than dimensions). We use the
 * equivalent symmetric form: for any factor Σ₁ = L Lᵀ, Σ₁Σ₂ is similar to Lᵀ Σ₂ L (symmetric PSD), so
 * Tr √(Σ₁Σ₂) = Σᵢ √max(λᵢ(Lᵀ Σ₂ L), 0). With L = Σ₁^½ from an eigen-decomposition this is the textbook
 * "A Σ₂ A" form (`traceSqrtProductEigen`, kept for cross-checks); the default takes L from a rank-revealing
 * pivoted Cholesky, which gives the same eigenvalues and costs O(d·r²) for rank r, so 857 samples at d = 2048
 * reduce to an 856×856 eigenvalue problem. Everything is float64.
 */
import { dot, pivotedCholesky, symmetricEigen, symmetricEigenvalues } from './linalg.ts';

/** A Gaussian summary of a feature set: mean (d) and covariance (d×d row-major), float64. */
export interface GaussianStats {
  readonly dim: number;
  readonly mu: Float64Array;
  readonly sigma: Float64Array;
  /** Number of samples behind the statistics, when known (reference .npz files do not store it). */
  readonly n?: number;
}

function checkStats(s: GaussianStats, what: string): void {
  if (s.mu.length !== s.dim) throw new Error(`${what}: mu has ${s.mu.length} entries, expected ${s.dim}`);
  if (s.sigma.length !== s.dim * s.dim) throw new Error(`${what}: sigma has ${s.sigma.length} entries, expected ${s.dim}×${s.dim}`);
  for (let i = 0; i < s.mu.length; i++) if (!Number.isFinite(s.mu[i])) throw new Error(`${what}: mu[${i}] is ${s.mu[i]}`);
  for (let i = 0; i < s.sigma.length; i++) {
    if (!Number.isFinite(s.sigma[i])) throw new Error(`${what}: sigma[${Math.floor(i / s.dim)}][${i % s.dim}] is ${s.sigma[i]}`);
  }
}

/**
 * Tr √(Σ₁Σ₂) for symmetric PSD Σ₁, Σ₂ (d×d row-major; lower triangles read) via a pivoted Cholesky of Σ₁.
 * Cost: O(d·r² + d²·r + r³) for r = rank(Σ₁): pass the lower-rank covariance first.
 */
export function traceSqrtProduct(sigma1: Float64Array, sigma2: Float64Array, d: number): number {
  const { rank: r, perm, cols } = pivotedCholesky(sigma1, d);
  if (r === 0) return 0;
  // Σ₂ in pivot order (full symmetric, row-major).
  const s2 = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const pi = perm[i];
    for (let j = 0; j <= i; j++) {
      const pj = perm[j];
      const v = pi >= pj ? sigma2[pi * d + pj] : sigma2[pj * d + pi];
      s2[i * d + j] = v;
      s2[j * d + i] = v;
    }
  }
  // Wt = (Σ₂ L)ᵀ, r×d: Wt[j][i] = Σ_{s≥j} Σ₂[i][s] L[s][j] (L column j is zero above position j).
  const wt = new Float64Array(r * d);
  for (let j = 0; j < r; j++) {
    const cj = j * d;
    for (let i = 0; i < d; i++) wt[cj + i] = dot(s2, i * d + j, cols, cj + j, d - j);
  }
  // M = Lᵀ Σ₂ L, r×r symmetric: M[a][b] = Σ_{s≥a} L[s][a] Wt[b][s] (lower triangle).
  const m = new Float64Array(r * r);
  for (let a = 0; a < r; a++) {
    for (let b = 0; b <= a; b++) m[a * r + b] = dot(cols, a * d + a, wt, b * d + a, d - a);
  }
  // Only the lower triangle is formed: it defines the (symmetrised) matrix that is decomposed.
  const lambda = symmetricEigenvalues(m, r);
  let tr = 0;
  for (const l of lambda) tr += Math.sqrt(Math.max(l, 0));
  return tr;
}

/**
 * The textbook symmetric form: A = Σ₁^½ (eigen-decomposition, negative eigenvalues clamped), M = A Σ₂ A
 * symmetrised, Tr √(Σ₁Σ₂) = Σ √max(λ(M), 0). O(d³) with eigenvectors: for cross-checks and small d.
 */
export function traceSqrtProductEigen(sigma1: Float64Array, sigma2: Float64Array, d: number): number {
  const { values, vectors } = symmetricEigen(sigma1, d);
  // A = Vᵀ diag(√λ) V with V's rows the eigenvectors.
  const sv = new Float64Array(d * d); // rows scaled by √λ
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    for (let j = 0; j < d; j++) sv[k * d + j] = s * vectors[k * d + j];
  }
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += vectors[k * d + i] * sv[k * d + j];
      a[i * d + j] = s;
      a[j * d + i] = s;
    }
  }
  const full2 = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) full2[i * d + j] = full2[j * d + i] = sigma2[i * d + j];
  const t = new Float64Array(d * d); // A Σ₂
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) t[i * d + j] = dot(a, i * d, full2, j * d, d);
  const m = new Float64Array(d * d); // (A Σ₂) A, symmetrised
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m[i * d + j] = dot(t, i * d, a, j * d, d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      const v = 0.5 * (m[i * d + j] + m[j * d + i]);
      m[i * d + j] = v;
      m[j * d + i] = v;
    }
  }
  let tr = 0;
  for (const l of symmetricEigenvalues(m, d)) tr += Math.sqrt(Math.max(l, 0));
  return tr;
}

/** Options of `frechetDistance`. */
export interface FrechetOptions {
  /**
   * Which covariance to factor: the cost grows with its rank, so factor the one from fewer samples.
   * `auto` (default) picks the one with the smaller known `n` (unknown counts as infinite).
   */
  readonly factor?: 'first' | 'second' | 'auto';
}

/**
 * Fréchet distance d² between N(μ₁, Σ₁) and N(μ₂, Σ₂), float64.
 * @throws Error on mismatched dimensions or non-finite entries (naming which statistics).
 * @example frechetDistance(statsA, statsA) // → 0 (up to rounding, ~1e-10 relative to Tr Σ)
 */
export function frechetDistance(a: GaussianStats, b: GaussianStats, opts: FrechetOptions = {}): number {
  checkStats(a, 'frechetDistance: first statistics');
  checkStats(b, 'frechetDistance: second statistics');
  if (a.dim !== b.dim) throw new Error(`frechetDistance: dimensions differ (${a.dim} vs ${b.dim})`);
  const d = a.dim;
  let diff2 = 0;
  let tr1 = 0;
  let tr2 = 0;
  for (let i = 0; i < d; i++) {
    const df = a.mu[i] - b.mu[i];
    diff2 += df * df;
    tr1 += a.sigma[i * d + i];
    tr2 += b.sigma[i * d + i];
  }
  const factor = opts.factor ?? 'auto';
  const firstSmaller = factor === 'first' || (factor === 'auto' && (a.n ?? Infinity) <= (b.n ?? Infinity));
  const trSqrt = firstSmaller ? traceSqrtProduct(a.sigma, b.sigma, d) : traceSqrtProduct(b.sigma, a.sigma, d);
  return diff2 + tr1 + tr2 - 2 * trSqrt;
}

/**
 * Streaming float64 sufficient statistics of a feature set (torchmetrics FID state): Σx, Σxxᵀ (lower
 * triangle only) and n. Merging two shards adds them.
 */
export interface FeatureMoments {
  readonly dim: number;
  n: number;
  readonly sum: Float64Array;
  /** Σ x xᵀ, row-major d×d, lower triangle maintained (upper left at 0 until `gaussianFromMoments`). */
  readonly outer: Float64Array;
}

/** Empty moments for `dim`-dimensional features. */
export function initMoments(dim: number): FeatureMoments {
  return { dim, n: 0, sum: new Float64Array(dim), outer: new Float64Array(dim * dim) };
}

/**
 * Adds `count` feature rows (row-major `count × dim`) to `m` in place.
 * @throws Error naming the row and column of the first non-finite feature.
 */
export function updateMoments(m: FeatureMoments, feats: Float32Array | Float64Array, count: number, what = 'features'): FeatureMoments {
  const d = m.dim;
  if (feats.length !== count * d) throw new Error(`${what}: expected ${count}×${d} values, got ${feats.length}`);
  const x = new Float64Array(d);
  for (let r = 0; r < count; r++) {
    for (let j = 0; j < d; j++) {
      const v = feats[r * d + j];
      if (!Number.isFinite(v)) throw new Error(`${what}: non-finite value ${v} in row ${r}, column ${j}`);
      x[j] = v;
      m.sum[j] += v;
    }
    for (let i = 0; i < d; i++) {
      const xi = x[i];
      if (xi === 0) continue; // ReLU features are often exactly 0
      const row = i * d;
      for (let j = 0; j <= i; j++) m.outer[row + j] += xi * x[j];
    }
  }
  m.n += count;
  return m;
}

/** Sum of two moment sets (shards); inputs are left unchanged. */
export function mergeMoments(a: FeatureMoments, b: FeatureMoments): FeatureMoments {
  if (a.dim !== b.dim) throw new Error(`mergeMoments: dimensions differ (${a.dim} vs ${b.dim})`);
  const out = initMoments(a.dim);
  out.n = a.n + b.n;
  for (let i = 0; i < a.sum.length; i++) out.sum[i] = a.sum[i] + b.sum[i];
  for (let i = 0; i < a.outer.length; i++) out.outer[i] = a.outer[i] + b.outer[i];
  return out;
}

/**
 * μ and the unbiased covariance Σ = (Σxxᵀ − n μ μᵀ)/(n − 1) (as `np.cov(feats, rowvar=False)`).
 * @throws Error for fewer than 2 samples.
 */
export function gaussianFromMoments(m: FeatureMoments, what = 'features'): GaussianStats {
  if (m.n < 2) throw new Error(`${what}: need at least 2 images for a covariance, got ${m.n}`);
  const d = m.dim;
  const mu = new Float64Array(d);
  for (let i = 0; i < d; i++) mu[i] = m.sum[i] / m.n;
  const sigma = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const v = (m.outer[i * d + j] - m.n * mu[i] * mu[j]) / (m.n - 1);
      sigma[i * d + j] = v;
      sigma[j * d + i] = v;
    }
  }
  return { dim: d, mu, sigma, n: m.n };
}
