/**
 * @file Dense float64 linear algebra for the distribution metrics (FID, KID), and the small eigenproblems of
 * SSIM, NIQE and the degradation filters. Runtime-neutral, no dependencies.
 *
 * Matrices are row-major `Float64Array`s of `n * n` (or `rows * cols`) entries. Contents:
 * - `symmetricEigenvalues` / `symmetricEigen`: Householder tridiagonalisation (lower triangle only, cache-friendly
 *   rows) followed by the implicit QL algorithm with Wilkinson-style shifts (the EISPACK tred2/tql2 scheme,
 *   written from scratch for row-major storage). Values are returned ascending.
 * - `pivotedCholesky`: a rank-revealing factor Σ = L Lᵀ of a symmetric positive semidefinite matrix
 *   (left-looking, diagonal pivoting, stops at the numerical rank). Used by the Fréchet distance so that a
 *   rank-deficient covariance (n < d samples) costs O(d·r²) instead of a full eigendecomposition.
 * - `symmetricEigenJacobi`: cyclic Jacobi rotations for the small windows and kernels of SSIM, NIQE and the
 *   degradation filters (n ≤ ~50), eigenvectors accurate to a few ulps.
 * - small helpers: `dot`, `matVec`, `symmetrise`.
 *
 * Costs for n = 2048 (see bench/metrics-fid.ts for measured times): eigenvalues only ≈ (2/3)n³ multiply-adds;
 * with eigenvectors ≈ 4n³ (several times slower: prefer the value-only path for large n).
 */

/** Dot product of `len` entries of `a` (from `ao`) and `b` (from `bo`); four accumulators for throughput. */
export function dot(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    s0 += a[ao + i] * b[bo + i];
    s1 += a[ao + i + 1] * b[bo + i + 1];
    s2 += a[ao + i + 2] * b[bo + i + 2];
    s3 += a[ao + i + 3] * b[bo + i + 3];
  }
  for (; i < len; i++) s0 += a[ao + i] * b[bo + i];
  return s0 + s1 + s2 + s3;
}

/** Returns (A + Aᵀ)/2 for a square row-major matrix (a new array). */
export function symmetrise(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = 0.5 * (a[i * n + j] + a[j * n + i]);
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}

/** y = A x for a row-major `rows × cols` matrix. */
export function matVec(a: Float64Array, rows: number, cols: number, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) y[i] = dot(a, i * cols, x, 0, cols);
  return y;
}

function assertSquare(a: Float64Array, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n) {
    throw new Error(`${what}: expected a ${n}×${n} matrix (${n * n} entries), got ${a.length} entries`);
  }
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new Error(`${what}: non-finite entry ${a[i]} at row ${Math.floor(i / n)}, column ${i % n}`);
  }
}

/**
 * Householder reduction of a symmetric matrix to tridiagonal form T = Qᵀ A Q. Only the lower triangle of
 * `a` is read. Returns the diagonal `d`, the off-diagonal `e` (`e[i]` couples i and i+1; `e[n-1] = 0`) and,
 * when `wantQ`, Qᵀ as a row-major n×n matrix.
 */
function tridiagonalise(a: Float64Array, n: number, wantQ: boolean): { d: Float64Array; e: Float64Array; qt?: Float64Array } {
  const w = new Float64Array(a); // working copy; only the lower triangle is kept up to date
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const vs: Float64Array[] = [];
  const betas: number[] = [];
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    const m = n - k - 1;
    const off = k + 1; // trailing block B = w[off.., off..]
    // x = column k below the diagonal.
    const v = new Float64Array(m);
    let sigma2 = 0;
    for (let i = 0; i < m; i++) {
      const x = w[(off + i) * n + k];
      v[i] = x;
      sigma2 += x * x;
    }
    d[k] = w[k * n + k];
    const sigma = Math.sqrt(sigma2);
    // The tail below the first entry is already zero: H = I (β = 0), e[k] = x0.
    const tail = sigma2 - v[0] * v[0];
    if (sigma === 0 || tail <= 0) {
      e[k] = v[0];
      vs.push(v);
      betas.push(0);
      continue;
    }
    const x0 = v[0];
    const alpha = x0 >= 0 ? -sigma : sigma;
    v[0] = x0 - alpha;
    // vᵀv = 2σ(σ + |x0|), so β = 2 / vᵀv without cancellation.
    const beta = 1 / (sigma * (sigma + Math.abs(x0)));
    e[k] = alpha;
    // p = β B v using the lower triangle: each stored entry contributes to two outputs.
    p.fill(0, 0, m);
    for (let i = 0; i < m; i++) {
      const row = (off + i) * n + off;
      const vi = v[i];
      let s = 0;
      for (let j = 0; j < i; j++) {
        const bij = w[row + j];
        s += bij * v[j];
        p[j] += bij * vi;
      }
      p[i] += s + w[row + i] * vi;
    }
    let pv = 0;
    for (let i = 0; i < m; i++) {
      p[i] *= beta;
      pv += p[i] * v[i];
    }
    const kk = 0.5 * beta * pv;
    for (let i = 0; i < m; i++) p[i] -= kk * v[i]; // p is now w = p − K v
    // B ← B − v wᵀ − w vᵀ on the lower triangle.
    for (let i = 0; i < m; i++) {
      const row = (off + i) * n + off;
      const vi = v[i];
      const wi = p[i];
      for (let j = 0; j <= i; j++) w[row + j] -= vi * p[j] + wi * v[j];
    }
    vs.push(v);
    betas.push(beta);
  }
  if (n >= 2) {
    d[n - 2] = w[(n - 2) * n + (n - 2)];
    e[n - 2] = w[(n - 1) * n + (n - 2)];
  }
  d[n - 1] = w[(n - 1) * n + (n - 1)];
  e[n - 1] = 0;
  if (!wantQ) return { d, e };
  // Qᵀ = H_{n-3} … H_1 H_0: apply H_k from the left in order; H_k touches rows k+1.. only.
  const qt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) qt[i * n + i] = 1;
  const acc = new Float64Array(n);
  for (let k = 0; k < vs.length; k++) {
    const beta = betas[k];
    if (beta === 0) continue;
    const v = vs[k];
    const off = k + 1;
    acc.fill(0);
    for (let i = 0; i < v.length; i++) {
      const vi = v[i];
      if (vi === 0) continue;
      const row = (off + i) * n;
      for (let j = 0; j < n; j++) acc[j] += vi * qt[row + j];
    }
    for (let i = 0; i < v.length; i++) {
      const f = beta * v[i];
      if (f === 0) continue;
      const row = (off + i) * n;
      for (let j = 0; j < n; j++) qt[row + j] -= f * acc[j];
    }
  }
  return { d, e, qt };
}

/**
 * Implicit QL iterations on a symmetric tridiagonal matrix (in place). When `zt` is given, its rows are
 * rotated along (rows = vectors), so starting from Qᵀ they end as the eigenvectors.
 * @throws Error if an eigenvalue does not converge in 60 iterations (does not happen for finite input).
 */
function tridiagonalQl(d: Float64Array, e: Float64Array, n: number, zt?: Float64Array): void {
  // NOTE: a split test relative to the whole matrix (EISPACK tql2's tst1), not to |d[m]| + |d[m+1]| alone:
  // blocks of (numerically) zero eigenvalues, as in rank-deficient covariances, never meet a purely local
  // relative test. Eigenvalues are then accurate to ε·‖T‖, as with LAPACK.
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]) + Math.abs(e[i]) + (i > 0 ? Math.abs(e[i - 1]) : 0));
  const small = Number.EPSILON * norm;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        if (Math.abs(e[m]) <= small) break;
      }
      if (m === l) break;
      if (iter++ === 60) throw new Error(`symmetric eigen-decomposition: no convergence for eigenvalue ${l}`);
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let early = false;
      for (; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= p;
          e[m] = 0;
          early = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        if (zt) {
          const ri = i * n;
          const rj = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const zf = zt[rj + k];
            const zi = zt[ri + k];
            zt[rj + k] = s * zi + c * zf;
            zt[ri + k] = c * zi - s * zf;
          }
        }
      }
      if (early) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
}

/**
 * Eigenvalues of a symmetric matrix (only the lower triangle is read), ascending, float64.
 * @param a row-major n×n
 * @throws Error naming the first non-finite entry, or on a size mismatch.
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  assertSquare(a, n, 'symmetricEigenvalues');
  const { d, e } = tridiagonalise(a, n, false);
  tridiagonalQl(d, e, n);
  return d.sort();
}

/**
 * Eigen-decomposition A = V diag(values) Vᵀ of a symmetric matrix (lower triangle read), values ascending.
 * @returns `vectors` row-major n×n whose ROW i is the unit eigenvector of `values[i]`.
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  assertSquare(a, n, 'symmetricEigen');
  const { d, e, qt } = tridiagonalise(a, n, true);
  tridiagonalQl(d, e, n, qt);
  const order = Array.from(d.keys()).sort((x, y) => d[x] - d[y]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = d[src];
    vectors.set(qt!.subarray(src * n, src * n + n), dst * n);
  });
  return { values, vectors };
}

/** Result of `pivotedCholesky`: Σ ≈ L Lᵀ with L = `cols` (rank × n, row t = column t of L). */
export interface PivotedCholesky {
  readonly rank: number;
  /** Pivot order: `perm[t]` is the original index chosen at step t (length n). */
  readonly perm: Int32Array;
  /**
   * Columns of L in pivot order, row-major `rank × n`, entries indexed by PERMUTED position: `cols[t*n + s]`
   * is L[perm[s]][t], zero for s < t (lower-trapezoidal in pivot order).
   */
  readonly cols: Float64Array;
}

/**
 * Rank-revealing Cholesky of a symmetric positive semidefinite matrix: Σ = L Lᵀ (up to the dropped Schur
 * complement whose diagonal is ≤ `tol`). Lower triangle read. Left-looking, O(n·r²).
 * @param tol pivots ≤ tol stop the factorisation; default n·ε·max(diag) (Higham's bound for PSD matrices).
 */
export function pivotedCholesky(a: Float64Array, n: number, tol?: number): PivotedCholesky {
  assertSquare(a, n, 'pivotedCholesky');
  const diag = new Float64Array(n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    diag[i] = a[i * n + i];
    maxDiag = Math.max(maxDiag, diag[i]);
  }
  const stop = tol ?? n * Number.EPSILON * maxDiag;
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  // rows[i] holds row perm-position i of L (length n, only the first `rank` entries used): contiguous dots.
  const rows = new Float64Array(n * n);
  let rank = 0;
  for (let t = 0; t < n; t++) {
    let q = t;
    for (let s = t + 1; s < n; s++) if (diag[perm[s]] > diag[perm[q]]) q = s;
    const piv = diag[perm[q]];
    if (!(piv > stop)) break;
    if (q !== t) {
      const tmp = perm[t];
      perm[t] = perm[q];
      perm[q] = tmp;
      // swap the L rows held at positions t and q
      for (let k = 0; k < t; k++) {
        const x = rows[t * n + k];
        rows[t * n + k] = rows[q * n + k];
        rows[q * n + k] = x;
      }
    }
    const ljj = Math.sqrt(piv);
    rows[t * n + t] = ljj;
    const pt = perm[t];
    for (let s = t + 1; s < n; s++) {
      const ps = perm[s];
      const aij = ps > pt ? a[ps * n + pt] : a[pt * n + ps];
      const lij = (aij - dot(rows, s * n, rows, t * n, t)) / ljj;
      rows[s * n + t] = lij;
      diag[ps] -= lij * lij;
    }
    diag[pt] = 0;
    rank = t + 1;
  }
  const cols = new Float64Array(rank * n);
  for (let s = 0; s < n; s++) {
    const lim = Math.min(s + 1, rank);
    for (let t = 0; t < lim; t++) cols[t * n + s] = rows[s * n + t];
  }
  return { rank, perm, cols };
}

/** Stopping rules of `symmetricEigenJacobi` (the defaults are SSIM's and NIQE's; filter2d.ts passes its own). */
export interface JacobiOptions {
  /** Most sweeps (default 100). */
  readonly maxSweeps?: number;
  /** Stops once Σ_{p<q} a_pq² ≤ offTolerance · Σ_p a_pp² (default 1e-32). */
  readonly offTolerance?: number;
  /** Rotations skip entries with |a_pq| below this (default Number.MIN_VALUE: only exact zeros). */
  readonly minPivot?: number;
}

/**
 * Eigendecomposition of a symmetric n×n matrix by cyclic Jacobi rotations (accurate to a few ulps, fine for
 * n ≤ ~50; for large n use `symmetricEigen`). `a` is not modified.
 * NOTE: the stopping rules are options, not one choice, because the callers' outputs are pinned bit for bit by
 * their goldens: SSIM/NIQE windows use the defaults, the degradation kernels' low-rank split (filter2d.ts) 30
 * sweeps, 1e-30 and 1e-300. The rotations themselves are the same for all.
 * @returns eigenvalues (unsorted) and row-major `vectors` whose ROW k is the unit eigenvector of `values[k]`
 */
export function symmetricEigenJacobi(a: Float64Array, n: number, opts: JacobiOptions = {}): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== n * n) throw new Error(`symmetricEigenJacobi: expected ${n}×${n} entries, got ${a.length}`);
  const { maxSweeps = 100, offTolerance = 1e-32, minPivot = Number.MIN_VALUE } = opts;
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < n; p++) {
      diag += m[p * n + p] * m[p * n + p];
      for (let q = p + 1; q < n; q++) off += m[p * n + q] * m[p * n + q];
    }
    if (off <= offTolerance * diag || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (Math.abs(apq) < minPivot) continue;
        const app = m[p * n + p];
        const aqq = m[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // columns p, q of m
          const mkp = m[k * n + p];
          const mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          // rows p, q of m
          const mpk = m[p * n + k];
          const mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          // eigenvectors are the rows of v
          const vpk = v[p * n + k];
          const vqk = v[q * n + k];
          v[p * n + k] = c * vpk - s * vqk;
          v[q * n + k] = s * vpk + c * vqk;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = m[i * n + i];
  return { values, vectors: v };
}
