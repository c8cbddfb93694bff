/**
 * The benches' round helper (bench/rounds.ts): sides alternate who goes first, ratios are per round, and the
 * README's "median (min–max)" comes from these numbers.
 */
import { describe, expect, it } from 'vitest';
import { fmtStats, interleavedRounds, ratios, stats } from '../../../bench/rounds.ts';

describe('bench rounds', () => {
  it('alternates the first mover and keeps each round\'s measurement in its slot', async () => {
    const order: string[] = [];
    let t = 0;
    const r = await interleavedRounds(4, {
      ours: () => (order.push('ours'), ++t),
      ref: async () => (order.push('ref'), 10 * ++t),
    });
    expect(order).toEqual(['ours', 'ref', 'ref', 'ours', 'ours', 'ref', 'ref', 'ours']);
    expect(r).toEqual({ ours: [1, 4, 5, 8], ref: [20, 30, 60, 70] });
    expect(ratios(r.ref, r.ours)).toEqual([20, 7.5, 12, 8.75]);
  });

  it('median and range', () => {
    expect(stats([3, 1, 2])).toMatchObject({ median: 2, min: 1, max: 3 });
    expect(stats([4, 1, 3, 2]).median).toBe(2.5);
    expect(fmtStats(stats([1.52, 1.78, 1.95]))).toBe('1.78× (1.52–1.95)');
    expect(() => stats([])).toThrow(/no values/);
  });
});
