/**
 * @file Found by the store fuzz test (test/fuzz/store-fuzz.test.ts): a store or input file that is not a regular
 * file. Through the CLI:
 * - samples.jsonl / summary.json replaced by a directory: `ls` and `report` name the file and go on with every
 *   run (they used to stop with a bare "EISDIR: illegal operation on a directory, read", naming nothing);
 * - samples.jsonl linked to a file outside the results folder: `run` refuses to append to it (it used to append
 *   its lines to whatever the link pointed at) and `ls` names it;
 * - a named pipe as samples.jsonl, as a dataset image or as the reference CSV: every reader answers at once
 *   naming the file (a plain read blocked for ever on the pipe);
 * - a failed atomic write (summary.json is a directory) leaves no `.summary.json.<pid>.tmp` behind;
 * - a results `runs` entry that is a file: `ls` names it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/lib/server/image/io.ts';
import { patternImage, writeFolderDataset } from '../helpers/folder-dataset.ts';
import { cli, runDirOf } from '../helpers/cli.ts';

let root: string;
let results: string;
let specFile: string;
let good: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-notafile-'));
  results = join(root, 'results');
  await writeFolderDataset(join(root, 'ds'), 2, 1);
  specFile = join(root, 'fold.yaml');
  writeFileSync(specFile, `name: fold\ndataset: { adapter: folder, options: { root: ${JSON.stringify(join(root, 'ds'))} } }\nrestorer: { id: lq }\nmetrics: [psnr]\n`);
  const r = await cli(['run', specFile, '--results-dir', results, '-q']);
  expect(r.code, r.err).toBe(0);
  good = runDirOf(results, 'fold');
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the good run under another id, with `edit` applied to its folder. */
function brokenCopy(id: string, edit: (dir: string) => void): string {
  const dir = join(results, 'runs', id);
  cpSync(good, dir, { recursive: true });
  const rj = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...rj, runId: id }));
  edit(dir);
  return dir;
}

describe('store files that are not regular files', () => {
  it('samples.jsonl and summary.json as directories: ls and report name them and report every run', async () => {
    const a = brokenCopy('dir-samples-0000000000', (d) => (rmSync(join(d, 'samples.jsonl')), mkdirSync(join(d, 'samples.jsonl'))));
    brokenCopy('dir-summary-0000000000', (d) => (rmSync(join(d, 'summary.json')), mkdirSync(join(d, 'summary.json'))));
    const ls = await cli(['ls', '--results-dir', results]);
    expect(ls.code, ls.err).toBe(0);
    expect(ls.err).toContain(`warning: ${join(a, 'samples.jsonl')}: is a directory, not a file (file skipped)`);
    const rep = await cli(['report', '--results-dir', results]);
    expect(rep.code, rep.err).toBe(0);
    for (const id of ['dir-samples-0000000000', 'dir-summary-0000000000', good.split('/').pop()!]) expect(rep.out).toContain(`| ${id} `);
    expect(rep.out).toContain(`- warning: ${join(a, 'samples.jsonl')}: is a directory, not a file (file skipped)`);
    expect(rep.out + rep.err).not.toContain('EISDIR');
    rmSync(join(results, 'runs', 'dir-samples-0000000000'), { recursive: true });
    rmSync(join(results, 'runs', 'dir-summary-0000000000'), { recursive: true });
  });

  it('run never appends through a samples.jsonl linked elsewhere; the linked file is untouched', async () => {
    const outside = join(root, 'outside.jsonl');
    writeFileSync(outside, 'precious\n');
    const lines = readFileSync(join(good, 'samples.jsonl'), 'utf8').split('\n').filter(Boolean);
    writeFileSync(join(good, 'samples.jsonl'), `${lines[0]}\n`); // s01 still to do: the run would append
    const saved = readFileSync(join(good, 'samples.jsonl'));
    rmSync(join(good, 'samples.jsonl'));
    symlinkSync(outside, join(good, 'samples.jsonl'));
    const r = await cli(['run', specFile, '--results-dir', results, '-q']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(good, 'samples.jsonl')}: is a symbolic link (the store reads and writes only regular files, never through links)`);
    expect(readFileSync(outside, 'utf8')).toBe('precious\n');
    const ls = await cli(['ls', '--results-dir', results]);
    expect(ls.err).toContain(`${join(good, 'samples.jsonl')}: is a symbolic link`);
    rmSync(join(good, 'samples.jsonl'));
    writeFileSync(join(good, 'samples.jsonl'), saved);
    expect((await cli(['run', specFile, '--results-dir', results, '-q'])).code).toBe(0);
  });

  it('a named pipe as samples.jsonl: ls, report and run answer at once, naming it', async () => {
    const dir = brokenCopy('fifo-samples-0000000000', (d) => (rmSync(join(d, 'samples.jsonl')), execFileSync('mkfifo', [join(d, 'samples.jsonl')])));
    const ls = await cli(['ls', '--results-dir', results]);
    expect(ls.err).toContain(`${join(dir, 'samples.jsonl')}: is not a regular file`);
    const rep = await cli(['report', 'fifo-samples-0000000000', '--results-dir', results]);
    expect(rep.code, rep.err).toBe(0);
    expect(rep.out).toContain(`- warning: ${join(dir, 'samples.jsonl')}: is not a regular file (a named pipe, socket or device) (file skipped)`);
    rmSync(dir, { recursive: true });
  }, 30_000);

  it('a failed atomic write leaves no temp file: summary.json as a directory', async () => {
    rmSync(join(good, 'summary.json'));
    mkdirSync(join(good, 'summary.json'));
    const r = await cli(['run', specFile, '--results-dir', results, '-q']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('summary.json');
    expect(readdirSync(good).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    rmSync(join(good, 'summary.json'), { recursive: true });
  });

  it('a file where the runs folder should be: ls names it', async () => {
    const other = join(root, 'other-results');
    mkdirSync(other);
    writeFileSync(join(other, 'runs'), 'not a folder');
    const ls = await cli(['ls', '--results-dir', other]);
    expect(ls.code).toBe(1);
    expect(ls.err).toContain(`${join(other, 'runs')}: is not a folder`);
  });
});

describe('dataset inputs that are not regular files', () => {
  it('a named pipe as an LQ image fails that sample naming the file; the run does not hang', async () => {
    const ds = join(root, 'ds-fifo');
    await writeFolderDataset(ds, 2, 1);
    rmSync(join(ds, 'lq', 's01.png'));
    execFileSync('mkfifo', [join(ds, 'lq', 's01.png')]);
    const spec = join(root, 'pipe.yaml');
    writeFileSync(spec, `name: pipe\ndataset: { adapter: folder, options: { root: ${JSON.stringify(ds)} } }\nrestorer: { id: lq }\nmetrics: [psnr]\n`);
    const r = await cli(['run', spec, '--results-dir', results, '-q']);
    expect(r.code, r.err).toBe(3); // a failed sample (run --help: exit status)
    expect(r.out).toContain('1/2 ok, 1 failed');
    const line = readFileSync(join(runDirOf(results, 'pipe'), 'samples.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.sampleId === 's01');
    expect(line.error).toContain(`${join(ds, 'lq', 's01.png')}: is not a regular file (a named pipe, socket or device)`);
  }, 60_000);

  it('a named pipe as the ffhq-ref reference CSV is a dataset error naming it', async () => {
    const ffhq = join(root, 'ffhq');
    mkdirSync(join(ffhq, 'reference_mapping'), { recursive: true });
    mkdirSync(join(ffhq, 'hq'), { recursive: true });
    writeFileSync(join(ffhq, 'hq', '00000.png'), await encodePng(patternImage(1)));
    execFileSync('mkfifo', [join(ffhq, 'reference_mapping', 'test_references.csv')]);
    const spec = join(root, 'ffhq.yaml');
    writeFileSync(spec, `name: ffhq\ndataset: { adapter: ffhq-ref, options: { root: ${JSON.stringify(ffhq)}, hqDir: ${JSON.stringify(join(ffhq, 'hq'))} } }\nrestorer: { id: lq }\nmetrics: [psnr]\n`);
    const r = await cli(['run', spec, '--results-dir', results, '-q']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(join(ffhq, 'reference_mapping', 'test_references.csv'));
    expect(r.err).toContain('cannot read the reference CSV (ENOTFILE)');
  }, 30_000);
});
