/**
 * @file An exact port of torch's CPU `F.interpolate(x, size, mode='bilinear', align_corners=False)` without
 * antialias (ATen `UpSampleKernel.cpp`, torch 2.13) on float32 planes: pytorch-fid's resize to 299×299.
 *
 * Taps (`compute_source_index_and_lambda`): scale = (float) in/out; src = (float) (scale·(o + 0.5) − 0.5),
 * evaluated in double and rounded to float32 once (the int64 index plus the double 0.5 promotes it); clamped at
 * 0; i₀ = ⌊src⌋, i₁ = min(i₀ + 1, in − 1); λ₁ = src − i₀ and λ₀ = 1 − λ₁ in float32.
 *
 * Arithmetic: the generic kernel (`upsample_generic_Nd_kernel_impl`, `Interpolate<n, …, 2>`) computes each level
 * as `t0 * w0 + t1 * w1` in float32, width inside height, and its AVX2/AVX512 builds contract that expression to
 * `fma(t0, w0, t1 * w1)`. Reproduced here with a correctly rounded float32 fma: bit-identical to torch 2.13 on
 * an AVX2 CPU (test/fixtures/fid goldens).
 * NOTE: torch itself is not one function here. A CPU without AVX2 runs the DEFAULT build (no fma contraction),
 * and with one thread on a 3-channel NCHW tensor ATen takes its channels-last vectorised kernel instead; both
 * differ from this by up to 2 float32 ulps (3e-5 on [0, 255]) on ~10–30% of pixels. pytorch-fid (batched, all
 * threads, modern x86) gets the kernel ported here.
 * Runtime-neutral (no node:*).
 */

/** Source taps of one axis: i₀, i₁ and λ₁ per output index. */
export interface BilinearTaps {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly l1: Float32Array;
}

/** torch bilinear taps for resizing an axis of `inSize` to `outSize` (align_corners=False). */
export function bilinearTaps(inSize: number, outSize: number): BilinearTaps {
  const scale = Math.fround(inSize / outSize);
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l1 = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    // scale·(o + 0.5) and the −0.5 are exact in double (24-bit × ≤ 32-bit), so one fround is ATen's one rounding.
    let src = Math.fround(scale * (o + 0.5) - 0.5);
    if (src < 0) src = 0;
    const f = Math.floor(src);
    i0[o] = f;
    i1[o] = f < inSize - 1 ? f + 1 : f;
    l1[o] = Math.fround(src - f);
  }
  return { i0, i1, l1 };
}

/**
 * float32 `fma(x, y, z)` = round₃₂(x·y + z), correctly rounded, for float32 x, y, z. x·y is exact in double;
 * the sum's rounding error is recovered exactly (TwoSum), so the one case where rounding the double sum to
 * float32 would differ from rounding the exact sum (a double that lies exactly halfway between two float32s) is
 * decided by the sign of that error.
 */
export function fmaF32(x: number, y: number, z: number): number {
  const p = x * y;
  const s = p + z;
  const bb = s - p;
  const err = p - (s - bb) + (z - bb); // p + z = s + err exactly
  const r = Math.fround(s);
  if (err === 0 || r === s) return r;
  const d = s - r; // exact (r is the float32 nearest s)
  const other = r + 2 * d;
  if (Math.fround(other) === other && Math.abs(other - s) === Math.abs(d)) {
    // s is a float32 tie: the exact value lies on err's side of it.
    return Math.sign(err) === Math.sign(d) ? other : r;
  }
  return r;
}

/**
 * Resizes one float32 plane (`w`×`h`, row-major) to `outW`×`outH` like torch's generic bilinear kernel.
 * @param map optional per-output-value transform, applied before storing (e.g. pytorch-fid's normalisation).
 */
export function resizePlaneTorchBilinear(
  plane: ArrayLike<number>,
  w: number,
  h: number,
  outW: number,
  outH: number,
  out = new Float32Array(outW * outH),
  map?: (v: number) => number,
): Float32Array {
  const tx = bilinearTaps(w, outW);
  const ty = bilinearTaps(h, outH);
  const lx0 = tx.l1.map((l) => Math.fround(1 - l));
  for (let y = 0; y < outH; y++) {
    const ly1 = ty.l1[y];
    const ly0 = Math.fround(1 - ly1);
    const r0 = ty.i0[y] * w;
    const r1 = ty.i1[y] * w;
    for (let x = 0; x < outW; x++) {
      const wx0 = lx0[x];
      const wx1 = tx.l1[x];
      const t0 = fmaF32(plane[r0 + tx.i0[x]], wx0, Math.fround(plane[r0 + tx.i1[x]] * wx1));
      const t1 = fmaF32(plane[r1 + tx.i0[x]], wx0, Math.fround(plane[r1 + tx.i1[x]] * wx1));
      const v = fmaF32(t0, ly0, Math.fround(t1 * ly1));
      out[y * outW + x] = map ? map(v) : v;
    }
  }
  return out;
}
