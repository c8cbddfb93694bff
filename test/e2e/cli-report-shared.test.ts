/**
 * @file `refbench report` compares runs of one benchmark only over the samples they share (same sample id AND the
 * same input hash): without `--shared` it warns, saying "n shared of N" and why the others are not shared; with
 * `--shared` every per-image mean is over the shared samples. Driven through the CLI; expected values are computed
 * here from samples.jsonl.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DATASETS } from '../../src/lib/server/datasets/index.ts';
import { encodePng } from '../../src/lib/server/image/io.ts';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { folderDataset, patternImage, writeFolderDataset } from '../helpers/folder-dataset.ts';
import { cli, sampleLines } from '../helpers/cli.ts';

let root: string;
let results: string;
/** classical and lq on all 4 samples of A; lq on the first 3 of A; lq on B (s01's LQ differs from A's). */
const run = { full: '', fullLq: '', limited: '', otherInputs: '' };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-shared-'));
  results = join(root, 'results');
  await writeFolderDataset(join(root, 'a'), 4, 1);
  await writeFolderDataset(join(root, 'b'), 4, 1);
  writeFileSync(join(root, 'b', 'lq', 's01.png'), await encodePng(patternImage(77))); // same id, other input
  for (const k of ['a', 'b']) {
    const id = `test-folder-shared-${k}`;
    const ds = folderDataset(join(root, k)); // both report dataset id 'test-folder': one benchmark
    if (!DATASETS.has(id)) DATASETS.register(id, { options: z.object({}).strict(), create: async () => ds }, 'test/e2e/cli-report-shared.test.ts');
  }
  const go = async (name: string, adapter: string, restorer: string, limit?: number) =>
    (await runSpec({ name, dataset: { adapter, ...(limit ? { limit } : {}) }, restorer: { id: restorer }, metrics: ['psnr'] }, { resultsDir: results, quiet: true })).runId;
  run.full = await go('full', 'test-folder-shared-a', 'classical');
  run.fullLq = await go('full-lq', 'test-folder-shared-a', 'lq');
  run.limited = await go('limited', 'test-folder-shared-a', 'lq', 3);
  run.otherInputs = await go('other', 'test-folder-shared-b', 'lq');
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Mean PSNR of a run over these sample ids, from its samples.jsonl. */
function psnrMean(runId: string, ids: readonly string[]): number {
  const lines = sampleLines(join(results, 'runs', runId));
  return ids.reduce((s, id) => s + lines.get(id)!.metrics.psnr, 0) / ids.length;
}

function csvRow(csv: string, runId: string): (k: string) => string {
  const [head, ...rows] = csv.trim().split('\n').map((l) => l.split(','));
  const row = rows.find((r) => r[0] === runId)!;
  return (k) => row[head.indexOf(k)];
}

describe('refbench report: comparable by default', () => {
  it('warns when runs of one benchmark cover different samples, with n shared of N and why', async () => {
    const r = await cli(['report', run.full, run.limited, '--results-dir', results]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('warning: the 2 runs on test-folder cover different samples: 3 shared of 4 (1 missing in some run)');
    expect(r.out).toContain('--shared compares them on the 3 shared samples');
    // Without --shared each run keeps its own samples (the full run's mean is over all 4).
    const csv = await cli(['report', run.full, run.limited, '--results-dir', results, '--format', 'csv']);
    expect(csv.err).toContain('3 shared of 4 (1 missing in some run)');
    expect(Number(csvRow(csv.out, run.full)('psnr'))).toBeCloseTo(psnrMean(run.full, ['s00', 's01', 's02', 's03']), 10);
  });

  it('--shared restricts every run to the shared samples', async () => {
    const r = await cli(['report', run.full, run.limited, '--results-dir', results, '--format', 'csv', '--shared']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).not.toContain('warning');
    expect(r.err).toContain('--shared: the 2 runs on test-folder are compared on the samples they share: 3 shared of 4');
    for (const id of [run.full, run.limited]) {
      expect(csvRow(r.out, id)('psnr_n')).toBe('3');
      expect(Number(csvRow(r.out, id)('psnr'))).toBeCloseTo(psnrMean(id, ['s00', 's01', 's02']), 10);
    }
  });

  it('the same sample id with a different input is not shared', async () => {
    const r = await cli(['report', run.full, run.otherInputs, '--results-dir', results, '--compact']);
    expect(r.code, r.err).toBe(0);
    expect(r.out.replace(/\s+/g, ' ')).toContain('3 shared of 4 (1 with different inputs under the same id)');
    const s = await cli(['report', run.full, run.otherInputs, '--results-dir', results, '--format', 'csv', '--shared']);
    expect(Number(csvRow(s.out, run.otherInputs)('psnr'))).toBeCloseTo(psnrMean(run.otherInputs, ['s00', 's02', 's03']), 10);
    expect(csvRow(s.out, run.full)('psnr_n')).toBe('3');
  });

  it('runs over the same samples get no warning', async () => {
    const r = await cli(['report', run.full, run.fullLq, '--results-dir', results]);
    expect(r.out).not.toContain('warning');
    expect(r.out).toContain('test-folder: the 2 runs cover the same samples (4 shared of 4, same inputs).');
  });
});
