/**
 * @file PSNR as pyiqa 'psnr' computes it (`pyiqa/archs/psnr_arch.py`), the setting ReF-LDM's eval.py uses:
 * RGB in [0, 1] over all three channels (`test_y_channel=False`), MSE per image over C·H·W,
 * PSNR = 10·log10(data_range² / (MSE + eps)) with data_range = 1 and eps = 1e-8, no border crop.
 * Identical images therefore give exactly 80 dB, not ∞.
 *
 * NOTE: pyiqa evaluates this in float32 on `u8/255`; we sum squared u8 differences exactly (integers) and divide
 * in float64. The two agree to ~1e-8 relative (test/parity/eval/metrics/functional/psnr-ssim.test.ts).
 */
import type { RgbImage } from '../../types.ts';

/** pyiqa's `eps` added to the MSE. */
export const PSNR_EPS = 1e-8;

/** Throws unless `a` and `b` have the same size; `what` prefixes the message (e.g. the metric id and sample). */
export function assertSameSize(a: RgbImage, b: RgbImage, what: string): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`${what}: prediction is ${a.width}×${a.height} but ground truth is ${b.width}×${b.height}`);
  }
  if (a.data.length !== a.width * a.height * 3 || b.data.length !== b.width * b.height * 3) {
    throw new Error(`${what}: pixel buffer length does not match width×height×3`);
  }
}

/** Mean squared error of two u8 RGB images on the [0, 1] scale, float64. */
export function mseUnit(a: RgbImage, b: RgbImage, what = 'mse'): number {
  assertSameSize(a, b, what);
  const da = a.data;
  const db = b.data;
  let sum = 0; // exact: at most 65025 · 3·H·W < 2⁵³ for any image that fits in memory
  for (let i = 0; i < da.length; i++) {
    const d = da[i] - db[i];
    sum += d * d;
  }
  return sum / (255 * 255) / da.length;
}

/**
 * PSNR in dB (pyiqa 'psnr'): RGB, [0, 1], eps 1e-8, no crop. Symmetric in its arguments.
 * @throws Error naming `what` when the sizes differ
 * @example psnr(img, img) // → 80
 */
export function psnr(pred: RgbImage, gt: RgbImage, what = 'psnr'): number {
  const mse = mseUnit(pred, gt, what);
  return 10 * Math.log10(1 / (mse + PSNR_EPS));
}
