/**
 * @file MATLAB-style `imresize(x, scale)` with the bicubic kernel (a = −0.5) and antialiasing, ported from the
 * implementation pyiqa uses (`pyiqa/matlab_utils/resize.py`, after Sanghyun Son's `bicubic_pytorch` 1.2.0):
 * separable, height first then width, MATLAB "symmetric" edge padding ([a, a, b, c, d, d]), kernel widened by
 * 1/scale when downsampling, each output's taps normalised to sum 1.
 *
 * NOTE (float32): pyiqa's `cast_input` test (`dtype != float32 or dtype != float64`) is always true, so the
 * resize runs in **float32** even on float64 input, and the result is cast back. We reproduce that exactly with
 * `Math.fround` after every operation, in torch's order: float32 tap weights (`pos`, `dist`, cubic, column-sum
 * normalisation), then per output Σₖ fl(x·wₖ) accumulated sequentially in float32. Bit-identical to torch 2.13
 * CPU on the goldens (scale 0.5 and 0.75) whenever a pass has a multiple of 32 outputs (always true in NIQE):
 * torch reduces the < 32-element tail of its vector loop in another order, where 1-ulp differences appear.
 * For NIQE's 0.5 the weights are exact dyadic numbers
 * (±0.43359375, 0.11328125, −0.03515625, −0.01171875) and only the accumulation rounds.
 */

const f = Math.fround;

/** pyiqa `cubic_contribution(x, a=-0.5)` in float32. */
function cubic32(x: number): number {
  const ax = Math.abs(x);
  const ax2 = f(ax * ax);
  const ax3 = f(ax * ax2);
  if (ax <= 1) return f(f(f(1.5 * ax3) - f(2.5 * ax2)) + 1);
  if (ax <= 2) return f(f(f(f(-0.5 * ax3) - f(-2.5 * ax2)) + f(-4 * ax)) + 2);
  return 0;
}

/** Per-output taps of one 1-D resize: `first[i]` is the source index of tap 0 (may lie outside, see `reflect`). */
interface Taps {
  readonly size: number;
  readonly first: Int32Array;
  readonly weights: Float64Array; // outSize × size, float32 values
}

/** pyiqa `resize_1d` weight computation (`get_weight` + `get_padding`), float32. */
function taps(inSize: number, outSize: number, scale: number, antialiasing: boolean): Taps {
  let size = 4;
  let aaFactor = 1;
  if (antialiasing && scale < 1) {
    aaFactor = scale;
    size = Math.ceil(size / aaFactor);
  }
  size += 2;
  const scale32 = f(scale);
  const aa32 = f(aaFactor);
  const first = new Int32Array(outSize);
  const weights = new Float64Array(outSize * size);
  for (let i = 0; i < outSize; i++) {
    const pos = f(f(f(i + 0.5) / scale32) - 0.5);
    const base = Math.floor(pos) - Math.floor(size / 2) + 1;
    const dist = f(pos - base);
    first[i] = base;
    let sum = 0;
    for (let k = 0; k < size; k++) {
      const w = cubic32(f(f(dist - k) * aa32));
      weights[i * size + k] = w;
      sum = f(sum + w);
    }
    for (let k = 0; k < size; k++) weights[i * size + k] = f(weights[i * size + k] / sum);
  }
  return { size, first, weights };
}

/** MATLAB symmetric padding index ([a, a, b, …, d, d]); valid for pads shorter than the signal. */
function reflect(q: number, n: number): number {
  if (q < 0) return -q - 1;
  if (q >= n) return 2 * n - 1 - q;
  return q;
}

/**
 * One float32 1-D pass along rows (`alongHeight`) or columns. Each output is Σₖ fl(x·wₖ) accumulated in float32
 * for k = 0..size−1 in order (acc₀ = 0); the loops are arranged for contiguous memory access (taps outermost
 * along the height, a precomputed index table along the width), which changes no operation and no order.
 */
function pass(src: Float64Array, width: number, height: number, alongHeight: boolean, outSize: number, scale: number, antialiasing: boolean): Float64Array {
  const inSize = alongHeight ? height : width;
  const t = taps(inSize, outSize, scale, antialiasing);
  const size = t.size;
  const wts = t.weights;
  const ow = alongHeight ? width : outSize;
  const oh = alongHeight ? outSize : height;
  const out = new Float64Array(ow * oh);
  const idx = new Int32Array(outSize * size);
  for (let i = 0; i < outSize; i++) for (let k = 0; k < size; k++) idx[i * size + k] = reflect(t.first[i] + k, inSize);
  if (alongHeight) {
    for (let i = 0; i < outSize; i++) {
      const oo = i * width;
      for (let k = 0; k < size; k++) {
        const wk = wts[i * size + k];
        const so = idx[i * size + k] * width;
        // out starts at 0 and f(0 + v) === v for the float32 v, like `acc = 0` in a per-pixel loop
        for (let x = 0; x < width; x++) out[oo + x] = f(out[oo + x] + f(src[so + x] * wk));
      }
    }
  } else {
    for (let y = 0; y < height; y++) {
      const ro = y * width;
      const oo = y * outSize;
      for (let i = 0; i < outSize; i++) {
        const wo = i * size;
        let acc = 0;
        for (let k = 0; k < size; k++) acc = f(acc + f(src[ro + idx[wo + k]] * wts[wo + k]));
        out[oo + i] = acc;
      }
    }
  }
  return out;
}

/**
 * pyiqa `imresize(x, scale=scale, antialiasing=...)` on one H×W plane (bicubic, MATLAB semantics, float32 maths).
 * Output size is ceil(H·scale) × ceil(W·scale).
 * @param plane row-major H×W; values are rounded to float32 first, as pyiqa's `x.float()` does
 * @returns the resized plane (float32 values in a Float64Array) and its size
 */
export function imresizeMatlab(
  plane: Float64Array,
  width: number,
  height: number,
  scale: number,
  antialiasing = true,
): { data: Float64Array; width: number; height: number } {
  if (!(scale > 0)) throw new Error(`imresizeMatlab: scale must be positive, got ${scale}`);
  if (plane.length !== width * height) throw new Error(`imresizeMatlab: plane has ${plane.length} values, expected ${width}×${height}`);
  const oh = Math.ceil(height * scale);
  const ow = Math.ceil(width * scale);
  let x: Float64Array = new Float64Array(plane.length);
  for (let i = 0; i < plane.length; i++) x[i] = f(plane[i]);
  if (scale === 1) return { data: x, width, height };
  x = pass(x, width, height, true, oh, scale, antialiasing);
  x = pass(x, width, oh, false, ow, scale, antialiasing);
  return { data: x, width: ow, height: oh };
}
