/**
 * @file Gaussian windows and the two filters pyiqa's SSIM and NIQE use, in float64.
 *
 * - `fspecialGaussian`: MATLAB `fspecial('gaussian')` as pyiqa builds it (`pyiqa/matlab_utils/functions.py`):
 *   float64 maths, tiny taps zeroed, normalised, **then cast to float32** (`.float()`) and back to float64 when
 *   applied (`.to(X)`). The float32 cast makes the window non-separable by ~1e-9 and its sum 1 − 6e-9; SSIM on
 *   bright flat regions (E[x²] − μ² with x ≈ 250) is sensitive to both, so we filter with the float32 taps.
 * - `filterValidLowRank`: 'valid' correlation (SSIM's `filter2(..., 'valid')`) as a sum of a few separable
 *   passes: the symmetric window K = Σₖ λₖ vₖvₖᵀ (`symmetricEigenJacobi` of linalg.ts) truncated to `rank` terms.
 *   NOTE: pyiqa runs a full 2-D conv; rank 3 reproduces it to ~1e-10 relative in SSIM at 66 instead of 121
 *   multiply-adds per output (rank 1, i.e. a plain separable Gaussian, is off by up to ~2e-7).
 * - `filterSameReplicate`: 'same' correlation with edge-replicate padding (NIQE's MSCN `imfilter(..., 'replicate')`),
 *   a direct 2-D loop with the exact float32 taps (NIQE's argmin feature fit makes exactness worth more than speed).
 *
 * Planes are row-major H×W `Float64Array`s.
 */
import { symmetricEigenJacobi } from './linalg.ts';

/**
 * pyiqa `fspecial(size, sigma)`: a size×size Gaussian window with float32-rounded taps.
 * @returns row-major size×size, values are float32 numbers held in a Float64Array
 */
export function fspecialGaussian(size: number, sigma: number): Float64Array {
  const m = (size - 1) / 2;
  const h = new Float64Array(size * size);
  let max = 0;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const y = i - m;
      const x = j - m;
      const v = Math.exp(-(x * x + y * y) / (2 * sigma * sigma));
      h[i * size + j] = v;
      if (v > max) max = v;
    }
  }
  const eps = 2.220446049250313e-16; // np.finfo(float64).eps
  let sum = 0;
  for (let k = 0; k < h.length; k++) {
    if (h[k] < eps * max) h[k] = 0;
    sum += h[k];
  }
  for (let k = 0; k < h.length; k++) h[k] = Math.fround(sum !== 0 ? h[k] / sum : h[k]);
  return h;
}

/** A symmetric window split into separable terms: K ≈ Σₖ weights[k] · taps[k] ⊗ taps[k]. */
export interface SeparableWindow {
  readonly size: number;
  readonly weights: readonly number[];
  readonly taps: readonly Float64Array[];
}

/**
 * Splits a symmetric size×size window into its `rank` dominant separable terms (by |eigenvalue|).
 * @throws Error if the window is not symmetric
 */
export function separableTerms(kernel: Float64Array, size: number, rank: number): SeparableWindow {
  for (let i = 0; i < size; i++) {
    for (let j = i + 1; j < size; j++) {
      if (kernel[i * size + j] !== kernel[j * size + i]) throw new Error('separableTerms: window is not symmetric');
    }
  }
  const { values, vectors } = symmetricEigenJacobi(kernel, size);
  const order = Array.from(values.keys()).sort((x, y) => Math.abs(values[y]) - Math.abs(values[x]));
  const keep = order.slice(0, Math.min(rank, size));
  return {
    size,
    weights: keep.map((k) => values[k]),
    taps: keep.map((k) => vectors.slice(k * size, k * size + size)),
  };
}

/**
 * 'valid' 2-D correlation of several planes with the same separable window (one vertical then one horizontal
 * pass per term). Output is (H−s+1)×(W−s+1) per plane.
 */
export function filterValidSeparable(
  planes: readonly Float64Array[],
  width: number,
  height: number,
  win: SeparableWindow,
): Float64Array[] {
  const s = win.size;
  const ow = width - s + 1;
  const oh = height - s + 1;
  if (ow < 1 || oh < 1) throw new Error(`filterValidSeparable: ${width}×${height} is smaller than the ${s}×${s} window`);
  const tmp = new Float64Array(oh * width);
  return planes.map((src) => {
    const out = new Float64Array(oh * ow);
    for (let t = 0; t < win.taps.length; t++) {
      const g = win.taps[t];
      const lam = win.weights[t];
      // vertical: tmp[y, x] = Σ_i g[i] src[y + i, x]
      tmp.fill(0);
      for (let i = 0; i < s; i++) {
        const gi = g[i];
        for (let y = 0; y < oh; y++) {
          const so = (y + i) * width;
          const to = y * width;
          for (let x = 0; x < width; x++) tmp[to + x] += gi * src[so + x];
        }
      }
      // horizontal: out[y, x] += λ Σ_j g[j] tmp[y, x + j]
      for (let y = 0; y < oh; y++) {
        const to = y * width;
        const oo = y * ow;
        for (let x = 0; x < ow; x++) {
          let acc = 0;
          const b = to + x;
          for (let j = 0; j < s; j++) acc += g[j] * tmp[b + j];
          out[oo + x] += lam * acc;
        }
      }
    }
    return out;
  });
}

/** Edge-replicate padding by `r` pixels on every side: a (W+2r)×(H+2r) plane. */
function padReplicate(src: Float64Array, width: number, height: number, r: number): Float64Array {
  const pw = width + 2 * r;
  const ph = height + 2 * r;
  const pad = new Float64Array(pw * ph);
  for (let y = 0; y < ph; y++) {
    const sy = Math.min(height - 1, Math.max(0, y - r)) * width;
    const po = y * pw;
    for (let x = 0; x < r; x++) pad[po + x] = src[sy];
    pad.set(src.subarray(sy, sy + width), po + r);
    const last = src[sy + width - 1];
    for (let x = r + width; x < pw; x++) pad[po + x] = last;
  }
  return pad;
}

/**
 * 7×7 'valid' correlation over a padded plane, written to `out` (W×H). Every output is the sequential float64 sum
 * Σᵢ Σⱼ k[i,j]·p[y+i, x+j] in the order i = 0..6, j = 0..6 (the same operations, in the same order, as the generic
 * loop below, so the result is bit-identical); only the loop nest differs: one kernel row's 7 taps stay in
 * registers while a whole output row accumulates, ~2.7× faster in V8 than the per-pixel 49-tap loop.
 */
function correlate7(pad: Float64Array, width: number, height: number, k: Float64Array, out: Float64Array): void {
  const pw = width + 6;
  for (let y = 0; y < height; y++) {
    const oo = y * width;
    for (let i = 0; i < 7; i++) {
      const ko = i * 7;
      const k0 = k[ko];
      const k1 = k[ko + 1];
      const k2 = k[ko + 2];
      const k3 = k[ko + 3];
      const k4 = k[ko + 4];
      const k5 = k[ko + 5];
      const k6 = k[ko + 6];
      const po = (y + i) * pw;
      for (let x = 0; x < width; x++) {
        const b = po + x;
        // i = 0 starts from the zero-initialised output, as `acc = 0` does (0 + v === v, also for v = −0 → 0).
        let acc = out[oo + x];
        acc += k0 * pad[b];
        acc += k1 * pad[b + 1];
        acc += k2 * pad[b + 2];
        acc += k3 * pad[b + 3];
        acc += k4 * pad[b + 4];
        acc += k5 * pad[b + 5];
        acc += k6 * pad[b + 6];
        out[oo + x] = acc;
      }
    }
  }
}

/**
 * 'same' 2-D correlation with replicate (clamp-to-edge) padding, direct loop with the exact taps: MATLAB
 * `imfilter(x, k, 'replicate')` / pyiqa `imfilter(..., padding='replicate')` for an odd square window.
 * Each output is summed sequentially over the window, row by row (7×7 windows take a faster, bit-identical path).
 */
export function filterSameReplicate(src: Float64Array, width: number, height: number, kernel: Float64Array, size: number): Float64Array {
  const r = (size - 1) >> 1;
  const pad = padReplicate(src, width, height, r);
  const out = new Float64Array(width * height);
  if (size === 7) {
    correlate7(pad, width, height, kernel, out);
    return out;
  }
  const pw = width + 2 * r;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let i = 0; i < size; i++) {
        const po = (y + i) * pw + x;
        const ko = i * size;
        for (let j = 0; j < size; j++) acc += kernel[ko + j] * pad[po + j];
      }
      out[y * width + x] = acc;
    }
  }
  return out;
}
