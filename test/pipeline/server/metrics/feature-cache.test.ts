/**
 * The GT/reference-side feature cache (issue 9, item 6), through the CLI: a second scoring of a benchmark reuses
 * the cached ArcFace embeddings of every GT and reference (counted in the run's log) with identical values, equal
 * too to a scoring with the cache off; a read-only command does not touch the cache; a changed weights file (same
 * path, other bytes) misses and computes anew.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../../helpers/cli.ts';
import { writeFolderDataset } from '../../../helpers/folder-dataset.ts';
import { hashTree, perImage, runDirs } from '../../../helpers/shard-fixture.ts';

const FIX = join(import.meta.dirname, '../../../fixtures/ids');

describe('feature cache of the GT / reference side', () => {
  const root = mkdtempSync(join(tmpdir(), 'refbench-featcache-'));
  const saved = process.env.REFBENCH_FEATURE_CACHE;
  afterAll(() => {
    if (saved === undefined) delete process.env.REFBENCH_FEATURE_CACHE;
    else process.env.REFBENCH_FEATURE_CACHE = saved;
    rmSync(root, { recursive: true, force: true });
  });

  it('a second scoring reuses every GT and reference embedding with the same values; new weights invalidate', async () => {
    await writeFolderDataset(join(root, 'ds'), 3, 2);
    const onnx = join(root, 'arcface.onnx');
    copyFileSync(join(FIX, 'r50-narrow.onnx'), onnx);
    const spec = join(root, 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'cached',
        dataset: { adapter: 'folder', options: { root: join(root, 'ds') } },
        restorer: { id: 'lq' },
        metrics: [
          { id: 'ids-arcface-r50', options: { onnx } },
          { id: 'ids-refs-arcface-r50', options: { onnx } },
        ],
      }),
    );
    const cache = join(root, 'cache');
    process.env.REFBENCH_FEATURE_CACHE = cache;
    const score = async (name: string) => {
      const r = await cli(['run', spec, '--results-dir', join(root, name), '--progress', 'lines']);
      expect(r.code, r.err).toBe(0);
      return { log: r.err, values: perImage(runDirs(join(root, name))[0]) };
    };

    // 3 GT + 6 references, of which 7 distinct images (writeFolderDataset's sample i has references 100+i and
    // 101+i): each distinct image is embedded once, even within the first run, then reused.
    const first = await score('r1');
    expect(first.log).toContain(`feature cache (GT/reference side): 2 reused, 7 computed (${cache})`);
    const files = Object.keys(hashTree(cache));
    expect(files).toHaveLength(7);
    const second = await score('r2');
    expect(second.log).toContain(`feature cache (GT/reference side): 9 reused, 0 computed (${cache})`);
    expect(second.values).toEqual(first.values);
    const ids = Object.values(first.values).map((v) => (v as { metrics: Record<string, number> }).metrics);
    expect(ids.every((m) => Number.isFinite(m['ids-arcface-r50']) && Number.isFinite(m['ids-refs-arcface-r50']))).toBe(true);

    // The cache never changes a number: the same as computing everything.
    process.env.REFBENCH_FEATURE_CACHE = 'off';
    const off = await score('r-off');
    expect(off.log).toContain('0 reused, 9 computed (off');
    expect(off.values).toEqual(first.values);
    process.env.REFBENCH_FEATURE_CACHE = cache;

    // Read-only commands leave the cache alone.
    const before = hashTree(cache);
    expect((await cli(['report', '--results-dir', join(root, 'r1')])).code).toBe(0);
    expect((await cli(['ls', '--results-dir', join(root, 'r1')])).code).toBe(0);
    expect(hashTree(cache)).toEqual(before);

    // Other weights at the same path: nothing cached is used, and the values change.
    copyFileSync(join(FIX, 'tiny-embed-dynamic-batch.onnx'), onnx);
    const changed = await score('r3');
    expect(changed.log).toContain(`feature cache (GT/reference side): 2 reused, 7 computed (${cache})`);
    expect(changed.values).not.toEqual(first.values);
    expect(Object.keys(hashTree(cache))).toHaveLength(14);
    expect(existsSync(join(root, 'r3'))).toBe(true);
  }, 180_000);
});
