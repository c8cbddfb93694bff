/**
 * The `precomputed` restorer through `refbench run` (how a baseline's published outputs are scored): a folder with
 * a good image, a missing one, a corrupt one and one of the wrong size gives coverage 2/5 with a message per failed
 * sample naming its file; run.json records the folder's content hash; a changed folder is refused on resume; a
 * pattern that matches nothing is a whole-run error that shows what the folder holds. Outputs with semi-transparent
 * alpha are scored on their RGB (alpha dropped) with one warning per run naming them; a named pipe among the
 * outputs fails its sample as "not a regular file" (not "missing"), and is never opened for reading.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/lib/server/image/io.ts';
import { cli, runDirOf, sampleLines } from '../helpers/cli.ts';
import { patternImage, writeFolderDataset } from '../helpers/folder-dataset.ts';

let root: string;
let results: string;
let outDir: string;
let spec: string;

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-precomputed-'));
  results = join(root, 'results');
  await writeFolderDataset(join(root, 'ds'), 5, 1);
  // The "published outputs": s00 = GT (perfect), s01 missing, s02 corrupt, s03 256², s04 = LQ (ok).
  outDir = join(root, 'outputs', 'final_results');
  mkdirSync(outDir, { recursive: true });
  copyFileSync(join(root, 'ds', 'gt', 's00.png'), join(outDir, 's00.png'));
  writeFileSync(join(outDir, 's02.png'), Buffer.concat([readFileSync(join(root, 'ds', 'gt', 's02.png')).subarray(0, 200), Buffer.alloc(50)]));
  writeFileSync(join(outDir, 's03.png'), await encodePng(patternImage(3, 256)));
  copyFileSync(join(root, 'ds', 'lq', 's04.png'), join(outDir, 's04.png'));
  writeFileSync(join(root, 'outputs', 'log.txt'), 'not an output');
  spec = join(root, 'baseline.yaml');
  writeFileSync(
    spec,
    [
      'name: baseline',
      `dataset: { adapter: folder, options: { root: ${join(root, 'ds')} } }`,
      `restorer: { id: precomputed, options: { dir: ${join(root, 'outputs')}, pattern: 'final_results/{id}.png', method: 'test baseline v0' } }`,
      'metrics: [psnr]',
    ].join('\n'),
  );
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('precomputed restorer', () => {
  it('scores the folder: missing, corrupt and wrong-size files fail their sample with a clear message; coverage 2/5', async () => {
    const r = await cli(['run', spec, '--results-dir', results, '-q']);
    expect(r.code, r.err).toBe(3); // samples failed (run --help: exit status)
    expect(r.out).toMatch(/2\/5 ok, 3 failed/);
    expect(r.out).toMatch(/psnr: [\d.]+ \(2\/5\)/);
    const dir = runDirOf(results, 'baseline');
    const lines = sampleLines(dir);
    expect(lines.get('s00')!.status).toBe('ok');
    expect(lines.get('s00')!.metrics.psnr).toBe(80); // identical to GT: pyiqa's eps gives 80 dB
    expect(lines.get('s04')!.status).toBe('ok');
    expect(lines.get('s01')!.error).toMatch(/no output file for sample 's01': .*final_results\/s01\.png is not in the folder \(a missing output counts against coverage\)/);
    expect(lines.get('s02')!.error).toMatch(/corrupt or unusable output for sample 's02': .*final_results\/s02\.png/);
    expect(lines.get('s03')!.error).toMatch(/final_results\/s03\.png is 256×256, expected 512×512 .*never resized/);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary.metrics.psnr.coverage).toBe('2/5');

    // Provenance: the content hash over the matching files (log.txt is not an output and not hashed).
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    const files = ['final_results/s00.png', 'final_results/s02.png', 'final_results/s03.png', 'final_results/s04.png'];
    const expected = sha(files.map((f) => `${f}\t${sha(readFileSync(join(root, 'outputs', f)))}\n`).join(''));
    expect(run.restorer.weights.kind).toBe('outputs');
    expect(run.restorer.weights.files[0].sha256).toBe(expected);
    expect(run.restorer.settings).toMatchObject({ contentSha256: expected, files: 4, pattern: 'final_results/{id}.png', method: 'test baseline v0' });
    expect(run.restorer.untrained).toBe(false);
  });

  it('refuses to resume over a folder whose content changed', async () => {
    writeFileSync(join(outDir, 's01.png'), await encodePng(patternImage(1)));
    const r = await cli(['run', spec, '--results-dir', results, '-q', '--retry-failed']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/weight file\(s\) changed since this run started \(.*outputs.*sha256 .* → .*\).*--fresh/);
    rmSync(join(outDir, 's01.png'));
  });

  it('a pattern that matches no file is a whole-run error showing what the folder holds', async () => {
    const bad = join(root, 'bad.yaml');
    writeFileSync(bad, readFileSync(spec, 'utf8').replace("pattern: 'final_results/{id}.png'", "pattern: '{id}_00.png'").replace('name: baseline', 'name: bad'));
    const r = await cli(['run', bad, '--results-dir', results, '-q']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/restorer\.options\.pattern: no file in .*outputs matches '\{id\}_00\.png' \(it holds 5 file\(s\), e\.g\. final_results\/s00\.png/);
    const esc = join(root, 'esc.yaml');
    writeFileSync(esc, readFileSync(spec, 'utf8').replace("pattern: 'final_results/{id}.png'", "pattern: '../ds/gt/{id}.png'").replace('name: baseline', 'name: esc'));
    const e = await cli(['run', esc, '--results-dir', results, '-q']);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/pattern: '\.\.\/ds\/gt\/\{id\}\.png' points outside restorer\.options\.dir/);
  });
});

describe('precomputed outputs with alpha, and not regular files', () => {
  it('semi-transparent alpha: scored on RGB, one warning per run naming the files; a named pipe is "not a regular file"', async () => {
    const dir = join(root, 'alpha-outputs');
    mkdirSync(dir);
    const rgba = async (seed: number, alpha: (x: number, y: number) => number) => {
      const { width, height, data } = patternImage(seed);
      const out = Buffer.alloc(width * height * 4);
      for (let i = 0; i < width * height; i++) {
        out.set(data.subarray(i * 3, i * 3 + 3), i * 4);
        out[i * 4 + 3] = alpha(i % width, Math.floor(i / width));
      }
      return sharp(out, { raw: { width, height, channels: 4 } }).png().toBuffer();
    };
    writeFileSync(join(dir, 's00.png'), await rgba(0, () => 255)); // alpha channel, fully opaque: no warning
    writeFileSync(join(dir, 's01.png'), await rgba(1, (x) => (x < 256 ? 128 : 255))); // half the image at 50%
    writeFileSync(join(dir, 's02.png'), await rgba(2, (x, y) => (x === 0 && y === 0 ? 0 : 255))); // one transparent pixel
    execFileSync('mkfifo', [join(dir, 's03.png')]);
    copyFileSync(join(root, 'ds', 'gt', 's04.png'), join(dir, 's04.png'));
    const alphaSpec = join(root, 'alpha.yaml');
    writeFileSync(
      alphaSpec,
      ['name: alpha', `dataset: { adapter: folder, options: { root: ${join(root, 'ds')} } }`, `restorer: { id: precomputed, options: { dir: ${dir} } }`, 'metrics: [psnr]'].join('\n'),
    );
    const r = await cli(['run', alphaSpec, '--results-dir', results, '--progress', 'lines', '--allow-failures']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('4/5 ok, 1 failed');
    const warnings = r.err.split('\n').filter((l) => /semi-transparent/.test(l));
    expect(warnings, r.err).toHaveLength(1);
    expect(warnings[0]).toContain('2 output(s) have semi-transparent alpha');
    expect(warnings[0]).toContain('s01.png');
    expect(warnings[0]).toContain('s02.png');
    expect(warnings[0]).not.toContain('s00.png');
    expect(warnings[0]).toMatch(/alpha is dropped: the RGB values are scored as they are, not composited/);
    const lines = sampleLines(runDirOf(results, 'alpha'));
    // The RGB of s00 is GT's pattern 0: scored as it is (alpha dropped), identical to GT.
    expect(lines.get('s00')!.metrics.psnr).toBe(80);
    expect(lines.get('s01')!.status).toBe('ok');
    expect(lines.get('s03')!.status).toBe('error');
    expect(lines.get('s03')!.error).toContain(`${join(dir, 's03.png')}: is not a regular file (a named pipe, socket, device or folder)`);
    expect(lines.get('s03')!.error).not.toMatch(/no output file|missing/);
  }, 60_000);
});
