/**
 * @file Colour preprocessing shared by SSIM and NIQE (pyiqa conventions): the luma (Y) of YIQ on the 0–255 scale,
 * rounded as pyiqa rounds it.
 *
 * pyiqa (0.1.16) starts from a float32 tensor `u8 / 255` and runs `to_y_channel(x, 255, 'yiq')`
 * (`pyiqa/utils/color_util.py`): a float32 matmul with the YIQ matrix, `* 255` in float32, then `torch.round`
 * (round half to even). The rounding step makes float32 details visible: for about 1 colour in 5000 the exact
 * value 0.299R + 0.587G + 0.114B lies on (or within a float32 ulp of) a .5 boundary, and which way it rounds
 * depends on the float32 arithmetic. We emulate it with `Math.fround` after every operation, in torch's CPU
 * order ((r·w₀ + g·w₁) + b·w₂, no FMA). This reproduces torch 2.13 CPU on all 2²⁴ colours (checked by
 * python/tests/test_pyiqa_basic.py); rounding the exact value instead differs on 3540 colours.
 */
import type { RgbImage } from '../../types.ts';

/** float32 YIQ luma weights, as torch stores them. */
const W_R = Math.fround(0.299);
const W_G = Math.fround(0.587);
const W_B = Math.fround(0.114);

/** `Math.fround(u / 255)` for u = 0..255: torch's `u8.float().div(255)` (correctly rounded; no double rounding). */
export const U8_TO_UNIT_F32: Float64Array = Float64Array.from({ length: 256 }, (_, u) => Math.fround(u / 255));

const P_R = U8_TO_UNIT_F32.map((v) => Math.fround(v * W_R));
const P_G = U8_TO_UNIT_F32.map((v) => Math.fround(v * W_G));
const P_B = U8_TO_UNIT_F32.map((v) => Math.fround(v * W_B));

/** Round half to even (torch.round / numpy.round semantics) for finite doubles. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v); // rounds .5 towards +∞
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Y of YIQ on [0, 255], rounded half-to-even, as float64 (pyiqa `to_y_channel(x, 255, 'yiq')` on `u8/255` float32
 * input, then `.round()` / `diff_round`).
 * @param img HWC RGB u8
 * @returns H×W row-major plane of integers 0..255 stored as float64
 */
export function yiqLuma255(img: RgbImage): Float64Array {
  const { width, height, data } = img;
  const n = width * height;
  const out = new Float64Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const y = Math.fround(Math.fround(P_R[data[j]] + P_G[data[j + 1]]) + P_B[data[j + 2]]);
    out[i] = roundHalfEven(Math.fround(y * 255));
  }
  return out;
}
