/**
 * The dashboard's server side end to end: runs made by the real runner over a folder dataset → the read model
 * the SvelteKit routes call (leaderboard through DuckDB, run page, image files, comparison).
 */
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readModel } from '../../src/lib/server/dashboard/read-model.ts';
import { pairedComparison } from '../../src/lib/eval/stats/paired.ts';
import { sampleLines } from '../helpers/cli.ts';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';

let root: string;
let results: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-dash-'));
  results = join(root, 'results');
  await writeFolderDataset(join(root, 'a'), 3, 2);
  await writeFolderDataset(join(root, 'b'), 2, 1);
  writeFileSync(join(root, 'a', 'lq', 's01.png'), 'truncated'); // one failed sample in run "lq"
  const spec = (name: string, restorer: string, dir: string) => ({
    name,
    dataset: { adapter: 'folder', options: { root: join(root, dir) } },
    restorer: { id: restorer },
    metrics: ['psnr'],
  });
  for (const [name, restorer, dir] of [
    ['lq', 'lq', 'a'],
    ['classical', 'classical', 'a'],
    ['other', 'lq', 'b'],
  ] as const) {
    ids[name] = (await runSpec(spec(name, restorer, dir), { resultsDir: results, quiet: true })).runId;
  }
}, 120_000);

describe('dashboard data', () => {
  it('lists runs per benchmark, with DuckDB coverage and metric means over each run\'s own samples', async () => {
    const board = await readModel(results).leaderboard('own');
    const rows = board.benchmarks.flatMap((b) => b.rows);
    expect(rows.map((r) => r.runId).sort()).toEqual(Object.values(ids).sort());
    const lq = rows.find((r) => r.runId === ids.lq)!;
    expect([lq.ok, lq.error, lq.total]).toEqual([2, 1, 3]);
    const psnr = lq.cells.psnr;
    expect(psnr.n).toBe(2);
    expect(psnr.value).toBeGreaterThan(5);
    const bench = board.benchmarks.find((b) => b.rows.some((r) => r.runId === ids.lq))!;
    expect(bench.columns.find((c) => c.id === 'psnr')!.higherIsBetter).toBe(true);
    expect(bench.rows.some((r) => r.runId === ids.classical)).toBe(true);
    // dataset a (two runs) and dataset b: two content hashes, runs on one dataset under one hash
    expect(new Set(board.benchmarks.flatMap((b) => b.hashes)).size).toBe(2);
  });

  it('shows every sample of a run with its error and the files behind each image', async () => {
    const d = await readModel(results).run(ids.lq);
    expect(d.samples.map((s) => [s.sampleId, s.status])).toEqual([
      ['s00', 'ok'],
      ['s01', 'error'],
      ['s02', 'ok'],
    ]);
    expect(d.samples[1].error).toMatch(/s01\.png/);
    expect(d.samples[0].numRefs).toBe(2);
    expect((await readModel(results).image(ids.lq, 's00', 'gt')).path).toBe(realpathSync(join(root, 'a', 'gt', 's00.png')));
    expect((await readModel(results).image(ids.lq, 's00', 'ref-1')).path).toBe(realpathSync(join(root, 'a', 'refs', 's00', '1.png')));
    const out = await readModel(results).image(ids.lq, 's00', 'output');
    expect(out.contentType).toBe('image/png');
    expect(Buffer.from(out.body).equals(readFileSync(out.path))).toBe(true);
    await expect(readModel(results).image(ids.lq, 's01', 'output')).rejects.toThrow(/no output/);
    await expect(readModel(results).image(ids.lq, 's00', 'ref-7')).rejects.toThrow(/no image 'ref-7'/);
  });

  it('compares runs over the samples they share, against a baseline, with paired statistics', async () => {
    const same = await readModel(results).compare({ runs: [ids.lq, ids.classical], metric: 'psnr' });
    expect(same.baseline).toBe(ids.lq);
    expect(same.shared.ids).toEqual(['s00', 's02']); // s01's LQ is broken in both runs
    expect([same.shared.total, same.shared.failed]).toEqual([3, 1]);
    const lq = sampleLines(join(results, 'runs', ids.lq));
    const cl = sampleLines(join(results, 'runs', ids.classical));
    const a = ['s00', 's02'].map((s) => lq.get(s)!.metrics.psnr);
    const b = ['s00', 's02'].map((s) => cl.get(s)!.metrics.psnr);
    const d = same.deltas[ids.classical].psnr;
    const want = pairedComparison(a, b, true);
    expect(d.delta).toBeCloseTo((b[0] - a[0] + b[1] - a[1]) / 2, 12);
    expect([d.n, d.wins + d.ties + d.losses, d.ci95]).toEqual([2, 2, want.ci95]);
    expect(same.plot!.values[ids.classical]).toEqual(b);
    // Same ids with other inputs (dataset b has other references) are never paired.
    const diff = await readModel(results).compare({ runs: [ids.lq, ids.other] });
    expect(diff.shared.ids).toEqual([]);
    expect(diff.shared.differentInputs).toBe(1);
    await expect(readModel(results).compare({ runs: ['nope'] })).rejects.toThrow(/no run 'nope'/);
    await expect(readModel(results).compare({ runs: [ids.lq], baseline: ids.other })).rejects.toThrow(/baseline .* is not one of the compared runs/);
  });

  it('an unknown metric is named, with the metrics there are, and draws nothing', async () => {
    const c = await readModel(results).compare({ runs: [ids.lq, ids.classical], metric: 'foo' });
    expect(c.unknownMetric).toBe('foo');
    expect(c.plot).toBeNull();
    expect(c.columns.map((x) => x.id)).toEqual(['psnr', 'time-ms']);
  });

  it('the leaderboard ranks whole runs over their shared samples and lists shard runs apart', async () => {
    const shard = await runSpec(
      { name: 'classical', dataset: { adapter: 'folder', options: { root: join(root, 'a') } }, restorer: { id: 'classical' }, metrics: ['psnr'] },
      { resultsDir: results, quiet: true, shard: { index: 0, count: 2 } },
    );
    const board = await readModel(results).leaderboard();
    expect(board.shards).toEqual([`${shard.runId} (shard 1 of 2)`]);
    const a = board.benchmarks.find((b) => b.rows.some((r) => r.runId === ids.lq))!;
    expect(a.rows.map((r) => r.runId).sort()).toEqual([ids.lq, ids.classical].sort()); // the shard is not ranked
    expect(a.shared.ids).toEqual(['s00', 's02']); // s01's LQ is broken: failed in lq
    expect(a.rows.find((r) => r.runId === ids.classical)!.cells.psnr.n).toBe(2);
    expect(a.differs).toBe(false); // both runs have the same 2 ok samples
    const psnr = a.rows.find((r) => r.runId === ids.classical)!.cells.psnr;
    const cl = sampleLines(join(results, 'runs', ids.classical));
    expect(psnr.value).toBeCloseTo((cl.get('s00')!.metrics.psnr + cl.get('s02')!.metrics.psnr) / 2, 12);
  });
  it('the leaderboard and the comparison are cached in memory until a file of one of their runs changes', async () => {
    const board = await readModel(results).leaderboard();
    expect(await readModel(results).leaderboard()).toBe(board); // warm: the same result, not recomputed
    const cmp = await readModel(results).compare({ runs: [ids.lq, ids.classical], metric: 'psnr' });
    expect(await readModel(results).compare({ runs: [ids.lq, ids.classical], metric: 'psnr' })).toBe(cmp);
    expect(await readModel(results).compare({ runs: [ids.lq, ids.classical], metric: 'time-ms' })).not.toBe(cmp); // another query
    const file = join(results, 'runs', ids.classical, 'samples.jsonl');
    const before = readFileSync(file);
    writeFileSync(file, Buffer.concat([before, Buffer.from('{"not":"a sample line"}\n')]));
    try {
      const after = await readModel(results).leaderboard();
      expect(after).not.toBe(board);
      const row = after.benchmarks.flatMap((b) => b.rows).find((r) => r.runId === ids.classical)!;
      expect(row.problems.join('\n')).toMatch(/samples\.jsonl:\d+/);
      const cmp2 = await readModel(results).compare({ runs: [ids.lq, ids.classical], metric: 'psnr' });
      expect(cmp2).not.toBe(cmp);
    } finally {
      writeFileSync(file, before);
    }
    const restored = await readModel(results).leaderboard();
    expect(restored.benchmarks.flatMap((b) => b.rows).find((r) => r.runId === ids.classical)!.problems).toEqual([]);
  });
});
