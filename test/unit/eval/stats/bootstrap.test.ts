import { describe, expect, it } from 'vitest';
import { bootstrapIndices, bootstrapMean, bootstrapMeanWith, mulberry32, quantileSorted } from '../../../../src/lib/eval/stats/bootstrap.ts';

describe('bootstrapMean', () => {
  const vals = Array.from({ length: 50 }, (_, i) => Math.sin(i) * 3 + 10);

  it('is deterministic for a fixed seed and changes with the seed', () => {
    const a = bootstrapMean(vals, { seed: 7 });
    const b = bootstrapMean(vals, { seed: 7 });
    const c = bootstrapMean(vals, { seed: 8 });
    expect(a).toEqual(b);
    expect(a.ci95).not.toEqual(c.ci95);
  });

  it('brackets the mean, and stderr ≈ sd/√n', () => {
    const r = bootstrapMean(vals, { iterations: 4000 });
    const mean = vals.reduce((s, v) => s + v, 0) / vals.length;
    expect(r.mean).toBeCloseTo(mean, 12);
    expect(r.ci95![0]).toBeLessThan(mean);
    expect(r.ci95![1]).toBeGreaterThan(mean);
    const sd = Math.sqrt(vals.reduce((s, v) => s + (v - mean) ** 2, 0) / vals.length);
    expect(r.stderr!).toBeGreaterThan(0.85 * (sd / Math.sqrt(vals.length)));
    expect(r.stderr!).toBeLessThan(1.15 * (sd / Math.sqrt(vals.length)));
  });

  it('gives no interval below two samples and NaN for none', () => {
    expect(bootstrapMean([3]).ci95).toBeNull();
    expect(bootstrapMean([]).mean).toBeNaN();
  });

  it('quantile interpolates like numpy linear', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    const r = mulberry32(1);
    expect(r()).not.toBe(r());
  });
});

describe('bootstrap indices drawn once', () => {
  it('bootstrapMeanWith over bootstrapIndices equals bootstrapMean bit for bit, for every run and metric of one n', () => {
    const rng = mulberry32(7);
    for (const n of [0, 1, 2, 3, 17, 250]) {
      const idx = bootstrapIndices(n);
      for (let k = 0; k < 3; k++) {
        // three "metrics" of different scales share the indices of n
        const values = Array.from({ length: n }, () => (rng() - 0.3) * 10 ** k);
        expect(bootstrapMeanWith(values, idx)).toEqual(bootstrapMean(values));
      }
    }
    const opts = { iterations: 50, seed: 3 };
    const v = [1, 5, 2, 8, 3];
    expect(bootstrapMeanWith(v, bootstrapIndices(5, opts))).toEqual(bootstrapMean(v, opts));
    expect(() => bootstrapMeanWith(v, bootstrapIndices(4, { iterations: 3 }))).toThrow(/do not hold whole resamples of 5 values/);
  });
});
