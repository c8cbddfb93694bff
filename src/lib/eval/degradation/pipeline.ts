/**
 * @file The pure stages of the GFPGAN/ReF-LDM degradation (`ldm/data/ir.py::sample_degraded_image`):
 *   before JPEG: blur (filter2D, REFLECT_101) → INTER_LINEAR downsample → colour Gaussian noise → clip;
 *   after JPEG:  INTER_LINEAR upsample → round/clip to u8.
 * The JPEG round trip needs an encoder and lives in `server/degrade.ts`.
 *
 * NOTE: the reference works in BGR; every stage here is per-channel or channel-agnostic, so RGB gives the same
 * distribution (the noise field is drawn in RGB order from our own PRNG, not numpy's).
 */
import { SeededRng } from '../datasets/seeded-rng.ts';
import { clipInPlace, floatToRgb, rgbToFloat, type FloatImage } from './float-image.ts';
import { filter2d, filterSeparable, filterSeparableTerms, kernelTapCount, lowRankKernel } from './filter2d.ts';
import { fftFilterCost, filterFft } from './fft-filter.ts';
import { bivariateGaussian, gaussian1d } from './kernels.ts';
import type { DegradationParams } from './presets.ts';
import { linearTaps, resizeLinear, tapIndices } from './resize-linear.ts';
import type { RgbImage } from '../types.ts';

/** Kernel entries below this fraction of the peak are skipped (error < 1e-9 per pixel). */
const KERNEL_REL_TOL = 1e-12;

/**
 * Blur + downsample fused: the blurred image is evaluated only at the rows/columns INTER_LINEAR reads, which
 * equals `resizeLinear(filter2d(img, k), lowW, lowH)` (tested) at a fraction of the cost.
 */
export function blurDownsample(img: FloatImage, params: DegradationParams): FloatImage {
  const [lw, lh] = params.lowSize;
  const rows = tapIndices(linearTaps(img.height, lh));
  const cols = tapIndices(linearTaps(img.width, lw));
  const k = params.kernel;
  let blurred: FloatImage;
  if (k.type === 'iso') {
    blurred = filterSeparable(img, gaussian1d(k.size, k.sigmaX), rows, cols);
  } else {
    // NOTE: a direct cv2.filter2D costs (non-negligible taps) multiply-adds per output value. Two equivalent
    // evaluations are used when cheaper: a separable expansion K ≈ Σ uᵢwᵢᵀ with every kernel entry within 1e-9
    // (each output within ~2e-6 ≪ 1/255), or an FFT (exact up to float64 rounding). The weights are measured
    // V8 costs per estimated multiply-add relative to the direct loop (tmp/bench on 2 cores).
    const kernel = bivariateGaussian(k.size, k.sigmaX, k.sigmaY, k.theta, false);
    const ch = img.channels;
    const directCost = rows.length * cols.length * ch * kernelTapCount(kernel, KERNEL_REL_TOL);
    const fftCost = 3 * fftFilterCost(img.width, img.height, k.size, ch);
    const perTerm = 2 * (rows.length * (img.width + k.size - 1) * k.size * ch + rows.length * cols.length * k.size * ch);
    const best = Math.min(directCost, fftCost);
    const terms = lowRankKernel(kernel, 1e-9, Math.floor(best / perTerm));
    if (terms) blurred = filterSeparableTerms(img, terms, rows, cols);
    else if (fftCost < directCost) blurred = filterFft(img, kernel, rows, cols);
    else blurred = filter2d(img, kernel, rows, cols, KERNEL_REL_TOL);
  }
  const rowsOf = new Int32Array(img.height).fill(-1);
  const colsOf = new Int32Array(img.width).fill(-1);
  rows.forEach((r, i) => (rowsOf[r] = i));
  cols.forEach((c, i) => (colsOf[c] = i));
  return resizeLinear(blurred, lw, lh, { width: img.width, height: img.height, rowsOf, colsOf });
}

/** Adds N(0, (σ/255)²) colour noise (independent per channel) from `SeededRng(key + '|noise')`, then clips to [0, 1]. */
export function addGaussianNoise(img: FloatImage, sigma255: number, key: string): FloatImage {
  const rng = new SeededRng(`${key}|noise`);
  const s = sigma255 / 255;
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] += Math.fround(rng.normal()) * s;
  return clipInPlace(img);
}

/** Stages 1–3 (blur, downsample, noise + clip): returns the low-resolution float image to JPEG-compress. */
export function degradeBeforeJpeg(hq: RgbImage, params: DegradationParams): FloatImage {
  if (hq.width !== params.size[0] || hq.height !== params.size[1]) {
    throw new Error(`degradation params are for ${params.size[0]}×${params.size[1]}, image is ${hq.width}×${hq.height}`);
  }
  const low = blurDownsample(rgbToFloat(hq), params);
  return addGaussianNoise(low, params.noiseSigma, params.key);
}

/** The u8 image handed to the JPEG encoder (cv2 casts `img * 255` with rounding and saturation). */
export function toJpegInput(low: FloatImage): RgbImage {
  return floatToRgb(low);
}

/** Stage 5: decoded JPEG (u8) → float → INTER_LINEAR upsample to the original size → round/clip to u8. */
export function degradeAfterJpeg(decoded: RgbImage, params: DegradationParams): RgbImage {
  const up = resizeLinear(rgbToFloat(decoded), params.size[0], params.size[1]);
  return floatToRgb(up);
}
