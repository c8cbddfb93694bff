/**
 * The leaderboard's per-run rows (read model): a run being written recomputes only its own row while the samples
 * the rows are over stay the same; when the shared samples change, every row of that benchmark is recomputed. The
 * numbers equal a fresh read model's (resample indices drawn once give the same CIs).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunJson } from '../../../../src/lib/eval/results/schema.ts';
import { BOOTSTRAP_DEFAULTS, bootstrapMean } from '../../../../src/lib/eval/stats/bootstrap.ts';
import { DashboardReadModel } from '../../../../src/lib/server/dashboard/read-model.ts';
import { RunStore, runsRoot } from '../../../../src/lib/server/results/store.ts';

let root: string;
const stores: Record<string, RunStore> = {};
const seqs: Record<string, number> = {};

function runJson(runId: string, minute: number): RunJson {
  return {
    schemaVersion: '1.0', runId, createdAt: `2026-12-01T00:0${minute}:00Z`, resumedAt: [], specHash: runId, spec: {}, specFile: null,
    dataset: { adapter: 'folder', id: 'ds', version: '1', root: '/nonexistent', available: 6, size: 6, limited: false, hash: 'h', maxRefs: 1 },
    restorer: { id: runId, version: '1', weights: { kind: 'none' }, settings: {}, untrained: false },
    metrics: [{ id: 'psnr', version: '1', kind: 'paired', higherIsBetter: true, decimals: 2, weights: 'none', options: {} }],
    code: { gitSha: null, dirty: null, packageVersion: '0' }, packages: {}, host: { os: 'x', cpu: 'x', cores: 1, memoryBytes: 1, node: 'x' },
  } as RunJson;
}

function append(runId: string, sampleId: string, psnr: number): void {
  const seq = (seqs[runId] = (seqs[runId] ?? -1) + 1);
  stores[runId].appendSample({ seq, sampleId, status: 'ok', inputHash: `in-${sampleId}`, metrics: { psnr }, timingsMs: {}, finishedAt: '2026-12-01T00:00:00Z' });
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'refbench-leaderboard-rows-'));
  ['a', 'b', 'c'].forEach((id, i) => {
    stores[id] = RunStore.create(join(runsRoot(root), id));
    stores[id].writeRunJson(runJson(id, i));
    for (const [k, s] of ['s0', 's1', 's2', 's3'].entries()) append(id, s, 20 + i + k * 0.7 + (k % 2 ? 0.3 * i : 0));
  });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const rowOf = (b: Awaited<ReturnType<DashboardReadModel['leaderboard']>>, id: string) => b.benchmarks[0].rows.find((r) => r.runId === id)!;

describe('leaderboard rows per run', () => {
  it('a run being written recomputes only its own row (own samples, and shared samples unchanged)', async () => {
    const model = new DashboardReadModel(root);
    for (const over of ['own', 'shared'] as const) {
      const before = await model.leaderboard(over);
      // a sample only run c has: every run's own row but c's stays, and the shared samples do not change
      append('c', `x-${over}`, 30);
      const after = await model.leaderboard(over);
      expect(after).not.toBe(before);
      expect(rowOf(after, 'a')).toBe(rowOf(before, 'a'));
      expect(rowOf(after, 'b')).toBe(rowOf(before, 'b'));
      expect(rowOf(after, 'c')).not.toBe(rowOf(before, 'c'));
      expect(rowOf(after, 'c').ok).toBe(rowOf(before, 'c').ok + 1);
    }
  });

  it('when the shared samples change, every row of the benchmark is recomputed, with the same numbers as a fresh model', async () => {
    const model = new DashboardReadModel(root);
    const before = await model.leaderboard('shared');
    for (const id of ['a', 'b', 'c']) append(id, 's9', 25);
    const after = await model.leaderboard('shared');
    for (const id of ['a', 'b', 'c']) expect(rowOf(after, id)).not.toBe(rowOf(before, id));
    expect(after.benchmarks[0].shared.ids).toEqual(['s0', 's1', 's2', 's3', 's9']);
    const fresh = await new DashboardReadModel(root).leaderboard('shared');
    expect(JSON.parse(JSON.stringify(after))).toEqual(JSON.parse(JSON.stringify(fresh)));
    // and the CI is bootstrapMean's over the shared samples
    const psnrA = [0, 1, 2, 3].map((k) => 20 + k * 0.7) .concat(25);
    expect(rowOf(after, 'a').cells.psnr.ci95).toEqual(bootstrapMean(psnrA, BOOTSTRAP_DEFAULTS).ci95);
  });
});
