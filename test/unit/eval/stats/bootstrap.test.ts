import { describe, expect, it } from 'vitest';
import { bootstrapMean, mulberry32, quantileSorted } from '../../../../src/lib/eval/stats/bootstrap.ts';

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
