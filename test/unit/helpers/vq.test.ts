/**
 * The staged cross-engine comparison (test/helpers/vq.ts) can fail: a code flip the latent tolerance cannot explain
 * is reported, a near-tie flip is not; the codebook read from the committed tiny decoder is the graph's Gather table.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ambiguousPositions, codebookSeparation, codesToLatent, compareCodes, readCodebook, snapCodes, type Codebook } from '../../helpers/vq.ts';

// 3 entries in 2-d; 2 latent positions (planar [C=2, P=2])
const cb: Codebook = { n: 3, dim: 2, data: Float32Array.of(0, 0, 1, 0, 5, 5) };
const lat = (p0: [number, number], p1: [number, number]) => Float32Array.of(p0[0], p1[0], p0[1], p1[1]);

describe('test/helpers/vq.ts', () => {
  it('snaps to the nearest entry with its gap, and codes back to vectors', () => {
    const { codes, gap } = snapCodes(lat([0.1, 0], [4, 4.5]), cb);
    expect(Array.from(codes)).toEqual([0, 2]);
    expect(gap[0]).toBeCloseTo(0.81 - 0.01, 6); // 0.1 as float32
    expect(Array.from(codesToLatent(codes, cb))).toEqual([0, 5, 0, 5]);
  });

  it('a flip at a near-tie within the latent tolerance is explained; a flip the tolerance cannot reach is not', () => {
    const near = compareCodes(lat([0.4999, 0], [4, 4]), lat([0.5001, 0], [4, 4]), cb, 1e-3);
    expect(near.differ).toBe(1);
    expect(near.unexplained).toEqual([]);
    // A is far from the tie (gap 0.8): no latent within 1e-3 of it can pick entry 1
    const far = compareCodes(lat([0.1, 0], [4, 4]), lat([0.9, 0], [4, 4]), cb, 1e-3);
    expect(far.differ).toBe(1);
    expect(far.unexplained).toHaveLength(1);
    expect(far.unexplained[0]).toMatchObject({ p: 0, a: 0, b: 1 });
  });

  it('positions within float32 rounding of a tie are ambiguous', () => {
    expect(ambiguousPositions(lat([0.5, 0], [4, 4]), cb).map((x) => x.p)).toEqual([0]);
    expect(ambiguousPositions(lat([0.4, 0], [4, 4]), cb)).toEqual([]);
  });

  it('reads the tiny bundle codebook (1024 × 8, the Gather table) and its entries are far apart', () => {
    const c = readCodebook(join(import.meta.dirname, '../../fixtures/refldm-tiny/vae_decoder.onnx'));
    expect([c.n, c.dim]).toEqual([1024, 8]);
    // first values of initializer onnx::Gather_1015, as onnx.numpy_helper reads them (regenerate with the bundle)
    expect(Array.from(c.data.subarray(0, 4))).toEqual(Array.from(Float32Array.of(-0.706632137298584, -0.07478213310241699, 1.774911880493164, 1.7914588451385498)));
    const sep = codebookSeparation(c);
    expect(sep.ok).toBe(true);
    expect(sep.minSqDist).toBeGreaterThan(100 * sep.bound);
  });
});
