import { describe, expect, it } from 'vitest';
import { concatRefKv, kvBytes, rangePick, tilePick } from '../../../../src/lib/eval/refldm/kv.ts';

// A reference-pass output [count·H, D, T] whose value encodes (ref, head, d, t).
function refOut(count: number, H: number, D: number, T: number): Float32Array {
  const a = new Float32Array(count * H * D * T);
  for (let n = 0; n < count; n++)
    for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) for (let t = 0; t < T; t++) a[((n * H + h) * D + d) * T + t] = n * 1000 + h * 100 + d * 10 + t;
  return a;
}

describe('concatRefKv', () => {
  const shape = { heads: 2, headDim: 3, tokens: 4 };
  it('concatenates references on the token axis, batch-major head-minor', () => {
    const cond = refOut(3, 2, 3, 4);
    const zero = refOut(1, 2, 3, 4).map((v) => -1 - v);
    const out = concatRefKv(shape, [
      { data: zero, count: 1, pick: tilePick(3) },
      { data: cond, count: 3, pick: rangePick(3) },
    ]);
    const R = 12;
    expect(out.length).toBe(2 * 2 * 3 * R);
    // cond row (b = 1), head 1, d 2, token slot of reference 2, t = 3
    expect(out[((1 * 2 + 1) * 3 + 2) * R + 2 * 4 + 3]).toBe(2 * 1000 + 100 + 20 + 3);
    // uncond row: every slot is the zero-ref K/V (tiled)
    for (let slot = 0; slot < 3; slot++) expect(out[((0 * 2 + 1) * 3 + 0) * R + slot * 4 + 1]).toBe(-1 - (100 + 1));
  });
  it('rejects rows with different reference counts and out-of-range picks', () => {
    const d = refOut(2, 2, 3, 4);
    expect(() => concatRefKv(shape, [{ data: d, count: 2, pick: [0] }, { data: d, count: 2, pick: [0, 1] }])).toThrow(/row 1/);
    expect(() => concatRefKv(shape, [{ data: d, count: 2, pick: [2] }])).toThrow(/reference 2 of 2/);
  });
  it('kvBytes: paper 32² layer, 1 ref, B = 1', () => {
    expect(kvBytes({ heads: 10, headDim: 32, tokens: 1024 }, 1, 1)).toBe(2 * 4 * 10 * 32 * 1024);
  });
});
