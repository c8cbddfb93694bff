/**
 * @file Gaussian blur kernels as in BasicSR `degradations.py` (`mesh_grid`, `sigma_matrix2`, `pdf2`,
 * `bivariate_Gaussian`), used by GFPGAN and ReF-LDM (`ldm/data/ir.py`). Runtime-neutral.
 *
 * Notation: grid point p = (x, y) with x the column offset and y the row offset, both in
 * [−⌊K/2⌋, ⌊K/2⌋]; Σ = R diag(σx², σy²) Rᵀ with R the rotation by θ; k(p) ∝ exp(−½ pᵀ Σ⁻¹ p), normalised to
 * sum 1. Isotropic kernels use Σ = σx² I (σy and θ ignored).
 */

/** A square, odd-sized, row-major kernel (`data[row * size + col]`), anchored at its centre. */
export interface Kernel {
  readonly size: number;
  readonly data: Float64Array;
}

/** BasicSR's smallest sigma is > 0; a sigma of exactly 0 makes Σ singular (numpy raises LinAlgError). */
const MIN_SIGMA = 1e-6;

/**
 * `bivariate_Gaussian(kernel_size, sig_x, sig_y, theta, isotropic)`.
 * NOTE: σ is clamped to ≥ 1e-6 (a delta kernel) where BasicSR would raise on σ = 0 exactly.
 * @param size odd kernel size (41 in ReF-LDM)
 * @param theta rotation in radians
 */
export function bivariateGaussian(size: number, sigmaX: number, sigmaY: number, theta: number, isotropic: boolean): Kernel {
  if (!Number.isInteger(size) || size < 1 || size % 2 !== 1) throw new Error(`kernel size must be a positive odd integer, got ${size}`);
  const sx = Math.max(sigmaX, MIN_SIGMA);
  const sy = isotropic ? sx : Math.max(sigmaY, MIN_SIGMA);
  let s00: number;
  let s01: number;
  let s11: number;
  if (isotropic) {
    s00 = sx * sx;
    s01 = 0;
    s11 = sx * sx;
  } else {
    // Σ = U D Uᵀ with U = [[cos, −sin], [sin, cos]] (sigma_matrix2).
    const c = Math.cos(theta);
    const s = Math.sin(theta);
    const dx = sx * sx;
    const dy = sy * sy;
    s00 = c * c * dx + s * s * dy;
    s01 = c * s * dx - s * c * dy;
    s11 = s * s * dx + c * c * dy;
  }
  // Σ⁻¹ of a symmetric 2×2.
  const det = s00 * s11 - s01 * s01;
  const i00 = s11 / det;
  const i01 = -s01 / det;
  const i11 = s00 / det;
  const half = (size - 1) / 2;
  const data = new Float64Array(size * size);
  let sum = 0;
  for (let r = 0; r < size; r++) {
    const y = r - half;
    for (let c = 0; c < size; c++) {
      const x = c - half;
      const q = x * x * i00 + 2 * x * y * i01 + y * y * i11;
      const v = Math.exp(-0.5 * q);
      data[r * size + c] = v;
      sum += v;
    }
  }
  for (let i = 0; i < data.length; i++) data[i] /= sum;
  return { size, data };
}

/**
 * The 1-D factor g of an isotropic kernel (K = g gᵀ), normalised to sum 1. Equal to `bivariateGaussian(…, true)`
 * up to float rounding, and much cheaper to apply.
 */
export function gaussian1d(size: number, sigma: number): Float64Array {
  const s = Math.max(sigma, MIN_SIGMA);
  const half = (size - 1) / 2;
  const g = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = i - half;
    g[i] = Math.exp((-0.5 * x * x) / (s * s));
    sum += g[i];
  }
  for (let i = 0; i < size; i++) g[i] /= sum;
  return g;
}
