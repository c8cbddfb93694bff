/**
 * The summary table a new user reads (papercuts of issue 11): `report --compact` (the demo's default) keeps every
 * line within 80 columns however many runs and metrics there are, with a legend naming each lettered run; the
 * refs column says which references a run could use in words ("all (≤2)", "no refs", "≤1 of ≤2").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { COMPACT_WIDTH } from '../../src/lib/server/runner/report.ts';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { RESTORERS } from '../../src/lib/server/restorers/index.ts';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';
import { cli } from '../helpers/cli.ts';

let root: string;
let results: string;
const ids: string[] = [];
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-layout-'));
  results = join(root, 'results');
  await writeFolderDataset(join(root, 'ds'), 2, 2);
  await writeFolderDataset(join(root, 'norefs'), 2, 0);
  if (!RESTORERS.has('test-capped-refs')) {
    RESTORERS.register('test-capped-refs', {
      options: z.object({}).strict(),
      create: async () => {
        const inner = await RESTORERS.get('lq')({});
        return { ...inner, info: { ...inner.info, id: 'test-capped-refs', settings: { maxRefs: 1 } } };
      },
    }, 'test');
  }
  const metrics = ['psnr', 'ssim', 'niqe'];
  const runs: [string, string, string][] = [
    ['a-rather-long-experiment-name-lq', 'lq', 'ds'],
    ['a-rather-long-experiment-name-classical', 'classical', 'ds'],
    ['capped', 'test-capped-refs', 'ds'],
    ['zero-refs-dataset', 'lq', 'norefs'],
    ...Array.from({ length: 5 }, (_, i): [string, string, string] => [`sweep-${i}-with-a-long-name`, 'classical', 'ds']),
  ];
  for (const [i, [name, restorer, ds]] of runs.entries()) {
    const r = await runSpec(
      { name, dataset: { adapter: 'folder', options: { root: join(root, ds) } }, restorer: { id: restorer, ...(restorer === 'classical' ? { options: { radius: 1 + (i % 3) } } : {}) }, metrics },
      { resultsDir: results, quiet: true },
    );
    ids.push(r.runId);
  }
}, 120_000);

describe('report layouts', () => {
  it('--compact fits 80 columns: lettered runs with a legend, metrics as rows, values only', async () => {
    const r = await cli(['report', '--compact', '--results-dir', results]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines.filter((l) => l.length > COMPACT_WIDTH)).toEqual([]);
    for (const id of ids) expect(r.out).toContain(id);
    const rows = lines.filter((l) => /^\| (psnr|ssim|niqe|time-ms) /.test(l));
    expect(rows.length).toBeGreaterThanOrEqual(8); // 4 metrics, the 8 runs of one dataset split over ≥ 2 tables
    const labels = lines.filter((l) => l.startsWith('| metric ')).flatMap((l) => l.split('|').slice(2, -1).map((c) => c.trim()));
    expect(labels).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I']);
    for (const l of labels) expect(lines.some((x) => x.startsWith(`  ${l}  `))).toBe(true); // legend entry
    expect(r.out).not.toMatch(/±/);
    // The wide table is still there for pasting, with every column.
    const wide = await cli(['report', '--results-dir', results]);
    expect(wide.out.split('\n')[0]).toMatch(/^\| run \| restorer \| dataset \| level \| refs \| coverage \| psnr ↑ \| ssim ↑ \| niqe ↓ \| time-ms ↓ \| notes \|$/);
  });

  it('the refs column says in words which references a run could use', async () => {
    const wide = await cli(['report', '--results-dir', results]);
    const refs = (runId: string) => wide.out.split('\n').find((l) => l.startsWith(`| ${runId} `))!.split(' | ')[4];
    expect(refs(ids[0])).toBe('all (≤2)');
    expect(refs(ids[2])).toBe('≤1 of ≤2');
    expect(refs(ids[3])).toBe('no refs');
    const compact = await cli(['report', '--compact', '--results-dir', results]);
    expect(compact.out).toMatch(/capped-\w+ +test-capped-refs, refs: ≤1 of ≤2, 2\/2 ok/);
    expect(compact.out).toMatch(/zero-refs-dataset-\w+ +lq, no refs, 2\/2 ok/);
  });

  it('demo prints the compact table unless --wide', async () => {
    const r = await cli(['demo', '--help']);
    expect(r.out).toMatch(/--wide +print the full summary table/);
  });
});
