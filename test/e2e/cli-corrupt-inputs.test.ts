/**
 * @file Corrupt or mis-sized inputs are never scored (issue 11, item 5), through `refbench run` and
 * `refbench data inspect` on a `folder` dataset: a GT JPEG whose Huffman table is corrupt (it decodes, with
 * libjpeg warnings, into garbage), a 300×200 GT, a 300×200 reference and a 256² LQ each fail their own sample
 * with a message naming the file; a 1024² GT (the documented PIL-bicubic resize) is accepted; inspect and run
 * apply the same rule. `refbench run` goes on past the failed samples but exits 3 when any failed (issue 17, item 6),
 * unless `--allow-failures`, so that CI pipelines and SLURM `afterok` dependencies notice.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/lib/server/image/io.ts';
import { patternImage } from '../helpers/folder-dataset.ts';
import { cli, runDirOf, sampleLines } from '../helpers/cli.ts';
import { jpegWithCorruptHuffman } from '../helpers/images.ts';

let root: string;
let ds: string;
const rect = (w: number, h: number) => {
  const big = patternImage(9, Math.max(w, h));
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(big.data.subarray(y * big.width * 3, (y * big.width + w) * 3), y * w * 3);
  return { width: w, height: h, data };
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-corrupt-'));
  ds = join(root, 'ds');
  for (const d of ['lq', 'gt']) mkdirSync(join(ds, d), { recursive: true });
  const put = async (rel: string, buf: Uint8Array) => {
    mkdirSync(join(ds, rel, '..'), { recursive: true });
    writeFileSync(join(ds, rel), buf);
  };
  for (const id of ['ok', 'jpeg', 'gt300', 'ref300', 'lq256', 'gt1024']) {
    await put(`lq/${id}.png`, await encodePng(patternImage(id.length, id === 'lq256' ? 256 : 512)));
    await put(`refs/${id}/0.png`, await encodePng(id === 'ref300' ? rect(300, 200) : patternImage(50)));
  }
  await put('gt/ok.png', await encodePng(patternImage(1)));
  await put('gt/jpeg.jpg', await jpegWithCorruptHuffman(patternImage(2)));
  await put('gt/gt300.png', await encodePng(rect(300, 200)));
  await put('gt/ref300.png', await encodePng(patternImage(3)));
  await put('gt/lq256.png', await encodePng(patternImage(4)));
  await put('gt/gt1024.png', await encodePng(patternImage(5, 1024)));
});

describe('corrupt and mis-sized inputs', () => {
  it('the corrupt JPEG is the "decodes with warnings" kind (the case that used to be scored)', async () => {
    const { readFileSync } = await import('node:fs');
    const buf = readFileSync(join(ds, 'gt/jpeg.jpg'));
    const { info } = await sharp(buf, { failOn: 'truncated' }).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([512, 512]);
    await expect(sharp(buf, { failOn: 'warning' }).raw().toBuffer()).rejects.toThrow(/Corrupt JPEG data|Warning treated as error/);
  });

  it('refbench run: each bad file fails its own sample naming the file; the others are scored', async () => {
    const spec = join(root, 'spec.yaml');
    writeFileSync(spec, `name: corrupt\ndataset: { adapter: folder, options: { root: ${JSON.stringify(ds)} } }\nrestorer: { id: lq }\nmetrics: [psnr]\n`);
    const results = join(root, 'results');
    const r = await cli(['run', spec, '--results-dir', results, '-q']);
    expect(r.code, r.err).toBe(3);
    expect(r.out).toContain('2/6 ok, 4 failed');
    expect(r.err).toContain(`refbench: 4 of 6 samples failed (their errors are in ${join(runDirOf(results, 'corrupt'), 'samples.jsonl')}); exit status 3. Pass --allow-failures to exit 0 anyway`);
    // Resuming does not hide them (the run still holds 4 failed samples); --allow-failures accepts them.
    expect((await cli(['run', spec, '--results-dir', results, '-q'])).code).toBe(3);
    const allowed = await cli(['run', spec, '--results-dir', results, '-q', '--allow-failures']);
    expect(allowed.code, allowed.err).toBe(0);
    expect(allowed.out).toContain('2/6 ok, 4 failed');
    expect(allowed.err).not.toContain('samples failed');
    const lines = sampleLines(runDirOf(results, 'corrupt'));
    expect(lines.get('ok')!.status).toBe('ok');
    expect(lines.get('gt1024')!.status).toBe('ok');
    expect(lines.get('jpeg')).toMatchObject({ status: 'error', metrics: {} });
    expect(lines.get('jpeg')!.error).toContain(`${join(ds, 'gt/jpeg.jpg')}: not a readable image`);
    // libvips reports the decoder's own warning, or (it can lose it under load) only that a warning was an error.
    expect(lines.get('jpeg')!.error).toMatch(/Corrupt JPEG data|the decoder warned about corrupt or damaged data/);
    expect(lines.get('gt300')!.error).toContain(`${join(ds, 'gt/gt300.png')}: gt image is 300×200, expected 512×512 or 1024×1024`);
    expect(lines.get('ref300')!.error).toContain(`${join(ds, 'refs/ref300/0.png')}: ref image is 300×200, expected 512×512 or 1024×1024`);
    expect(lines.get('lq256')!.error).toContain(`${join(ds, 'lq/lq256.png')}: lq image is 256×256, expected 512×512`);
    for (const id of ['jpeg', 'gt300', 'ref300', 'lq256']) expect(lines.get(id)!.metrics.psnr).toBeUndefined();
  });

  it('refbench data inspect reports exactly the same files (one size rule for both)', async () => {
    const r = await cli(['data', 'inspect', 'folder', '--root', ds]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('4 problem(s)');
    expect(r.out).toMatch(/gt\/jpeg\.jpg \[gt\]: gt image cannot be decoded: not a readable image .*(Corrupt JPEG data|the decoder warned about corrupt or damaged data)/);
    expect(r.out).toContain(`${join(ds, 'gt/gt300.png')} [gt]: gt image is 300×200, expected 512×512 or 1024×1024`);
    expect(r.out).toContain(`${join(ds, 'refs/ref300/0.png')} [ref]: ref image is 300×200`);
    expect(r.out).toContain(`${join(ds, 'lq/lq256.png')} [lq]: lq image is 256×256, expected 512×512`);
    expect(r.out).not.toContain('gt1024');
  });
});
