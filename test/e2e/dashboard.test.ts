/**
 * The dashboard's server side end to end: runs made by the real runner over a folder dataset → the data module
 * the SvelteKit routes call (runs index through DuckDB, run detail, image files, comparison).
 */
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareRuns, imageFile, listRuns, runDetail } from '../../src/lib/server/dashboard/data.ts';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { writeFolderDataset } from '../pipeline/runner/folder-dataset.ts';

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
  it('lists runs grouped by dataset content, with DuckDB coverage and metric means', async () => {
    const rows = await listRuns(results);
    expect(rows.map((r) => r.runId).sort()).toEqual(Object.values(ids).sort());
    const lq = rows.find((r) => r.runId === ids.lq)!;
    expect([lq.ok, lq.error, lq.total]).toEqual([2, 1, 3]);
    const psnr = lq.metrics.find((m) => m.id === 'psnr')!;
    expect(psnr.n).toBe(2);
    expect(psnr.higherIsBetter).toBe(true);
    expect(psnr.value).toBeGreaterThan(5);
    const groups = new Set(rows.map((r) => r.group));
    expect(groups.size).toBe(2); // dataset a (two runs) and dataset b
    expect(rows.find((r) => r.runId === ids.classical)!.group).toBe(lq.group);
  });

  it('shows every sample of a run with its error and the files behind each image', async () => {
    const d = await runDetail(ids.lq, results);
    expect(d.samples.map((s) => [s.sampleId, s.status])).toEqual([
      ['s00', 'ok'],
      ['s01', 'error'],
      ['s02', 'ok'],
    ]);
    expect(d.samples[1].error).toMatch(/s01\.png/);
    expect(d.samples[0].numRefs).toBe(2);
    expect((await imageFile(ids.lq, 's00', 'gt', results)).path).toBe(realpathSync(join(root, 'a', 'gt', 's00.png')));
    expect((await imageFile(ids.lq, 's00', 'ref-1', results)).path).toBe(realpathSync(join(root, 'a', 'refs', 's00', '1.png')));
    const out = await imageFile(ids.lq, 's00', 'output', results);
    expect(out.contentType).toBe('image/png');
    expect(Buffer.from(out.body).equals(readFileSync(out.path))).toBe(true);
    await expect(imageFile(ids.lq, 's01', 'output', results)).rejects.toThrow(/no output/);
    await expect(imageFile(ids.lq, 's00', 'ref-7', results)).rejects.toThrow(/no image 'ref-7'/);
  });

  it('compares runs per sample and warns when their inputs differ', async () => {
    const same = await compareRuns([ids.lq, ids.classical], 'psnr', results);
    expect(same.warning).toBeNull();
    expect(same.sampleIds).toEqual(['s00', 's02']); // s01's LQ is broken in both runs
    expect(Object.keys(same.values[ids.classical]).sort()).toEqual(['s00', 's02']);
    const diff = await compareRuns([ids.lq, ids.other], 'psnr', results);
    expect(diff.warning).toMatch(/not comparable/);
    await expect(compareRuns(['nope'], 'psnr', results)).rejects.toThrow(/unknown run 'nope'/);
  });
});
