/**
 * @file Found by the store fuzz test: a corrupt results file quoted in a message must not send raw control bytes
 * to the terminal. JSON.parse's "Unexpected token" snippet quoted a line's bytes as they were, so an ESC sequence,
 * a carriage return or a right-to-left override in samples.jsonl or run.json reached the screen through
 * `refbench ls`, `refbench report` and `refbench run`. They are now shown escaped (`\u001b`), and the file and
 * line are still named.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';
import { cli, runDirOf } from '../helpers/cli.ts';

const RAW = /[\u0000-\u0008\u000b-\u001f\u007f\u202e]/;
let root: string;
let results: string;
let spec: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-ctrl-'));
  results = join(root, 'results');
  await writeFolderDataset(join(root, 'ds'), 2, 1);
  spec = join(root, 'spec.yaml');
  writeFileSync(spec, `name: ctrl\ndataset: { adapter: folder, options: { root: ${JSON.stringify(join(root, 'ds'))} } }\nrestorer: { id: lq }\nmetrics: [psnr]\n`);
  expect((await cli(['run', spec, '--results-dir', results, '-q'])).code).toBe(0);
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('control characters from a corrupt file are escaped in messages', () => {
  it('a samples.jsonl line of ESC / CR / RLO bytes: ls, report and run name the line, escaped', async () => {
    const samples = join(runDirOf(results, 'ctrl'), 'samples.jsonl');
    appendFileSync(samples, '\u001b[2J\u001b]0;pwned\u0007\r\u202e\n');
    for (const args of [['ls'], ['report'], ['report', '--format', 'csv'], ['run', spec, '--progress', 'lines']]) {
      const r = await cli([...args, '--results-dir', results]);
      const all = r.out + r.err;
      expect(all, args.join(' ')).toContain(`${samples}:3: not valid JSON (Unexpected token '\\u001b'`);
      expect(RAW.exec(all), `${args.join(' ')}: ${JSON.stringify(all)}`).toBeNull();
    }
  });

  it('a run.json starting with an ESC sequence: run stops naming it, escaped', async () => {
    const runJson = join(runDirOf(results, 'ctrl'), 'run.json');
    writeFileSync(runJson, '\u001b[31m{"schemaVersion":"1.0"}');
    const r = await cli(['run', spec, '--results-dir', results, '-q']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`refbench: error: ${runJson}: not valid JSON (Unexpected token '\\u001b'`);
    expect(RAW.exec(r.err)).toBeNull();
    const ls = await cli(['ls', '--results-dir', results]);
    expect(ls.out).toContain('\\u001b');
    expect(RAW.exec(ls.out + ls.err)).toBeNull();
  });
});
