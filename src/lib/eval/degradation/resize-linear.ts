/**
 * @file `cv2.resize(src, (dw, dh), interpolation=cv2.INTER_LINEAR)` on float images (runtime-neutral).
 *
 * cv2 semantics (imgproc/src/resize.cpp, `resizeGeneric_`): scale = 1 / (dw / sw) in double; for each output
 * index d, f = float((d + 0.5)·scale − 0.5), s = ⌊f⌋, α = f − s (float32); s < 0 → (s, α) = (0, 0);
 * s ≥ sw − 1 → (s, α) = (sw − 1, 0); the value is (1 − α)·src[s] + α·src[s + 1]. No antialiasing when
 * shrinking: only two taps per axis, whatever the factor. Separable: horizontal then vertical.
 */
import type { FloatImage } from './float-image.ts';

/** Source indices and weights of one axis: out[d] = w0[d]·src[i0[d]] + w1[d]·src[i1[d]]. */
export interface LinearTaps {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly w0: Float32Array;
  readonly w1: Float32Array;
}

/** cv2's INTER_LINEAR taps for resizing an axis of `srcLen` samples to `dstLen`. */
export function linearTaps(srcLen: number, dstLen: number): LinearTaps {
  const scale = 1 / (dstLen / srcLen);
  const i0 = new Int32Array(dstLen);
  const i1 = new Int32Array(dstLen);
  const w0 = new Float32Array(dstLen);
  const w1 = new Float32Array(dstLen);
  for (let d = 0; d < dstLen; d++) {
    const f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    let a = Math.fround(f - s);
    if (s < 0) {
      s = 0;
      a = 0;
    }
    if (s >= srcLen - 1) {
      s = srcLen - 1;
      a = 0;
    }
    i0[d] = s;
    i1[d] = Math.min(s + 1, srcLen - 1);
    w0[d] = Math.fround(1 - a);
    w1[d] = a;
  }
  return { i0, i1, w0, w1 };
}

/** Sorted unique source indices an axis' taps read (the rows/columns a fused blur must produce). */
export function tapIndices(t: LinearTaps): Int32Array {
  const set = new Set<number>();
  for (let d = 0; d < t.i0.length; d++) {
    set.add(t.i0[d]);
    if (t.w1[d] !== 0) set.add(t.i1[d]);
  }
  return Int32Array.from([...set].sort((a, b) => a - b));
}

/**
 * Resizes with INTER_LINEAR. `rowsOf`/`colsOf` optionally map a full-image source index to a position in a
 * compact `src` that holds only some rows/columns (see `tapIndices`); by default `src` is the full image.
 */
export function resizeLinear(
  src: FloatImage,
  dstW: number,
  dstH: number,
  full?: { width: number; height: number; rowsOf: Int32Array; colsOf: Int32Array },
): FloatImage {
  const ch = src.channels;
  const sw = full ? full.width : src.width;
  const sh = full ? full.height : src.height;
  const tx = linearTaps(sw, dstW);
  const ty = linearTaps(sh, dstH);
  const colOf = (i: number): number => (full ? full.colsOf[i] : i);
  const rowOf = (i: number): number => (full ? full.rowsOf[i] : i);
  const cw = src.width;
  const sd = src.data;
  // Horizontal pass over the rows the vertical taps read.
  const needRows = tapIndices(ty);
  const rowBuf = new Map<number, Float64Array>();
  for (const r of needRows) {
    const base = rowOf(r) * cw * ch;
    const buf = new Float64Array(dstW * ch);
    for (let d = 0; d < dstW; d++) {
      const a = base + colOf(tx.i0[d]) * ch;
      const b = base + colOf(tx.i1[d]) * ch;
      const w0 = tx.w0[d];
      const w1 = tx.w1[d];
      for (let c = 0; c < ch; c++) buf[d * ch + c] = w1 === 0 ? sd[a + c] * w0 : sd[a + c] * w0 + sd[b + c] * w1;
    }
    rowBuf.set(r, buf);
  }
  const out = new Float32Array(dstW * dstH * ch);
  for (let d = 0; d < dstH; d++) {
    const r0 = rowBuf.get(ty.i0[d])!;
    const w0 = ty.w0[d];
    const w1 = ty.w1[d];
    const r1 = w1 === 0 ? r0 : rowBuf.get(ty.i1[d])!;
    const o = d * dstW * ch;
    for (let i = 0; i < dstW * ch; i++) out[o + i] = w1 === 0 ? r0[i] * w0 : r0[i] * w0 + r1[i] * w1;
  }
  return { width: dstW, height: dstH, channels: ch, data: out };
}
