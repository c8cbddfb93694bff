import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../../../../src/lib/eval/datasets/types.ts';
import { createCelebaTestRef } from '../../../../src/lib/server/datasets/celeba-test-ref.ts';
import { createFfhqRef } from '../../../../src/lib/server/datasets/ffhq-ref.ts';
import { createFolderDataset } from '../../../../src/lib/server/datasets/folder.ts';
import { DATASETS } from '../../../../src/lib/server/datasets/index.ts';
import { loadHq } from '../../../../src/lib/server/datasets/load.ts';
import { encodePng } from '../../../../src/lib/server/image/io.ts';
import { main } from '../../../../src/cli/main.ts';

const FIX = join(import.meta.dirname, '../../../fixtures/datasets');
let dir: string;

async function png(path: string, size: number, shade = 128): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (shade + (i % 7)) & 255;
  await writeFile(path, await encodePng({ width: size, height: size, data }, 1));
}

/** FFHQ-Ref layout over ffhq-ref-broken/test_references.csv; returns { root, hq }. */
async function brokenFfhq(): Promise<{ root: string; hq: string }> {
  const root = join(dir, 'FFHQ-Ref');
  const hq = join(dir, 'ffhq1024');
  await mkdir(join(root, 'reference_mapping'), { recursive: true });
  await copyFile(join(FIX, 'ffhq-ref-broken/test_references.csv'), join(root, 'reference_mapping/test_references.csv'));
  const lq = join(root, 'test_images/severe_degrad');
  await png(join(hq, '00000/00001.png'), 1024); // FFHQ's 1000-image subfolders
  await png(join(hq, '00002.png'), 512);
  await png(join(hq, '00003.png'), 512);
  await png(join(hq, '00004.png'), 300); // wrong HQ size
  for (const n of ['00001', '00002']) await png(join(lq, `${n}.png`), 512);
  await png(join(lq, '00004.png'), 256); // wrong LQ size
  // Truncated LQ: the first half of a valid PNG.
  await png(join(dir, 'whole.png'), 512, 3);
  const { readFile } = await import('node:fs/promises');
  const whole = await readFile(join(dir, 'whole.png'));
  await writeFile(join(lq, '00003.png'), whole.subarray(0, Math.floor(whole.length / 2)));
  return { root, hq };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'refbench-ds-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ffhq-ref adapter', () => {
  it('lists samples in CSV order with refs resolved in hqDir (incl. subfolders)', async () => {
    const { root, hq } = await brokenFfhq();
    const ds = await createFfhqRef({ root, hqDir: hq, level: 'severe' });
    expect(ds.info).toMatchObject({ id: 'ffhq-ref-test-severe', version: '1', adapter: 'ffhq-ref' });
    const s = await ds.samples();
    expect(s.map((x) => x.id)).toEqual(['00001', '00002', '00003', '00004']);
    expect(s[0].gt).toBe(join(hq, '00000/00001.png'));
    expect(s[0].lq).toBe(join(root, 'test_images/severe_degrad/00001.png'));
    expect(s[1].refs).toEqual([join(hq, '00000/00001.png'), join(hq, 'missing ref.png')]);
    expect(s[3].refs).toEqual([]);
    // 1024 GT is resized to 512 (PIL bicubic).
    const gt = await loadHq(s[0].gt!);
    expect([gt.width, gt.height]).toEqual([512, 512]);
  });

  it('inspect reports the missing ref, the truncated LQ and wrong sizes with file names and CSV lines', async () => {
    const { root, hq } = await brokenFfhq();
    const ds = await createFfhqRef({ root, hqDir: hq });
    const problems = await ds.inspect();
    const text = problems.map((p) => `${p.file} [${p.field}] ${p.message}`);
    expect(problems).toHaveLength(4);
    expect(text.find((t) => t.includes('missing ref.png'))).toMatch(/\[ref\] ref image not found \(from .*test_references\.csv:3 \[ref_image\]\)/);
    expect(text.find((t) => t.includes('severe_degrad/00003.png'))).toMatch(/\[lq\] lq image cannot be decoded.*test_references\.csv:4/);
    expect(text.find((t) => t.includes('severe_degrad/00004.png'))).toMatch(/256×256, expected 512×512.*:5/);
    expect(text.find((t) => t.includes('ffhq1024/00004.png'))).toMatch(/\[gt\] gt image is 300×300, expected 512×512 or 1024×1024/);
  });

  it('samples() throws one DatasetError listing every malformed line and duplicate id', async () => {
    const root = join(dir, 'malformed');
    await mkdir(join(root, 'reference_mapping'), { recursive: true });
    await copyFile(join(FIX, 'ffhq-ref-malformed/test_references.csv'), join(root, 'reference_mapping/test_references.csv'));
    const ds = await createFfhqRef({ root, hqDir: join(root, 'hq') });
    const err = await ds.samples().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DatasetError);
    const problems = (err as DatasetError).problems;
    expect(problems.map((p) => p.line).sort()).toEqual([3, 4, 5, 6, 8]);
    expect(problems.find((p) => p.line === 3)!.message).toMatch(/duplicate sample id '00001' \(first on line 2\)/);
    expect(problems.find((p) => p.line === 4)!.message).toMatch(/expected 3 fields/);
    expect(problems.find((p) => p.line === 5)).toMatchObject({ field: 'ref_image' });
    expect(problems.find((p) => p.line === 6)!.message).toMatch(/not a Python list/);
    expect(problems.find((p) => p.line === 8)).toMatchObject({ field: 'gt_image' });
    expect((err as Error).message).toMatch(/test_references\.csv:3/);
    // inspect() returns the same problems instead of throwing.
    expect((await ds.inspect()).length).toBe(5);
  });

  it('validates options with the field name', async () => {
    await expect(createFfhqRef({})).rejects.toThrow("dataset adapter 'ffhq-ref': options.root: expected string, got nothing (missing)");
    await expect(createFfhqRef({ root: dir, level: 'mild' })).rejects.toThrow('options.level: expected one of "severe", "moderate", got "mild"');
    await expect(createFfhqRef({ root: dir, levle: 'moderate' })).rejects.toThrow("options.levle: unknown key 'levle'; did you mean 'level'?");
    await expect(createFfhqRef({ root: dir, split: 'val' })).rejects.toThrow(/options\.lqDir is required for split 'val'/);
  });
});

describe('celeba-test-ref and folder adapters', () => {
  it('celeba-test-ref reads the CSV with overridable folders', async () => {
    const root = join(dir, 'celeba');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'test_references.csv'), 'gt_image,lq_image,ref_image\n10.jpg,10.png,"[\'20.jpg\', \'30.jpg\']"\n');
    await png(join(root, 'celeba_test_images/lq/10.png'), 512);
    await png(join(root, 'celeba_test_images/hq/10.jpg'), 512);
    await png(join(root, 'all/20.jpg'), 1024);
    await png(join(root, 'all/30.jpg'), 1024);
    const ds = await createCelebaTestRef({ root, refDir: join(root, 'all') });
    const s = await ds.samples();
    expect(s).toEqual([{ id: '10', gt: join(root, 'celeba_test_images/hq/10.jpg'), lq: join(root, 'celeba_test_images/lq/10.png'), refs: [join(root, 'all/20.jpg'), join(root, 'all/30.jpg')] }]);
    expect(await ds.inspect()).toEqual([]);
  });

  it('folder: id = lq stem, sorted refs, optional gt and masks, duplicate stems rejected', async () => {
    const root = join(dir, 'My Faces');
    await png(join(root, 'lq/b.png'), 512);
    await png(join(root, 'lq/a.png'), 512);
    await png(join(root, 'gt/a.png'), 1024);
    await png(join(root, 'refs/a/z.png'), 512);
    await png(join(root, 'refs/a/m.png'), 512);
    await png(join(root, 'masks/a.png'), 512);
    const ds = await createFolderDataset({ root });
    expect(ds.info.id).toBe('folder-my-faces');
    const s = await ds.samples();
    expect(s.map((x) => x.id)).toEqual(['a', 'b']);
    expect(s[0]).toEqual({ id: 'a', lq: join(root, 'lq/a.png'), gt: join(root, 'gt/a.png'), mask: join(root, 'masks/a.png'), refs: [join(root, 'refs/a/m.png'), join(root, 'refs/a/z.png')] });
    expect(s[1]).toEqual({ id: 'b', lq: join(root, 'lq/b.png'), refs: [] });
    expect(await ds.inspect()).toEqual([]);
    await png(join(root, 'lq/a.jpg'), 512);
    await expect(ds.samples()).rejects.toThrow(/duplicate sample id 'a'/);
  });

  it('every adapter rejects sample ids that could name a path, naming the file or CSV line', async () => {
    // folder: the id is the LQ file stem, so '...png' would be the id '..'.
    const root = join(dir, 'bad-ids');
    await png(join(root, 'lq/ok.png'), 512);
    await png(join(root, 'lq/...png'), 512);
    await png(join(root, 'lq/tab\there.png'), 512);
    const err = await createFolderDataset({ root }).then((ds) => ds.samples()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    const msg = (err as Error).message;
    expect(msg).toContain(`${join(root, 'lq', '...png')}: sample id '..' would name a folder`);
    expect(msg).toMatch(/tab\\there.*control character U\+0009/);
    // CSV adapters (ffhq-ref, celeba-test-ref, synthfaces-ref share the reader): bad ids and names that climb out.
    const csvRoot = join(dir, 'bad-csv');
    await mkdir(join(csvRoot, 'reference_mapping'), { recursive: true });
    await writeFile(
      join(csvRoot, 'reference_mapping/test_references.csv'),
      [
        'gt_image,lq_image,ref_image',
        '...png,a.png,"[\'r.png\']"',
        '00001.png,../../etc/passwd,"[\'r.png\']"',
        '00002.png,b.png,"[\'../../../etc/shadow\']"',
        '/etc/passwd,c.png,"[\'r.png\']"',
        '00003.png,d.png,"[\'00000/r.png\']"',
      ].join('\n') + '\n',
    );
    const csvErr = await createFfhqRef({ root: csvRoot, hqDir: join(csvRoot, 'hq') }).then((ds) => ds.samples()).catch((e: unknown) => e);
    expect(csvErr).toBeInstanceOf(DatasetError);
    const problems = (csvErr as DatasetError).problems.map((p) => `${p.line} ${p.field}: ${p.message}`);
    expect(problems).toEqual([
      expect.stringMatching(/^2 gt_image: sample id '\.\.' would name a folder/),
      expect.stringMatching(/^3 lq_image: "\.\.\/\.\.\/etc\/passwd" climbs out of its folder/),
      expect.stringMatching(/^4 ref_image: .*climbs out of its folder/),
      expect.stringMatching(/^5 gt_image: absolute path "\/etc\/passwd"/),
    ]);
  });

  it('every adapter is registered', () => {
    for (const id of ['ffhq-ref', 'celeba-test-ref', 'folder', 'synthfaces-ref']) expect(DATASETS.has(id)).toBe(true);
  });
});

describe('refbench data inspect', () => {
  it('lists every problem of a broken dataset and exits 1', async () => {
    const { root, hq } = await brokenFfhq();
    const chunks: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string | Uint8Array) => {
      chunks.push(String(s));
      return true;
    }) as typeof process.stdout.write;
    let code: number;
    try {
      code = await main(['node', 'refbench', 'data', 'inspect', 'ffhq-ref', '--root', root, '--hq-dir', hq, '--level', 'severe']);
    } finally {
      process.stdout.write = orig;
      process.exitCode = undefined;
    }
    const text = chunks.join('');
    expect(code).toBe(1);
    expect(text).toMatch(/ffhq-ref-test-severe@1/);
    expect(text).toMatch(/4 sample\(s\); 4 problem\(s\)/);
    for (const f of ['missing ref.png', 'severe_degrad/00003.png', 'severe_degrad/00004.png', 'ffhq1024/00004.png']) expect(text).toContain(f);
  });
});
