/** The static snapshot's in-browser compare (src/lib/server/dashboard/static/client/compute.ts), in node. */
import { describe, expect, it } from 'vitest';
import { bootstrapMean, BOOTSTRAP_DEFAULTS } from '../../../../../../src/lib/eval/stats/bootstrap.ts';
import { pairedComparison } from '../../../../../../src/lib/eval/stats/paired.ts';
import { computeCompare, sharedSamples, type Bench } from '../../../../../../src/lib/server/dashboard/static/client/compute.ts';
import type { MetricMode } from '../../../../../../src/lib/eval/metrics/conventions.ts';
import type { StaticRun } from '../../../../../../src/lib/server/dashboard/static/data.ts';

type Sample = [string, string, string | null];
const mode = (id: string, resize: string): MetricMode => ({ id, version: '1', implementation: `impl of ${id}`, input: 'RGB [0, 1]', resize, weights: 'none', files: [] });
function run(runId: string, samples: Sample[], values: Record<string, (number | null)[]>, sets: StaticRun['sets'] = {}, modes: StaticRun['modes'] = {}): StaticRun {
  return { runId, name: runId, restorer: 'x', settings: '', tags: [], untrained: false, testWeights: [], samples, values, sets, modes };
}

// s0, s1: shared; s2: missing in C; s3: failed in B; s4: no input hash in A; s5: another input in C; s6: missing in B
// and failed in C (counted once, as missing).
const A = run('A', [['s0', 'ok', 'h0'], ['s1', 'ok', 'h1'], ['s2', 'ok', 'h2'], ['s3', 'ok', 'h3'], ['s4', 'ok', null], ['s5', 'ok', 'h5'], ['s6', 'ok', 'h6']], {
  psnr: [20, 22, 1, 1, 1, 1, 1],
  lpips: [0.3, 0.2, 1, 1, 1, 1, 1],
}, {}, { psnr: mode('psnr', 'none'), lpips: mode('lpips', 'none') });
const B = run('B', [['s0', 'ok', 'h0'], ['s1', 'ok', 'h1'], ['s2', 'ok', 'h2'], ['s3', 'error', 'h3'], ['s4', 'ok', 'h4'], ['s5', 'ok', 'h5']], {
  psnr: [21, 25, 1, null, 1, 1],
  lpips: [0.25, null, 1, null, 1, 1],
}, { fid: { value: 50, n: 6 } }, { psnr: mode('psnr', 'none'), lpips: mode('lpips', 'bicubic') });
const C = run('C', [['s1', 'ok', 'h1'], ['s0', 'ok', 'h0'], ['s3', 'ok', 'h3'], ['s4', 'ok', 'h4'], ['s5', 'ok', 'other'], ['s6', 'error', 'h6']], {
  psnr: [19, 18, 1, 1, 1, null],
});
const bench: Bench = {
  key: 'b0',
  name: 'test (v1)',
  metrics: [
    { id: 'lpips', label: 'LPIPS', higherIsBetter: false, decimals: 3, set: false },
    { id: 'fid', label: 'FID', higherIsBetter: false, decimals: 2, set: true },
    { id: 'psnr', label: 'PSNR', higherIsBetter: true, decimals: 2, set: false },
    { id: 'niqe', label: 'NIQE', higherIsBetter: false, decimals: 3, set: false },
  ],
  runs: [A, B, C],
  images: {},
};

describe('shared samples', () => {
  it('keeps the samples ok in every run with one input hash, in sample-id order, and says why the others are out', () => {
    expect(sharedSamples([A, B, C])).toEqual({ ids: ['s0', 's1'], total: 7, missing: 2, failed: 1, differentInputs: 1, unverified: 1 });
    expect(sharedSamples([A, B]).ids).toEqual(['s0', 's1', 's2', 's5']);
    expect(sharedSamples([A]).ids).toEqual(['s0', 's1', 's2', 's3', 's5', 's6']);
  });
});

describe('compare', () => {
  it('computes means, CIs and paired statistics with src/lib/eval/stats on the shared samples', () => {
    const c = computeCompare(bench, ['A', 'B', 'C'], new URLSearchParams());
    expect(c.baseline).toBe('A');
    expect(c.vs).toBe('B');
    // NIQE has no value in any run: no column. Column order is the benchmark's.
    expect(c.columns.map((m) => m.id)).toEqual(['lpips', 'fid', 'psnr']);
    expect(c.metric?.id).toBe('lpips');
    const a = bootstrapMean([20, 22], BOOTSTRAP_DEFAULTS);
    expect(c.values.A.psnr).toEqual({ value: a.mean, ci95: a.ci95, n: 2, testWeights: false });
    // C's values are stored in its own sample order (s1 before s0): they are looked up by id.
    expect(c.values.C.psnr.value).toBe(18.5);
    expect(c.deltas.C.psnr).toEqual(pairedComparison([20, 22], [18, 19], true));
    // B has no LPIPS on s1: one pair.
    expect(c.deltas.B.lpips).toEqual(pairedComparison([0.3], [0.25], false));
    expect(c.deltas.B.lpips.n).toBe(1);
    // C has no LPIPS at all: no value, no Δ. A set metric: its value, no Δ.
    expect(c.values.C.lpips).toBeUndefined();
    expect(c.deltas.C.lpips).toBeUndefined();
    expect(c.values.B.fid).toEqual({ value: 50, ci95: null, n: 6, testWeights: false });
    expect(c.deltas.B.fid).toBeUndefined();
  });

  it("gives each column the compared runs' modes, grouped in their order (runs that differ apart)", () => {
    const c = computeCompare(bench, ['B', 'A', 'C'], new URLSearchParams());
    const col = (id: string) => c.columns.find((m) => m.id === id)!.mode;
    expect(col('psnr').variants).toEqual([{ mode: mode('psnr', 'none'), runIds: ['B', 'A'] }]); // C recorded no mode
    expect(col('lpips').variants).toEqual([
      { mode: mode('lpips', 'bicubic'), runIds: ['B'] },
      { mode: mode('lpips', 'none'), runIds: ['A'] },
    ]);
    expect(col('fid').variants).toEqual([]);
  });

  it('takes the baseline, vs and metric from the URL, and names a metric no run has', () => {
    const c = computeCompare(bench, ['A', 'B'], new URLSearchParams({ baseline: 'B', metric: 'psnr' }));
    expect(c.baseline).toBe('B');
    expect(c.vs).toBe('A');
    expect(c.deltas.A.psnr).toEqual(pairedComparison([21, 25, 1, 1], [20, 22, 1, 1], true));
    const u = computeCompare(bench, ['A', 'B'], new URLSearchParams({ metric: 'niqe' }));
    expect(u.metric).toBeNull();
    expect(u.unknownMetric).toBe('niqe');
    expect(() => computeCompare(bench, ['A', 'B'], new URLSearchParams({ baseline: 'C' }))).toThrow(/baseline 'C' is not one of the compared runs \(A, B\)/);
    expect(() => computeCompare(bench, ['A', 'B'], new URLSearchParams({ vs: 'Z' }))).toThrow(/vs 'Z'/);
  });
});
