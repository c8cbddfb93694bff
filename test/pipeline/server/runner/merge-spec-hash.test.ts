/**
 * `refbench merge` recomputes each shard's spec hash from the spec its run.json records (issue 17, item 6): a shard
 * whose spec was edited after the run (here its seed) but still carries the other shards' `specHash` is refused,
 * naming it, and nothing is written; the unedited shards still merge (the recomputation agrees with `run`'s).
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../../helpers/cli.ts';
import { writeFolderDataset } from '../../../helpers/folder-dataset.ts';

const runDirs = (results: string) => readdirSync(join(results, 'runs')).map((d) => join(results, 'runs', d));

describe('refbench merge: spec hash recomputed', () => {
  const root = mkdtempSync(join(tmpdir(), 'refbench-merge-hash-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('refuses a shard whose recorded spec does not hash to its specHash; merges the genuine shards', async () => {
    await writeFolderDataset(join(root, 'ds'), 4, 1);
    const spec = join(root, 'spec.json');
    writeFileSync(spec, JSON.stringify({ name: 'mh', dataset: { adapter: 'folder', options: { root: join(root, 'ds') } }, restorer: { id: 'lq' }, metrics: ['psnr'] }));
    for (const i of [0, 1]) {
      const r = await cli(['run', spec, '--shard', `${i}/2`, '--results-dir', join(root, 'shards', String(i)), '-q']);
      expect(r.code, r.err).toBe(0);
    }
    const [s0] = runDirs(join(root, 'shards', '0'));
    const [s1] = runDirs(join(root, 'shards', '1'));
    const edited = join(root, 'edited');
    cpSync(s1, edited, { recursive: true });
    const run = JSON.parse(readFileSync(join(edited, 'run.json'), 'utf8'));
    writeFileSync(join(edited, 'run.json'), JSON.stringify({ ...run, spec: { ...run.spec, seed: run.spec.seed + 1 } }));

    const target = join(root, 'merged');
    const refused = await cli(['merge', '--results-dir', target, s0, edited]);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain(`${edited} (shard 1/2)`);
    expect(refused.err).toMatch(/spec it records hashes to [0-9a-f]{12}.*not the specHash [0-9a-f]{12} it carries/);
    expect(existsSync(join(target, 'runs')) ? readdirSync(join(target, 'runs')) : []).toEqual([]);

    const merged = await cli(['merge', '--results-dir', target, s0, s1]);
    expect(merged.code, merged.err).toBe(0);
    expect(runDirs(target)).toHaveLength(1);
  }, 300_000);
});
