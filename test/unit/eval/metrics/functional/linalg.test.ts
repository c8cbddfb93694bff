import { describe, expect, it } from 'vitest';
import { pivotedCholesky, symmetricEigen, symmetricEigenvalues } from '../../../../../src/lib/eval/metrics/functional/linalg.ts';
import { mulberry32 } from '../../../../../src/lib/eval/metrics/functional/kernel-distance.ts';

/** Random symmetric n×n with entries in [-1, 1). */
function randomSymmetric(n: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = 2 * r() - 1;
  return a;
}

/** X Xᵀ for a random n×k X: PSD of rank min(n, k). */
function randomPsd(n: number, k: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  const x = Float64Array.from({ length: n * k }, () => r() - 0.5);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let s = 0; for (let t = 0; t < k; t++) s += x[i * k + t] * x[j * k + t]; a[i * n + j] = s; }
  return a;
}

describe('symmetricEigen', () => {
  it('reconstructs A = Vᵀ diag(λ) V with orthonormal V (n = 1..40)', () => {
    for (const n of [1, 2, 3, 7, 40]) {
      const a = randomSymmetric(n, n);
      const { values, vectors } = symmetricEigen(a, n);
      let maxErr = 0;
      let maxOrth = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          let o = 0;
          for (let k = 0; k < n; k++) {
            s += vectors[k * n + i] * values[k] * vectors[k * n + j];
            o += vectors[i * n + k] * vectors[j * n + k];
          }
          maxErr = Math.max(maxErr, Math.abs(s - a[i * n + j]));
          maxOrth = Math.max(maxOrth, Math.abs(o - (i === j ? 1 : 0)));
        }
      }
      expect(maxErr).toBeLessThan(1e-12 * n);
      expect(maxOrth).toBeLessThan(1e-12 * n);
      for (let i = 1; i < n; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
    }
  });

  it('matches the analytic spectrum of the 1-D Laplacian tridiag(-1, 2, -1)', () => {
    const n = 64;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      a[i * n + i] = 2;
      if (i > 0) a[i * n + i - 1] = a[(i - 1) * n + i] = -1;
    }
    const got = symmetricEigenvalues(a, n);
    const want = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1))).sort((x, y) => x - y);
    for (let i = 0; i < n; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-13);
  });

  it('values-only and full decomposition agree; trace and Frobenius norm are preserved', () => {
    const n = 120;
    const a = randomSymmetric(n, 7);
    const v1 = symmetricEigenvalues(a, n);
    const v2 = symmetricEigen(a, n).values;
    let tr = 0;
    let fro = 0;
    let lsum = 0;
    let l2 = 0;
    for (let i = 0; i < n; i++) {
      expect(Math.abs(v1[i] - v2[i])).toBeLessThan(1e-12);
      tr += a[i * n + i];
      lsum += v1[i];
      l2 += v1[i] * v1[i];
    }
    for (const x of a) fro += x * x;
    expect(Math.abs(tr - lsum)).toBeLessThan(1e-11);
    expect(Math.abs(fro - l2) / fro).toBeLessThan(1e-13);
  });

  it('handles already-diagonal and rank-deficient matrices', () => {
    const d = new Float64Array([3, 0, 0, 0, 1, 0, 0, 0, 2]);
    expect(Array.from(symmetricEigenvalues(d, 3))).toEqual([1, 2, 3]);
    const psd = randomPsd(30, 5, 3);
    const vals = symmetricEigenvalues(psd, 30);
    const tiny = vals.filter((v) => Math.abs(v) < 1e-12).length;
    expect(tiny).toBe(25);
  });

  it('rejects non-finite entries and wrong sizes, naming the entry', () => {
    const a = new Float64Array(4);
    a[3] = Number.NaN;
    expect(() => symmetricEigenvalues(a, 2)).toThrow(/row 1, column 1/);
    expect(() => symmetricEigenvalues(new Float64Array(5), 2)).toThrow(/2×2/);
  });
});

describe('pivotedCholesky', () => {
  it('reveals the rank of X Xᵀ and reconstructs it', () => {
    const n = 50;
    const k = 12;
    const a = randomPsd(n, k, 11);
    const { rank, perm, cols } = pivotedCholesky(a, n);
    expect(rank).toBe(k);
    let maxErr = 0;
    for (let s = 0; s < n; s++) {
      for (let u = 0; u < n; u++) {
        let v = 0;
        for (let t = 0; t < rank; t++) v += cols[t * n + s] * cols[t * n + u];
        maxErr = Math.max(maxErr, Math.abs(v - a[perm[s] * n + perm[u]]));
      }
    }
    expect(maxErr).toBeLessThan(1e-12);
  });
  it('is a full-rank factor for a positive definite matrix', () => {
    const n = 20;
    const a = randomPsd(n, 40, 5);
    expect(pivotedCholesky(a, n).rank).toBe(n);
  });
});
