/**
 * metricCells: the one place run aggregates become the dashboard's metric cells. The leaderboard, the compare page
 * and the old runs index each had a copy; the copies disagreed on two points, and each test below fails on the
 * behaviour of the copy that was wrong:
 * - the direction of a set metric run.json does not describe: the runs index defaulted to higher-is-better, but
 *   FID and KID are lower-is-better (metrics/fid.ts creates both with higherIsBetter: false);
 * - a set metric's reference: the leaderboard also took the options `refStats` and `dataset`, which no set
 *   metric's schema has (metrics/options.ts: `reference` for FID, `referenceFeatures` for KID).
 */
import { describe, expect, it } from 'vitest';
import type { MetricInfo, RunJson } from '../../../../src/lib/eval/results/schema.ts';
import { bestOf } from '../../../../src/lib/server/dashboard/leaderboard.ts';
import { metricCells, orderColumns, referenceOf } from '../../../../src/lib/server/dashboard/metric-cells.ts';

const info = (id: string, kind: MetricInfo['kind'], higherIsBetter: boolean, options: Record<string, unknown> = {}): MetricInfo =>
  ({ id, version: '1', kind, higherIsBetter, decimals: 3, weights: 'none', options }) as MetricInfo;

function runJson(runId: string, metrics: MetricInfo[]): RunJson {
  return {
    schemaVersion: '1.0', runId, createdAt: '2026-12-01T00:00:00Z', resumedAt: [], specHash: runId, spec: {}, specFile: null,
    dataset: { adapter: 'folder', id: 'ds', version: '1', root: '/nonexistent', available: 3, size: 3, limited: false, hash: 'h', maxRefs: 1 },
    restorer: { id: runId, version: '1', weights: { kind: 'none' }, settings: {}, untrained: false },
    metrics,
    code: { gitSha: null, dirty: null, packageVersion: '0' }, packages: {}, host: { os: 'x', cpu: 'x', cores: 1, memoryBytes: 1, node: 'x' },
  } as RunJson;
}

describe('metricCells', () => {
  it('per-image metrics: mean with a bootstrap CI, direction and decimals from run.json', () => {
    const run = runJson('r', [info('psnr', 'paired', true)]);
    const { columns, cells } = metricCells(run, { perSample: [{ metric: 'psnr', n: 3, mean: 20, values: [19, 20, 21] }], sets: [] });
    expect(columns.get('psnr')).toMatchObject({ higherIsBetter: true, set: false, decimals: 3, label: 'PSNR' });
    expect(cells.psnr.value).toBeCloseTo(20, 12);
    expect(cells.psnr.n).toBe(3);
    expect(cells.psnr.ci95![0]).toBeLessThan(20);
    expect(cells.psnr.ci95![1]).toBeGreaterThan(20);
  });

  it('a set metric that run.json does not describe is lower-is-better, as FID and KID are', () => {
    // eval.jsonl holds FID values, run.json has no entry for fid-clean (the runs index called it higher-is-better).
    const lo = runJson('lo', []);
    const hi = runJson('hi', []);
    const a = metricCells(lo, { perSample: [], sets: [{ metric: 'fid-clean', value: 10, n: 3 }] });
    const b = metricCells(hi, { perSample: [], sets: [{ metric: 'fid-clean', value: 20, n: 3 }] });
    expect(a.columns.get('fid-clean')!.higherIsBetter).toBe(false);
    const columns = orderColumns([a, b], [lo, hi]);
    // the best FID is the lower one
    expect(bestOf(columns, [{ runId: 'lo', cells: a.cells }, { runId: 'hi', cells: b.cells }])['fid-clean']).toEqual(['lo']);
  });

  it("run.json's own direction wins over the default", () => {
    const run = runJson('r', [info('my-set', 'distribution', true)]);
    expect(metricCells(run, { perSample: [], sets: [{ metric: 'my-set', value: 1, n: 3 }] }).columns.get('my-set')!.higherIsBetter).toBe(true);
  });

  it("a set metric's reference is the file name of its schema's reference option, never another option", () => {
    const run = runJson('r', [
      info('fid-clean', 'distribution', false, { reference: '/data/stats/ffhq_clean.npz' }),
      info('kid-clean', 'distribution', false, { referenceFeatures: 'C:\\feats\\ffhq_feats.npz' }),
      info('fid-legacy-pytorch', 'distribution', false, { refStats: '/x/old.npz', dataset: '/data/ffhq' }),
    ]);
    const { columns } = metricCells(run, {
      perSample: [],
      sets: ['fid-clean', 'kid-clean', 'fid-legacy-pytorch'].map((metric) => ({ metric, value: 1, n: 3 })),
    });
    expect(columns.get('fid-clean')!.reference).toBe('ffhq_clean.npz');
    expect(columns.get('kid-clean')!.reference).toBe('ffhq_feats.npz');
    // `refStats` and `dataset` are not references of any set metric (the leaderboard's copy showed "old.npz").
    expect(columns.get('fid-legacy-pytorch')!.reference).toBeUndefined();
    expect(referenceOf(undefined)).toBeUndefined();
  });

  it('a failed set metric is a cell with its error and no value', () => {
    const { cells } = metricCells(runJson('r', []), { perSample: [], sets: [{ metric: 'kid-clean', value: null, n: 0, error: 'too few samples' }] });
    expect(cells['kid-clean']).toEqual({ value: null, ci95: null, n: 0, testWeights: false, error: 'too few samples' });
  });

  it('columns: the paper order, time last, each as the first run that has it describes it', () => {
    const r1 = runJson('a', [info('psnr', 'paired', true), info('lpips-vgg', 'paired', false)]);
    const r2 = runJson('b', [info('psnr', 'paired', true), info('ids-arcface-r50', 'paired', true)]);
    const agg = (ids: string[]) => ({ perSample: ids.map((metric) => ({ metric, n: 1, mean: 1, values: [1] })), sets: [] });
    const cols = orderColumns([metricCells(r1, agg(['time-ms', 'psnr', 'lpips-vgg'])), metricCells(r2, agg(['psnr', 'ids-arcface-r50']))], [r1, r2]);
    expect(cols.map((c) => c.id)).toEqual(['ids-arcface-r50', 'lpips-vgg', 'psnr', 'time-ms']);
    expect(cols.find((c) => c.id === 'time-ms')!.higherIsBetter).toBe(false);
    expect(cols.every((c) => c.mode !== undefined)).toBe(true);
  });
});
