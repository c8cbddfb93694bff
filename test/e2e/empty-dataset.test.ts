/**
 * An empty dataset is an error naming the file, never an empty "0/0 ok" run (issue 11, item 12): a header-only
 * reference CSV (ffhq-ref, celeba-test-ref) through `refbench run` and `refbench data inspect`, and any adapter
 * whose sample list is empty through the runner.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DATASETS } from '../../src/lib/server/datasets/index.ts';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { cli } from '../helpers/cli.ts';

const roots: string[] = [];
const tmp = () => (roots.push(mkdtempSync(join(tmpdir(), 'refbench-empty-'))), roots[roots.length - 1]);
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

describe('a dataset without samples', () => {
  it('header-only CSV: run and data inspect fail naming the CSV and line; no run directory is made', async () => {
    const root = tmp();
    const results = join(root, 'results');
    const cases = [
      { adapter: 'ffhq-ref', csv: join(root, 'ffhq', 'reference_mapping', 'test_references.csv'), opts: { root: join(root, 'ffhq') } },
      { adapter: 'celeba-test-ref', csv: join(root, 'celeba', 'test_references.csv'), opts: { root: join(root, 'celeba') } },
    ];
    for (const c of cases) {
      mkdirSync(join(c.csv, '..'), { recursive: true });
      writeFileSync(c.csv, 'gt_image,lq_image,ref_image\n');
      const spec = join(root, `${c.adapter}.yaml`);
      writeFileSync(spec, `name: empty\ndataset:\n  adapter: ${c.adapter}\n  options: ${JSON.stringify(c.opts)}\nrestorer:\n  id: lq\n`);
      const r = await cli(['run', spec, '--results-dir', results]);
      expect(r.code, r.out).toBe(1);
      expect(r.err).toContain(`${c.csv}:1: no samples: the CSV has a header but no data rows`);
      expect(r.out).not.toMatch(/0\/0 ok/);
      expect(existsSync(join(results, 'runs'))).toBe(false);
      const i = await cli(['data', 'inspect', c.adapter, '--root', c.opts.root]);
      expect(i.code).toBe(1);
      expect(i.out + i.err).toContain(`${c.csv}:1: no samples`);
    }
  });

  it('any adapter: an empty sample list stops the run before any work, naming the dataset root', async () => {
    const root = tmp();
    if (!DATASETS.has('test-empty')) {
      DATASETS.register('test-empty', {
        options: z.object({}).strict(),
        create: async () => ({ info: { adapter: 'test-empty', id: 'nothing', version: '1', root: '/data/nothing' }, samples: async () => [], inspect: async () => [] }),
      }, 'test');
    }
    const err = await runSpec({ name: 'e', dataset: { adapter: 'test-empty' }, restorer: { id: 'lq' } }, { resultsDir: join(root, 'results'), quiet: true }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain("/data/nothing: dataset 'nothing' (adapter test-empty) lists no samples");
    expect(existsSync(join(root, 'results', 'runs'))).toBe(false);
  });
});
