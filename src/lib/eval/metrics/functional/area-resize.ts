/**
 * @file Area ("adaptive average pool") resize of planar float images, torch `F.interpolate(mode='area')`
 * semantics, plus the crop + area-resize preprocessing of ReF-LDM's IdentityLoss. Runtime-neutral.
 *
 * For output index i of an axis of length `inLen → outLen`, the window is
 * [floor(i·inLen/outLen), ceil((i+1)·inLen/outLen)), exactly `adaptive_avg_pool2d`; when `inLen` is a multiple
 * of `outLen` (448 → 112) this is an exact k×k box mean.
 */
import type { RgbImage } from '../../types.ts';

/**
 * Area-resizes a CHW float plane stack.
 * @param src CHW float32, `channels`×`inH`×`inW`
 * @returns CHW float32, `channels`×`outH`×`outW`; window sums are accumulated in float64
 */
export function areaResizePlanar(
  src: Float32Array,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
): Float32Array {
  if (src.length !== channels * inH * inW) throw new Error(`areaResizePlanar: expected ${channels}×${inH}×${inW} values, got ${src.length}`);
  const out = new Float32Array(channels * outH * outW);
  const ys = windows(inH, outH);
  const xs = windows(inW, outW);
  for (let c = 0; c < channels; c++) {
    const base = c * inH * inW;
    for (let oy = 0; oy < outH; oy++) {
      const [y0, y1] = ys[oy];
      for (let ox = 0; ox < outW; ox++) {
        const [x0, x1] = xs[ox];
        let s = 0;
        for (let y = y0; y < y1; y++) {
          const row = base + y * inW;
          for (let x = x0; x < x1; x++) s += src[row + x];
        }
        out[(c * outH + oy) * outW + ox] = s / ((y1 - y0) * (x1 - x0));
      }
    }
  }
  return out;
}

function windows(inLen: number, outLen: number): [number, number][] {
  return Array.from({ length: outLen }, (_, i) => [Math.floor((i * inLen) / outLen), Math.ceil(((i + 1) * inLen) / outLen)] as [number, number]);
}

/** Centre-crop box of IdentityLoss: rows and cols [int(0.0625·L), int(0.9375·L)) → [32, 480) for 512. */
export function identityCropBox(height: number, width: number): { y0: number; y1: number; x0: number; x1: number } {
  return { y0: Math.trunc(0.0625 * height), y1: Math.trunc(0.9375 * height), x0: Math.trunc(0.0625 * width), x1: Math.trunc(0.9375 * width) };
}

/** u8 → float32 2·(u/255) − 1, rounded as torch does it in float32 (eval.py's `2x − 1` of `/255` floats). */
const MINUS_ONE_ONE_LUT: Float32Array = (() => {
  const lut = new Float32Array(256);
  for (let u = 0; u < 256; u++) lut[u] = Math.fround(Math.fround(2 * Math.fround(u / 255)) - 1);
  return lut;
})();

/**
 * ReF-LDM IdentityLoss preprocessing: RGB u8 → [-1, 1] → centre crop [0.0625, 0.9375) → area resize to
 * `size`×`size` (an exact 4×4 box mean for 512 → 448 → 112), written into `out` (CHW) at `offset`.
 * @returns `out`
 */
export function identityInput(img: RgbImage, size = 112, out = new Float32Array(3 * size * size), offset = 0): Float32Array {
  const { y0, y1, x0, x1 } = identityCropBox(img.height, img.width);
  const h = y1 - y0;
  const w = x1 - x0;
  const crop = new Float32Array(3 * h * w);
  const d = img.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = ((y + y0) * img.width + (x + x0)) * 3;
      const p = y * w + x;
      crop[p] = MINUS_ONE_ONE_LUT[d[s]];
      crop[h * w + p] = MINUS_ONE_ONE_LUT[d[s + 1]];
      crop[2 * h * w + p] = MINUS_ONE_ONE_LUT[d[s + 2]];
    }
  }
  out.set(areaResizePlanar(crop, 3, h, w, size, size), offset);
  return out;
}
