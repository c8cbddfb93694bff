/**
 * @file Float HWC images for the degradation maths (runtime-neutral), and the u8 ↔ float conversions with
 * numpy/cv2 rounding (round half to even, then clip).
 */
import type { RgbImage } from '../types.ts';

/** A float image, row-major HWC: `data[(y * width + x) * channels + c]`. Values in [0, 1] unless stated. */
export interface FloatImage {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Float32Array;
}

/** Allocates a zero float image. */
export function blankFloat(width: number, height: number, channels = 3): FloatImage {
  return { width, height, channels, data: new Float32Array(width * height * channels) };
}

/** u8 RGB → float in [0, 1] (`img / 255`). */
export function rgbToFloat(img: RgbImage): FloatImage {
  const data = new Float32Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = img.data[i] / 255;
  return { width: img.width, height: img.height, channels: 3, data };
}

/** Round half to even (numpy `round`, C `lrint`, cv2 `saturate_cast`). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Float in [0, 1] → u8 as `np.clip((x * 255).round(), 0, 255)`. */
export function floatToRgb(img: FloatImage): RgbImage {
  if (img.channels !== 3) throw new Error(`floatToRgb: expected 3 channels, got ${img.channels}`);
  const data = new Uint8Array(img.data.length);
  const src = img.data;
  for (let i = 0; i < data.length; i++) {
    const x = src[i] * 255;
    // Inline round-half-even (hot loop): Math.round rounds .5 up; step back to the even neighbour.
    let v = Math.round(x);
    if (v - x === 0.5 && (v & 1) === 1) v -= 1;
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { width: img.width, height: img.height, data };
}

/** Clips every value to [lo, hi] in place. */
export function clipInPlace(img: FloatImage, lo = 0, hi = 1): FloatImage {
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i] < lo ? lo : d[i] > hi ? hi : d[i];
  return img;
}
