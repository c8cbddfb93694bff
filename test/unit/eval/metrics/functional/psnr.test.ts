import { describe, expect, it } from 'vitest';
import { mseUnit, psnr } from '../../../../../src/lib/eval/metrics/functional/psnr.ts';
import { createPsnr } from '../../../../../src/lib/server/metrics/psnr.ts';
import type { RgbImage } from '../../../../../src/lib/eval/types.ts';

/** Deterministic test image: data[i] = (i·a + b) mod 256 (arange-style, no RNG). */
function img(width: number, height: number, a: number, b: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * a + b) % 256;
  return { width, height, data };
}

describe('psnr (pyiqa convention)', () => {
  it('identical images give exactly 80 dB (eps 1e-8 cap), not Infinity', () => {
    const x = img(32, 20, 7, 3);
    expect(psnr(x, x)).toBe(80);
  });

  it('matches the closed form for a constant offset of 1 grey level', () => {
    const x = img(16, 16, 0, 100);
    const y = img(16, 16, 0, 101);
    const mse = 1 / (255 * 255);
    expect(mseUnit(x, y)).toBeCloseTo(mse, 18);
    expect(psnr(x, y)).toBeCloseTo(10 * Math.log10(1 / (mse + 1e-8)), 12);
  });

  it('is symmetric and decreases as the error grows', () => {
    const x = img(24, 24, 5, 0);
    const y = img(24, 24, 5, 9);
    const z = img(24, 24, 5, 40);
    expect(psnr(x, y)).toBe(psnr(y, x));
    expect(psnr(x, z)).toBeLessThan(psnr(x, y));
  });

  it('rejects mismatched sizes, and the metric names the sample', async () => {
    expect(() => psnr(img(8, 8, 1, 0), img(8, 9, 1, 0))).toThrow(/8×8.*8×9/);
    const m = await createPsnr();
    const s = m.init();
    await expect(m.update(s, [{ sampleId: 'face-042', pred: img(8, 8, 1, 0), gt: img(9, 8, 1, 0) }])).rejects.toThrow(
      /psnr: sample 'face-042'.*8×8.*9×8/,
    );
    await expect(m.update(s, [{ sampleId: 'face-043', pred: img(8, 8, 1, 0) }])).rejects.toThrow(/face-043.*ground truth/);
  });

  it('metric aggregates the per-sample mean', async () => {
    const m = await createPsnr();
    let s = m.init();
    const x = img(8, 8, 3, 0);
    s = await m.update(s, [
      { sampleId: 'a', pred: x, gt: x },
      { sampleId: 'b', pred: x, gt: img(8, 8, 3, 1) },
    ]);
    const v = m.compute(s);
    expect(v.n).toBe(2);
    expect(v.value).toBeCloseTo((80 + psnr(x, img(8, 8, 3, 1))) / 2, 12);
    expect(m.spec).toMatchObject({ id: 'psnr', higherIsBetter: true, decimals: 2, weights: 'none', kind: 'paired' });
  });
});
