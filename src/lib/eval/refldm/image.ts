/**
 * @file ReF-LDM pre/post-processing on raw arrays (docs/model.md §11), runtime-neutral.
 *
 * - input: u8 RGB HWC → float32 CHW in [-1, 1] as u8 / 127.5 − 1 (`read_and_normalize_image`).
 * - references: written side by side into ONE wide strip (3, 512, 512·N), CSV order (§7.1).
 * - latents: the strip's latent (1, C, h, w·N) split back into N (1, C, h, w) latents along width.
 * - output: trunc(clamp((x + 1) / 2, 0, 1) · 255) (`quantise: 'trunc'`, official) or round (`'round'`).
 */
import type { RgbImage } from '../types.ts';
import { resizeRgbPil } from '../image/pil-resize.ts';

/**
 * An input at the model's size: resized with PIL bicubic only when its size differs (§11: the official loader
 * resizes only then). Both ReF-LDM engines prepare their inputs with this.
 */
export function toModelSize(img: RgbImage, size: number): RgbImage {
  return img.width === size && img.height === size ? img : resizeRgbPil(img, size, size);
}

/** How the decoded image is turned into u8: the official code truncates (`mul(255).byte()`, `astype(uint8)`). */
export type QuantiseMode = 'trunc' | 'round';

/**
 * Writes `img` as float32 CHW in [-1, 1] into `out` (3 × H × stripWidth), at column offset `x0`.
 * Values are computed as (u8 / 127.5) − 1 in float32, like `np.array(img) / 127.5 - 1` then `.float()`.
 */
export function writeChwMinusOneOne(img: RgbImage, out: Float32Array, stripWidth: number, x0 = 0): void {
  const { width: W, height: H, data } = img;
  if (x0 + W > stripWidth) throw new Error(`writeChwMinusOneOne: image of width ${W} at x0=${x0} overflows a strip of width ${stripWidth}`);
  if (out.length !== 3 * H * stripWidth) throw new Error(`writeChwMinusOneOne: out has ${out.length} values, expected 3·${H}·${stripWidth}`);
  const plane = H * stripWidth;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = (y * W + x) * 3;
      const d = y * stripWidth + x0 + x;
      // NOTE: numpy computes u8/127.5 in float64 then subtracts 1, then torch casts to float32; fround(v/127.5 − 1)
      // reproduces that bit for bit.
      out[d] = data[s] / 127.5 - 1;
      out[plane + d] = data[s + 1] / 127.5 - 1;
      out[2 * plane + d] = data[s + 2] / 127.5 - 1;
    }
  }
}

/** One image as CHW float32 in [-1, 1] (shape [1, 3, H, W]). */
export function toChwMinusOneOne(img: RgbImage): Float32Array {
  const out = new Float32Array(3 * img.height * img.width);
  writeChwMinusOneOne(img, out, img.width, 0);
  return out;
}

/**
 * The references side by side in one strip, shape [1, 3, H, W·N] (§7.1: one VAE pass over the strip).
 * @throws Error when the references are not all H × W.
 */
export function buildRefStrip(refs: readonly RgbImage[]): { data: Float32Array; width: number; height: number } {
  if (refs.length === 0) throw new Error('buildRefStrip: no references');
  const { width: W, height: H } = refs[0];
  refs.forEach((r, i) => {
    if (r.width !== W || r.height !== H) throw new Error(`buildRefStrip: reference ${i} is ${r.width}×${r.height}, reference 0 is ${W}×${H}`);
  });
  const width = W * refs.length;
  const data = new Float32Array(3 * H * width);
  refs.forEach((r, i) => writeChwMinusOneOne(r, data, width, i * W));
  return { data, width, height: H };
}

/**
 * Splits a wide latent [1, C, h, w·N] into N latents concatenated on the batch axis: [N, C, h, w].
 * (The reference pass takes them as one batch; chunk j = columns j·w … (j+1)·w − 1.)
 */
export function splitWidth(wide: Float32Array, channels: number, height: number, width: number, n: number): Float32Array {
  const W = width * n;
  if (wide.length !== channels * height * W) throw new Error(`splitWidth: got ${wide.length} values, expected ${channels}·${height}·${W}`);
  const out = new Float32Array(n * channels * height * width);
  for (let j = 0; j < n; j++) {
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < height; y++) {
        const src = (c * height + y) * W + j * width;
        const dst = ((j * channels + c) * height + y) * width;
        out.set(wide.subarray(src, src + width), dst);
      }
    }
  }
  return out;
}

/**
 * Joins N latents [N, C, h, w] side by side into [1, C, h, w·N] (the spatial/cross designs' `refs` input).
 */
export function joinWidth(lat: Float32Array, channels: number, height: number, width: number, n: number): Float32Array {
  const W = width * n;
  const out = new Float32Array(channels * height * W);
  for (let j = 0; j < n; j++) {
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < height; y++) {
        const src = ((j * channels + c) * height + y) * width;
        out.set(lat.subarray(src, src + width), (c * height + y) * W + j * width);
      }
    }
  }
  return out;
}

/**
 * Decoded CHW float image ([1, 3, H, W], ≈[-1, 1]) → u8 HWC.
 * `trunc`: floor(clamp((x+1)/2, 0, 1)·255) in float32, like torch `((x+1)/2).clamp(0,1).mul(255).byte()`.
 * @throws Error when a value is NaN or ±Inf (torch's `.byte()` would turn NaN into 0: a silent wrong output).
 */
export function quantiseImage(chw: Float32Array, width: number, height: number, mode: QuantiseMode = 'trunc'): RgbImage {
  const plane = width * height;
  if (chw.length !== 3 * plane) throw new Error(`quantiseImage: got ${chw.length} values, expected 3·${height}·${width}`);
  let bad = 0;
  for (let i = 0; i < chw.length; i++) if (!Number.isFinite(chw[i])) bad++;
  if (bad) throw new Error(`decoded image holds ${bad} non-finite value(s) (NaN/±Inf); no output is made from it`);
  const data = new Uint8Array(3 * plane);
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      let v = f(f(chw[c * plane + i] + 1) / 2);
      v = v < 0 ? 0 : v > 1 ? 1 : v;
      const s = f(v * 255);
      data[i * 3 + c] = mode === 'trunc' ? Math.trunc(s) : Math.round(s);
    }
  }
  return { width, height, data };
}
