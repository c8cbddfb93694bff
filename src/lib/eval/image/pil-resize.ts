/**
 * @file An exact port of Pillow's separable resampling (`src/libImaging/Resample.c`) for the BICUBIC filter, in
 * the two flavours refbench needs:
 * - `resizeRgbPil`: `Image.resize((w, h), Image.BICUBIC)` on an 8-bit RGB image (fixed-point coefficients,
 *   intermediate image rounded and clipped to uint8, as Pillow does). Used to bring HQ/LQ/reference photos to
 *   512×512 exactly as the ReF-LDM loaders and `scripts/eval.py` do.
 * - `resizePlanePil`: the same on a mode 'F' (float32) plane: double accumulation, float32 storage, no rounding
 *   or clipping. clean-fid's "clean" mode resizes each channel this way to 299×299.
 *
 * Algorithm (Pillow `precompute_coeffs`): scale = in/out, filterscale = max(scale, 1), support = 2·filterscale;
 * for output index xx: center = (xx + 0.5)·scale, xmin = max(0, trunc(center − support + 0.5)),
 * xmax = min(in, trunc(center + support + 0.5)); w(x) = K((x + xmin − center + 0.5)/filterscale), normalised to
 * sum 1. Two passes; their order follows Pillow 13 (see `PassOrder`): horizontal first over only the rows the
 * vertical pass reads, unless the height shrinks by more than twice as many pixels as the width.
 *
 * NOTE: sharp/libvips' cubic kernels are different filters; never substitute them where parity matters.
 * Runtime-neutral (no node:*).
 */
import type { RgbImage } from '../types.ts';

/** Pillow's bicubic kernel, a = −0.5, written in Pillow's evaluation order so doubles round identically. */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

const BICUBIC_SUPPORT = 2.0;

/** Per-output-pixel window start, length and normalised double coefficients (Pillow `precompute_coeffs`). */
interface Coeffs {
  readonly ksize: number;
  readonly bounds: Int32Array; // [xmin, count] per output index
  readonly kk: Float64Array; // outSize × ksize
}

function precomputeCoeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = BICUBIC_SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const kk = new Float64Array(outSize * ksize);
  const bounds = new Int32Array(outSize * 2);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    const off = xx * ksize;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      kk[off + x] = w;
      ww += w;
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) kk[off + x] /= ww;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const PRECISION_BITS = 32 - 8 - 2;

/** Pillow `normalize_coeffs_8bpc`: doubles → int32 fixed point with PRECISION_BITS fractional bits. */
function toFixedPoint(kk: Float64Array): Int32Array {
  const out = new Int32Array(kk.length);
  const one = 1 << PRECISION_BITS;
  for (let i = 0; i < kk.length; i++) {
    out[i] = kk[i] < 0 ? Math.trunc(-0.5 + kk[i] * one) : Math.trunc(0.5 + kk[i] * one);
  }
  return out;
}

/** Pillow `clip8`: arithmetic shift then clamp to [0, 255]. */
function clip8(v: number): number {
  const s = v >> PRECISION_BITS;
  return s < 0 ? 0 : s > 255 ? 255 : s;
}

/** Rows [first, last) of the input that the vertical pass reads (Pillow `ybox_first`/`ybox_last`). */
function rowSpan(c: Coeffs, outSize: number): [number, number] {
  return [c.bounds[0], c.bounds[(outSize - 1) * 2] + c.bounds[(outSize - 1) * 2 + 1]];
}

/**
 * Which pass runs first. Pillow < 13 always resampled horizontally first; Pillow 13 runs the vertical pass first
 * when the height shrinks by more than twice as many pixels as the width (`ImagingResampleInner`). The two orders
 * give different uint8 results (the intermediate image is rounded); square resizes (1024→512, 512→299) agree.
 */
export type PassOrder = 'pillow-13' | 'pillow-legacy';

function horizontalFirst(inW: number, inH: number, outW: number, outH: number, order: PassOrder): boolean {
  if (order === 'pillow-legacy') return true;
  return !(inH - outH > 0 && inH - outH > (inW - outW) * 2);
}

/** One horizontal pass over `rows` rows starting at input row `y0` (8-bit, fixed point, C interleaved channels). */
function passH8(src: Uint8Array, srcW: number, y0: number, rows: number, outW: number, c: Coeffs): Uint8Array {
  const C = 3;
  const k = toFixedPoint(c.kk);
  const half = 1 << (PRECISION_BITS - 1);
  const out = new Uint8Array(outW * rows * C);
  for (let yy = 0; yy < rows; yy++) {
    const rowOff = (yy + y0) * srcW * C;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = c.bounds[xx * 2];
      const n = c.bounds[xx * 2 + 1];
      const ko = xx * c.ksize;
      let s0 = half;
      let s1 = half;
      let s2 = half;
      for (let x = 0; x < n; x++) {
        const p = rowOff + (x + xmin) * C;
        const w = k[ko + x];
        s0 += src[p] * w;
        s1 += src[p + 1] * w;
        s2 += src[p + 2] * w;
      }
      const o = (yy * outW + xx) * C;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

/** One vertical pass (8-bit); `bounds` are relative to `src`'s first row. */
function passV8(src: Uint8Array, width: number, outH: number, c: Coeffs, bounds: Int32Array): Uint8Array {
  const C = 3;
  const k = toFixedPoint(c.kk);
  const half = 1 << (PRECISION_BITS - 1);
  const out = new Uint8Array(width * outH * C);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2];
    const n = bounds[yy * 2 + 1];
    const ko = yy * c.ksize;
    for (let xx = 0; xx < width; xx++) {
      let s0 = half;
      let s1 = half;
      let s2 = half;
      for (let y = 0; y < n; y++) {
        const p = ((y + ymin) * width + xx) * C;
        const w = k[ko + y];
        s0 += src[p] * w;
        s1 += src[p + 1] * w;
        s2 += src[p + 2] * w;
      }
      const o = (yy * width + xx) * C;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

/** One horizontal pass on a float32 plane (double accumulation, float32 storage). */
function passHF(src: Float32Array, srcW: number, y0: number, rows: number, outW: number, c: Coeffs): Float32Array {
  const out = new Float32Array(outW * rows);
  for (let yy = 0; yy < rows; yy++) {
    const rowOff = (yy + y0) * srcW;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = c.bounds[xx * 2];
      const n = c.bounds[xx * 2 + 1];
      const ko = xx * c.ksize;
      let s = 0;
      for (let x = 0; x < n; x++) s += src[rowOff + x + xmin] * c.kk[ko + x];
      out[yy * outW + xx] = s;
    }
  }
  return out;
}

/** One vertical pass on a float32 plane. */
function passVF(src: Float32Array, width: number, outH: number, c: Coeffs, bounds: Int32Array): Float32Array {
  const out = new Float32Array(width * outH);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2];
    const n = bounds[yy * 2 + 1];
    const ko = yy * c.ksize;
    for (let xx = 0; xx < width; xx++) {
      let s = 0;
      for (let y = 0; y < n; y++) s += src[(y + ymin) * width + xx] * c.kk[ko + y];
      out[yy * width + xx] = s;
    }
  }
  return out;
}

/**
 * Generic two-pass driver shared by the u8 and float flavours (Pillow `ImagingResampleInner`, default box).
 * Horizontal-first resamples only the rows the vertical pass reads, then shifts the vertical bounds.
 */
function resample<T extends Uint8Array | Float32Array>(
  src: T,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
  order: PassOrder,
  passH: (src: T, srcW: number, y0: number, rows: number, outW: number, c: Coeffs) => T,
  passV: (src: T, width: number, outH: number, c: Coeffs, bounds: Int32Array) => T,
): T {
  const needH = outW !== inW;
  const needV = outH !== inH;
  const cv = needV || needH ? precomputeCoeffs(inH, outH) : undefined;
  const ch = needH ? precomputeCoeffs(inW, outW) : undefined;
  if (horizontalFirst(inW, inH, outW, outH, order)) {
    let cur = src;
    let bounds = cv!.bounds;
    if (ch) {
      const [y0, y1] = rowSpan(cv!, outH);
      cur = passH(src, inW, y0, y1 - y0, outW, ch);
      bounds = Int32Array.from(cv!.bounds, (v, i) => (i % 2 === 0 ? v - y0 : v));
    }
    return needV ? passV(cur, outW, outH, cv!, bounds) : cur;
  }
  const mid = needV ? passV(src, inW, outH, cv!, cv!.bounds) : src;
  return ch ? passH(mid, inW, 0, outH, outW, ch) : mid;
}

/**
 * Resizes an 8-bit RGB image like Pillow's `Image.resize((width, height), Image.BICUBIC)`.
 * @param order pass order; `'pillow-13'` (default) matches Pillow ≥ 13, `'pillow-legacy'` older releases.
 * @returns a new image; the input itself when the size is unchanged (Pillow copies; the pixels are equal).
 */
export function resizeRgbPil(img: RgbImage, width: number, height: number, order: PassOrder = 'pillow-13'): RgbImage {
  if (width <= 0 || height <= 0) throw new Error(`resizeRgbPil: invalid size ${width}×${height}`);
  if (img.width === width && img.height === height) return img;
  const data = resample(img.data, img.width, img.height, width, height, order, passH8, passV8);
  return { width, height, data };
}

/**
 * Resizes one float32 plane like Pillow's `Image.fromarray(plane, 'F').resize((outW, outH), Image.BICUBIC)`:
 * double accumulation, float32 storage between and after the passes, no clipping.
 * @param plane row-major `inH × inW` float32 values (any range).
 */
export function resizePlanePil(
  plane: Float32Array,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
  order: PassOrder = 'pillow-13',
): Float32Array {
  if (plane.length !== inW * inH) throw new Error(`resizePlanePil: plane has ${plane.length} values, expected ${inW}×${inH}`);
  if (inW === outW && inH === outH) return plane.slice();
  return resample(plane, inW, inH, outW, outH, order, passHF, passVF);
}

/** `resizeRgbPil` to 512×512 only when the image is not already 512×512 (the ReF-LDM loader rule). */
export function to512Pil(img: RgbImage): RgbImage {
  return img.width === 512 && img.height === 512 ? img : resizeRgbPil(img, 512, 512);
}
