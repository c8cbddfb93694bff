/**
 * @file SSIM as pyiqa 'ssim' computes it (`pyiqa/archs/ssim_arch.py`, `SSIM(test_y_channel=True)`), the setting
 * ReF-LDM's eval.py uses.
 *
 * Notation (Wang et al. 2004, eq. 13) with X, Y the two luma planes:
 *   μₓ = K ⋆ X, σₓ² = K ⋆ X² − μₓ², σₓᵧ = K ⋆ XY − μₓμᵧ   (⋆ = 'valid' correlation, K = fspecial(11, 1.5))
 *   cs  = max(0, (2σₓᵧ + C₂) / (σₓ² + σᵧ² + C₂))            (pyiqa's relu: a departure from the paper)
 *   ssim = mean( (2μₓμᵧ + C₁) / (μₓ² + μᵧ² + C₁) · cs )
 * with C₁ = (0.01·255)², C₂ = (0.03·255)², X = round(Y_YIQ·255) (see color.ts), float64, no downsampling
 * (`downsample=False`: MATLAB's average pooling is off), no border crop.
 */
import type { RgbImage } from '../../types.ts';
import { yiqLuma255 } from './color.ts';
import { filterValidSeparable, fspecialGaussian, separableTerms, type SeparableWindow } from './gaussian.ts';
import { assertSameSize } from './psnr.ts';

export const SSIM_WINDOW_SIZE = 11;
export const SSIM_WINDOW_SIGMA = 1.5;
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

let defaultWindow: SeparableWindow | undefined;

/**
 * The SSIM window as separable terms. Rank 3 matches pyiqa's full 2-D float32 window to ~1e-10 relative in SSIM
 * (see gaussian.ts); rank 11 is exact.
 */
export function ssimWindow(rank = 3): SeparableWindow {
  if (rank === 3 && defaultWindow) return defaultWindow;
  const w = separableTerms(fspecialGaussian(SSIM_WINDOW_SIZE, SSIM_WINDOW_SIGMA), SSIM_WINDOW_SIZE, rank);
  if (rank === 3) defaultWindow = w;
  return w;
}

/**
 * SSIM of two luma planes on [0, 255] (already rounded), float64, pyiqa `ssim(..., data_range=255)`.
 * @throws Error if a side is smaller than 11 pixels
 */
export function ssimPlanes(x: Float64Array, y: Float64Array, width: number, height: number, win = ssimWindow()): number {
  if (width < SSIM_WINDOW_SIZE || height < SSIM_WINDOW_SIZE) {
    throw new Error(`ssim: image is ${width}×${height}; each side must be at least ${SSIM_WINDOW_SIZE} pixels`);
  }
  const n = width * height;
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  const [mu1, mu2, exx, eyy, exy] = filterValidSeparable([x, y, xx, yy, xy], width, height, win);
  let sum = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i];
    const m2 = mu2[i];
    const m12 = m1 * m2;
    const m1s = m1 * m1;
    const m2s = m2 * m2;
    const cs = Math.max(0, (2 * (exy[i] - m12) + C2) / (exx[i] - m1s + (eyy[i] - m2s) + C2));
    sum += ((2 * m12 + C1) / (m1s + m2s + C1)) * cs;
  }
  return sum / mu1.length;
}

/**
 * SSIM (pyiqa 'ssim': Y of YIQ, rounded, Gaussian 11/1.5, valid, relu on cs, mean). Symmetric in its arguments.
 * @throws Error naming `what` when the sizes differ or an image is smaller than 11×11
 * @example ssim(img, img) // → 1
 */
export function ssim(pred: RgbImage, gt: RgbImage, what = 'ssim'): number {
  assertSameSize(pred, gt, what);
  try {
    return ssimPlanes(yiqLuma255(pred), yiqLuma255(gt), pred.width, pred.height);
  } catch (err) {
    throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
