import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePythonStringList } from '../../../../src/lib/eval/datasets/python-list.ts';
import { createFfhqRef } from '../../../../src/lib/server/datasets/ffhq-ref.ts';
import { createSynthfacesRef, type SynthfacesConfig } from '../../../../src/lib/server/datasets/synthfaces.ts';
import { ensureSynthfaces, synthfacesIsValid } from '../../../../src/lib/server/datasets/synthfaces/generate.ts';
import { DATASETS } from '../../../../src/lib/server/datasets/index.ts';

// A shrunken benchmark (2 identities × 3 images) keeps the test fast; the full one uses the same code path.
const SMALL: SynthfacesConfig = { identitySizes: [3, 3] };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'refbench-synth-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('synthfaces-ref', () => {
  it('generates deterministically, in the FFHQ-Ref layout, and skips a valid folder', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    expect((await ensureSynthfaces(a, undefined, SMALL)).generated).toBe(true);
    expect((await ensureSynthfaces(b, undefined, SMALL)).generated).toBe(true);
    const ma = JSON.parse(await readFile(join(a, 'manifest.json'), 'utf8'));
    const mb = JSON.parse(await readFile(join(b, 'manifest.json'), 'utf8'));
    expect(ma.files).toEqual(mb.files);
    expect(Object.keys(ma.files)).toHaveLength(6 * 4 + 2);
    expect((await ensureSynthfaces(a, undefined, SMALL)).generated).toBe(false);

    // CSV: every image a target, 2+ refs of the same identity, never itself.
    const csv = (await readFile(join(a, 'reference_mapping/test_references.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('gt_image,lq_image,ref_image');
    expect(csv).toHaveLength(7);
    const group = (n: string): number => Math.floor(Number(n.slice(0, 5)) / 3);
    for (const row of csv.slice(1)) {
      const name = row.slice(0, row.indexOf(','));
      const refs = parsePythonStringList(row.slice(row.indexOf('"') + 1, row.lastIndexOf('"')));
      expect(refs.length).toBeGreaterThanOrEqual(2);
      expect(refs).not.toContain(name);
      for (const r of refs) expect(group(r)).toBe(group(name));
    }
    // params.jsonl: one line per LQ image and level.
    const params = (await readFile(join(a, 'params.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(params).toHaveLength(12);
    expect(new Set(params.map((p) => p.level))).toEqual(new Set(['severe', 'moderate']));
    expect(params.find((p) => p.level === 'severe').scale).toBeGreaterThanOrEqual(8);

    // Readable (and clean) through the ffhq-ref adapter.
    const ds = await createFfhqRef({ root: a, hqDir: join(a, 'images512x512'), level: 'moderate' });
    const samples = await ds.samples();
    expect(samples.map((s) => s.id)).toEqual(['00000', '00001', '00002', '00003', '00004', '00005']);
    expect(samples[0].lq).toBe(join(a, 'test_images/moderate_degrad/00000.png'));
    expect(await ds.inspect()).toEqual([]);
  });

  it('detects a partial or corrupted folder of its own and regenerates it', async () => {
    const c = join(dir, 'c');
    await ensureSynthfaces(c, undefined, SMALL);
    const good = JSON.parse(await readFile(join(c, 'manifest.json'), 'utf8')).files;
    await unlink(join(c, 'test_images/severe_degrad/00004.png'));
    expect(await synthfacesIsValid(c, SMALL)).toBe(false);
    expect((await ensureSynthfaces(c, undefined, SMALL)).generated).toBe(true);
    await writeFile(join(c, 'images512x512/00001.png'), 'truncated');
    expect(await synthfacesIsValid(c, SMALL)).toBe(false);
    // A swap interrupted by a kill leaves the `complete: false` marker: still ours, regenerated, unreadable meanwhile.
    const m = JSON.parse(await readFile(join(c, 'manifest.json'), 'utf8'));
    await writeFile(join(c, 'manifest.json'), JSON.stringify({ ...m, files: {}, complete: false }));
    await expect(createSynthfacesRef({ root: c })).rejects.toThrow(/incomplete.*refbench data synth --out/);
    expect((await ensureSynthfaces(c, undefined, SMALL)).generated).toBe(true);
    expect(JSON.parse(await readFile(join(c, 'manifest.json'), 'utf8')).files).toEqual(good);
  });

  it('refuses to generate into a non-empty folder that is not its own, and opening never generates', async () => {
    const d = join(dir, 'd');
    await mkdir(join(d, 'test_images'), { recursive: true });
    await writeFile(join(d, 'notes.txt'), 'mine');
    await writeFile(join(d, 'test_images', 'keep.png'), 'mine too');
    await expect(ensureSynthfaces(d, undefined, SMALL)).rejects.toThrow(new RegExp(`${d}: the folder is not empty and has no synthfaces-ref manifest.json`));
    // A manifest of something else is not our marker either.
    await writeFile(join(d, 'manifest.json'), JSON.stringify({ generator: 'other-tool' }));
    await expect(ensureSynthfaces(d, undefined, SMALL)).rejects.toThrow(/not refbench's own/);
    await expect(createSynthfacesRef({ root: d })).rejects.toThrow(/not a synthfaces-ref manifest/);
    const e = join(dir, 'e');
    await expect(createSynthfacesRef({ root: e })).rejects.toThrow(new RegExp(`${e}: no synthfaces-ref benchmark here`));
    expect(await readdir(d).then((x) => x.sort())).toEqual(['manifest.json', 'notes.txt', 'test_images']);
    expect(await readFile(join(d, 'test_images', 'keep.png'), 'utf8')).toBe('mine too');
    await expect(readdir(e)).rejects.toThrow(/ENOENT/);
  });

  it('is registered as a dataset adapter', () => {
    expect(DATASETS.has('synthfaces-ref')).toBe(true);
    expect(DATASETS.has('ffhq-ref')).toBe(true);
  });
});
