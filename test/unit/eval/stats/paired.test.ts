/**
 * The compare page's statistics against goldens made by Python (test/fixtures/stats/golden.json, generator
 * `python -m refbench_golden generate stats`): the Wilcoxon signed-rank test against scipy.stats.wilcoxon on
 * every branch of its `auto` method, zero methods, alternatives and corrections; the paired bootstrap Δ CI and
 * win counts against an independent Python port of the same resampler.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndtr, normalSf } from '../../../../src/lib/eval/stats/normal.ts';
import { pairedComparison } from '../../../../src/lib/eval/stats/paired.ts';
import { wilcoxon, type WilcoxonOptions } from '../../../../src/lib/eval/stats/wilcoxon.ts';

interface WilcoxonCase {
  name: string;
  x: number[];
  y: number[] | null;
  options: { zero_method?: 'wilcox' | 'pratt' | 'zsplit'; correction?: boolean; alternative?: 'two-sided' | 'less' | 'greater'; method?: 'auto' | 'exact' | 'asymptotic' };
  statistic: number | null;
  pvalue: number | null;
  zstatistic: number | null;
}
interface PairedCase {
  name: string;
  a: number[];
  b: number[];
  higherIsBetter: boolean;
  delta: number;
  ci95: [number, number];
  stderr: number;
  wins: number;
  ties: number;
  losses: number;
}
const golden = JSON.parse(readFileSync(join(import.meta.dirname, '../../../fixtures/stats/golden.json'), 'utf8')) as { cases: WilcoxonCase[]; paired: PairedCase[] };

/** |actual − expected| ≤ rtol·|expected| (+ a tiny absolute floor); null expected means NaN. */
function close(actual: number | null, expected: number | null, rtol: number, what: string): void {
  if (expected === null) {
    expect(actual === null || Number.isNaN(actual), `${what}: expected NaN, got ${actual}`).toBe(true);
    return;
  }
  expect(actual, what).not.toBeNull();
  expect(Math.abs(actual! - expected), `${what}: ${actual} vs scipy ${expected}`).toBeLessThanOrEqual(rtol * Math.abs(expected) + 1e-300);
}

describe('wilcoxon equals scipy.stats.wilcoxon', () => {
  it('covers the branches of method=auto', () => {
    const methods = new Set(golden.cases.map((c) => wilcoxon(c.x, c.y ?? undefined, toOpts(c)).method));
    expect([...methods].sort()).toEqual(['asymptotic', 'exact', 'permutation']);
  });

  for (const c of golden.cases) {
    it(c.name, () => {
      const r = wilcoxon(c.x, c.y ?? undefined, toOpts(c));
      close(r.statistic, c.statistic, 1e-12, `${c.name} statistic`);
      close(r.pvalue, c.pvalue, 1e-11, `${c.name} p-value`);
      if (c.zstatistic !== null) close(r.z, c.zstatistic, 1e-12, `${c.name} z`);
    });
  }

  it('refuses x and y of different lengths', () => {
    expect(() => wilcoxon([1, 2], [1])).toThrow(/same length \(2 vs 1\)/);
  });
});

function toOpts(c: WilcoxonCase): WilcoxonOptions {
  return { zeroMethod: c.options.zero_method, correction: c.options.correction, alternative: c.options.alternative, method: c.options.method };
}

describe('normal distribution (Cephes ndtr, as scipy.special.ndtr)', () => {
  it('has the known values and symmetric tails', () => {
    expect(ndtr(0)).toBe(0.5);
    expect(ndtr(1.959963984540054)).toBeCloseTo(0.975, 15);
    close(normalSf(10), 7.61985302416047e-24, 1e-13, 'sf(10)'); // scipy.special.ndtr(-10)
    close(ndtr(-20), 2.7536241186061556e-89, 1e-13, 'ndtr(-20)'); // scipy.special.ndtr(-20)
    expect(normalSf(-3) + normalSf(3)).toBeCloseTo(1, 15);
  });
});

describe('pairedComparison equals the Python port of the paired bootstrap', () => {
  for (const c of golden.paired) {
    it(c.name, () => {
      const r = pairedComparison(c.a, c.b, c.higherIsBetter);
      close(r.delta, c.delta, 1e-12, 'delta');
      close(r.ci95![0], c.ci95[0], 1e-12, 'ci95 lo');
      close(r.ci95![1], c.ci95[1], 1e-12, 'ci95 hi');
      close(r.stderr, c.stderr, 1e-10, 'stderr');
      expect([r.wins, r.ties, r.losses]).toEqual([c.wins, c.ties, c.losses]);
      expect(r.winRate).toBe(c.wins / c.a.length);
      expect(r.n).toBe(c.a.length);
    });
  }

  it('a win follows the direction of the metric', () => {
    expect(pairedComparison([1, 1, 1], [2, 0, 1], true)).toMatchObject({ wins: 1, ties: 1, losses: 1 });
    expect(pairedComparison([1, 1, 1, 1], [0.5, 0.5, 0.5, 2], false)).toMatchObject({ wins: 3, losses: 1, winRate: 0.75 });
    expect(() => pairedComparison([1], [1, 2], true)).toThrow(/same samples in the same order/);
  });
});
