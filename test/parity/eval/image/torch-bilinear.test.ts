/**
 * fid-legacy-pytorch's resize against torch 2.13 (`F.interpolate(bilinear, align_corners=False)`, ATen's generic
 * CPU kernel; goldens from python/refbench_golden/fid.py): bit-identical, including issue 11's repro (a white
 * column at x = 64, whose output column 37 moved by 7.7e-6 when the source coordinate was rounded twice).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bilinearTaps, fmaF32, resizePlaneTorchBilinear } from '../../../../src/lib/eval/image/torch-bilinear.ts';
import { readRgb } from '../../../../src/lib/server/image/io.ts';
import { FID_SIZE, preprocessLegacyPytorch } from '../../../../src/lib/server/metrics/fid-preprocess.ts';

const DIR = 'test/fixtures/fid';
const GOLDENS = [
  ['col512', 0],
  ['d1024', 0],
  ['e300x200', 1],
] as const;

function golden(name: string, c: number): Float32Array {
  const b = readFileSync(`${DIR}/resize_legacy_${name}_c${c}.f32`);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; n: number } {
  let max = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > 0) n++;
    max = Math.max(max, d);
  }
  return { max, n };
}

describe('torch bilinear resize (pytorch-fid) vs torch 2.13', () => {
  for (const [name, c] of GOLDENS) {
    it(`${name} channel ${c} → 299²: the metric's preprocessing equals torch's bits after (x/255)·2 − 1`, async () => {
      const img = await readRgb(`${DIR}/images/${name}.png`);
      const want = golden(name, c).map((v) => Math.fround(v / 255) * 2 - 1);
      const got = preprocessLegacyPytorch(img).subarray(c * FID_SIZE * FID_SIZE, (c + 1) * FID_SIZE * FID_SIZE);
      const d = maxAbsDiff(got, want);
      console.log(`legacy resize ${name} c${c}: max |Δ| ${d.max.toExponential(2)} on ${d.n} values`);
      expect(d).toEqual({ max: 0, n: 0 });
    });
  }

  it('issue 11 repro: column 37 of the white-column image is 0.4280929565 (torch), not 0.4280852079', async () => {
    const out = preprocessLegacyPytorch(await readRgb(`${DIR}/images/col512.png`));
    for (let y = 0; y < FID_SIZE; y += 37) expect(out[y * FID_SIZE + 37]).toBeCloseTo(0.4280929565, 10);
    expect(bilinearTaps(512, 299).i0[37]).toBe(63);
  });

  it('resizes a float plane directly (no uint8 source): the d1024 golden', async () => {
    const img = await readRgb(`${DIR}/images/d1024.png`);
    const plane = Float32Array.from({ length: img.width * img.height }, (_, i) => img.data[i * 3]);
    expect(maxAbsDiff(resizePlaneTorchBilinear(plane, img.width, img.height, FID_SIZE, FID_SIZE), golden('d1024', 0))).toEqual({ max: 0, n: 0 });
  });

  it('fmaF32 rounds once: a sum that lands on a float32 tie in double is decided by its exact value', () => {
    const x = Math.fround(1 + 2 ** -23);
    const y = Math.fround((1 - 2 ** -23) * 2 ** -24);
    const z = Math.fround(1 + 2 ** -23);
    // exact: 1 + 2⁻²³ + 2⁻²⁴ − 2⁻⁷⁰, just below the tie between 1 + 2⁻²³ and 1 + 2⁻²²; the double sum is the tie.
    expect(Math.fround(x * y + z)).toBe(1 + 2 ** -22); // double rounding, ties to even: wrong
    expect(fmaF32(x, y, z)).toBe(1 + 2 ** -23);
    expect(fmaF32(3, 5, 7)).toBe(22);
  });
});
