/**
 * @file Restorer outputs must be 8-bit and finite (issue 11, item 6), through `refbench run` with the `command`
 * restorer running a user program (node) that writes, per sample: an 8-bit PNG (ok), a float TIFF holding NaN,
 * +Inf, −Inf and 0.5, a finite float TIFF, a 16-bit PNG, an 8-bit PNG of the wrong size. Each bad one fails its
 * sample with a message naming the file problem; the run goes on. With the explicit
 * `outputConversion: rescale-16bit-and-float` the 16-bit and finite float files are converted by the documented
 * rule (and the choice is in run.json), while NaN/Inf still fails.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRgb } from '../../src/lib/server/image/io.ts';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';
import { cli, runDirOf, sampleLines } from '../helpers/cli.ts';
import { floatTiff, png16 } from '../helpers/images.ts';

let root: string;
let spec: string;
const results = () => join(root, 'results');

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-outputs-'));
  await writeFolderDataset(join(root, 'ds'), 5, 0); // s00..s04
  const W = 512;
  const n = W * W * 3;
  const nonFinite = new Float32Array(n).fill(0.5);
  nonFinite.set([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], 0);
  writeFileSync(join(root, 'nonfinite.tif'), floatTiff(W, W, nonFinite));
  writeFileSync(join(root, 'float.tif'), floatTiff(W, W, new Float32Array(n).fill(0.5)));
  writeFileSync(join(root, 'deep.png'), await png16(W, W, new Uint16Array(n).fill(40000)));
  // The user's program: picks a prepared file by sample id (s00 returns its input unchanged).
  const program = join(root, 'restore.mjs');
  writeFileSync(
    program,
    [
      "import { copyFileSync } from 'node:fs';",
      'const [inp, out, id] = process.argv.slice(2);',
      `const files = { s01: 'nonfinite.tif', s02: 'deep.png', s03: 'float.tif' };`,
      `if (id === 's04') { copyFileSync(${JSON.stringify(join(root, 'small.png'))}, out); process.exit(0); }`,
      `copyFileSync(files[id] ? ${JSON.stringify(root)} + '/' + files[id] : inp, out);`,
    ].join('\n'),
  );
  const { encodePng } = await import('../../src/lib/server/image/io.ts');
  const { patternImage } = await import('../helpers/folder-dataset.ts');
  writeFileSync(join(root, 'small.png'), await encodePng(patternImage(1, 256)));
  spec = join(root, 'spec.yaml');
  writeFileSync(
    spec,
    `name: outputs\ndataset: { adapter: folder, options: { root: ${JSON.stringify(join(root, 'ds'))} } }\n` +
      `restorer:\n  id: command\n  options: { program: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(program)}, '{in}', '{out}', '{id}'] }\nmetrics: [psnr]\n`,
  );
});

describe('command restorer outputs', () => {
  it('non-8-bit, non-finite and mis-sized outputs fail their sample with a clear message; the run goes on', async () => {
    const r = await cli(['run', spec, '--results-dir', results(), '-q']);
    expect(r.code, r.err).toBe(3); // samples failed (run --help: exit status)
    expect(r.out).toContain('1/5 ok, 4 failed');
    const lines = sampleLines(runDirOf(results(), 'outputs'));
    expect(lines.get('s00')!.status).toBe('ok');
    expect(lines.get('s01')!.error).toMatch(/wrote an unusable output for s01: .*s01\.png: holds 3 non-finite value\(s\) \(NaN\/±Inf\) in a 32-bit float image/);
    expect(lines.get('s02')!.error).toMatch(/s02\.png: is a 16-bit \(ushort\) image; 8 bits per channel are required; write 8-bit RGB, or set restorer option outputConversion: 'rescale-16bit-and-float'/);
    expect(lines.get('s03')!.error).toMatch(/s03\.png: is a 32-bit float image; 8 bits per channel are required/);
    expect(lines.get('s04')!.error).toMatch(/output for .*lq\/s04\.png is 256×256, expected 512×512 8-bit RGB/);
    for (const id of ['s01', 's02', 's03', 's04']) expect(lines.get(id)!.metrics.psnr).toBeUndefined();
  });

  it('outputConversion rescale-16bit-and-float converts by the documented rule, is recorded, and still rejects NaN/Inf', async () => {
    const r = await cli(['run', spec, '--results-dir', results(), '-q', '--name', 'converted', '-r', 'outputConversion=rescale-16bit-and-float', '--allow-failures']);
    expect(r.code, r.err).toBe(0);
    const dir = runDirOf(results(), 'converted');
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(run.restorer.settings.outputConversion).toBe('rescale-16bit-and-float');
    const lines = sampleLines(dir);
    expect(lines.get('s01')!.error).toMatch(/non-finite/);
    expect(lines.get('s02')!.status).toBe('ok');
    expect(lines.get('s03')!.status).toBe('ok');
    // 16-bit 40000 → round(40000·255/65535) = 156; float 0.5 → round(0.5·255) = 128 (not 188: no gamma).
    expect((await readRgb(join(dir, lines.get('s02')!.output!))).data.every((v) => v === 156)).toBe(true);
    expect((await readRgb(join(dir, lines.get('s03')!.output!))).data.every((v) => v === 128)).toBe(true);
  });
});
