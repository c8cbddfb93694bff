/**
 * One bad line never poisons everything (issue 11, item 10). Every reader of the store — `refbench ls`,
 * `refbench report` (DuckDB), summary.json and the dashboard over HTTP — skips the same bad line, names its file
 * and line, and goes on with the rest; a corrupt summary.json or run.json costs only that file; a non-finite FID
 * is recorded as that metric's error and re-runs work.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGaussianStats } from '../../src/lib/server/metrics/fid-stats.ts';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';
import { cli } from '../helpers/cli.ts';

const FID_NET = join(import.meta.dirname, '../fixtures/fid/fid-inception-narrow.onnx');

let root: string;
let results: string;
const runIds: Record<string, string> = {};
const spec = (name: string, restorer: string, extra = '') =>
  `name: ${name}\ndataset:\n  adapter: folder\n  options: { root: ${JSON.stringify(join(root, 'ds'))} }\nrestorer:\n  id: ${restorer}\nmetrics: [psnr${extra}]\n`;

async function runCli(name: string, restorer: string, extra = ''): Promise<{ code: number; out: string; err: string; runId: string }> {
  const file = join(root, `${name}.yaml`);
  writeFileSync(file, spec(name, restorer, extra));
  const r = await cli(['run', file, '--results-dir', results, '--progress', 'lines']);
  const runId = /^(\S+): \d+\/\d+ ok/m.exec(r.out)?.[1] ?? '';
  return { ...r, runId };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-badlines-'));
  results = join(root, 'results');
  await writeFolderDataset(join(root, 'ds'), 3, 1);
  for (const [name, restorer] of [
    ['good', 'lq'],
    ['poisoned', 'lq'],
    ['badsummary', 'classical'],
  ] as const) {
    const r = await runCli(name, restorer);
    expect(r.code, r.err).toBe(0);
    runIds[name] = r.runId;
  }
  // Valid JSON, wrong schema (a string metric), with the highest seq: it must not replace s00's real line anywhere.
  appendFileSync(join(results, 'runs', runIds.poisoned, 'samples.jsonl'), '{"seq":99,"sampleId":"s00","status":"ok","metrics":{"psnr":"abc"},"finishedAt":"t"}\n');
  appendFileSync(join(results, 'runs', runIds.poisoned, 'eval.jsonl'), '{"metric":"fid-clean","value":"high","n":3}\n');
  writeFileSync(join(results, 'runs', runIds.badsummary, 'summary.json'), '{"schemaVersion": "1.0", "metri');
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a schema-invalid line', () => {
  it('report: every run is reported; the bad lines are named by file and line and skipped', async () => {
    const r = await cli(['report', '--results-dir', results]);
    expect(r.code, r.err).toBe(0);
    const row = (id: string) => r.out.split('\n').find((l) => l.startsWith(`| ${id} `))!;
    for (const id of Object.values(runIds)) expect(row(id)).toBeDefined();
    // Same dataset and restorer: the poisoned run's psnr equals the good run's (the bad s00 line is not used).
    const psnr = (id: string) => row(id).split(' | ')[6];
    expect(psnr(runIds.poisoned)).toBe(psnr(runIds.good));
    expect(row(runIds.poisoned)).toContain('| 3/3 |');
    const samples = join(results, 'runs', runIds.poisoned, 'samples.jsonl');
    expect(r.out).toContain(`- warning: ${samples}:4: metrics.psnr: Invalid input: expected number, received string (line skipped)`);
    expect(r.out).toContain(`- warning: ${join(results, 'runs', runIds.poisoned, 'eval.jsonl')}:1: value: Invalid input: expected number, received string (line skipped)`);
    const csv = await cli(['report', '--results-dir', results, '--format', 'csv']);
    expect(csv.code, csv.err).toBe(0);
    expect(csv.out.trim().split('\n')).toHaveLength(4);
    expect(csv.err).toContain(`${samples}:4:`);
  });

  it('ls: counts from valid lines only, and names the bad line', async () => {
    const r = await cli(['ls', '--results-dir', results]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`${runIds.poisoned}\\s+lq\\s+folder-ds\\s+3\\s+0\\s+3\\s.*1 bad line`));
    expect(r.err).toContain(`warning: ${join(results, 'runs', runIds.poisoned, 'samples.jsonl')}:4: metrics.psnr`);
  });
});

describe('dashboard over HTTP', () => {
  let server: ViteDevServer;
  let base = '';
  beforeAll(async () => {
    process.env.REFBENCH_RESULTS_DIR = results;
    const repo = resolve(import.meta.dirname, '../..');
    server = await createServer({ root: repo, configFile: join(repo, 'vite.config.ts'), mode: 'development', logLevel: 'error', server: { host: '127.0.0.1', port: 0 } });
    await server.listen();
    const addr = server.httpServer!.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('index answers 200 with every run, naming the bad line and the corrupt summary.json', async () => {
    const res = await fetch(`${base}/`);
    const html = await res.text();
    expect(res.status, html.slice(0, 500)).toBe(200);
    for (const id of Object.values(runIds)) expect(html).toContain(`href="/runs/${id}"`);
    // Named relative to the results folder: the dashboard never shows where files live (docs/security.md).
    expect(html).toContain(`runs/${runIds.poisoned}/samples.jsonl:4: metrics.psnr`);
    expect(html).toContain(`runs/${runIds.badsummary}/summary.json: not valid JSON`);
    expect(html).not.toContain(join(results, 'runs'));
  });

  it('run pages answer 200 and show the problem', async () => {
    for (const [id, what] of [
      [runIds.poisoned, `runs/${runIds.poisoned}/samples.jsonl:4: metrics.psnr`],
      [runIds.badsummary, `runs/${runIds.badsummary}/summary.json: not valid JSON`],
    ]) {
      const res = await fetch(`${base}/runs/${id}`);
      const html = await res.text();
      expect(res.status, html.slice(0, 500)).toBe(200);
      expect(html).toContain(what);
      expect(html).not.toContain(join(results, 'runs'));
      expect(html).toContain('data-testid="sample"');
    }
  });

  it('a run whose run.json is corrupt is listed as a problem; the others are still served', async () => {
    const broken = await runCli('brokenrun', 'lq');
    const runJson = join(results, 'runs', broken.runId, 'run.json');
    writeFileSync(runJson, readFileSync(runJson, 'utf8').slice(0, 40));
    const res = await fetch(`${base}/`);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain(`runs/${broken.runId}/run.json: not valid JSON`);
    expect(html).toContain(`href="/runs/${runIds.good}"`);
    const r = await cli(['report', '--results-dir', results]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`- warning: run skipped: ${runJson}: not valid JSON`);
    expect(r.out).toContain(`| ${runIds.good} `);
  });
});

describe('a non-finite FID from degenerate reference statistics', () => {
  it('is recorded as that metric\'s error (no ZodError); re-runs work; eval retries it and says why', async () => {
    const d = 256; // the narrow test network's feature size
    const sigma = new Float64Array(d * d);
    for (let i = 0; i < d; i++) sigma[i * d + i] = 1;
    const stats = join(root, 'degenerate.npz');
    await writeGaussianStats(stats, { dim: d, mu: new Float64Array(d).fill(1e200), sigma }); // ‖μ₁−μ₂‖² overflows
    const fid = `, { id: fid-clean, options: { modelPath: ${JSON.stringify(FID_NET)}, reference: ${JSON.stringify(stats)} } }`;
    const first = await runCli('fid', 'lq', fid);
    expect(first.code, first.err).toBe(0);
    expect(first.err).toMatch(/warning: fid-clean not computed over 3 sample\(s\): the value over 3 sample\(s\) is Infinity, not a finite number \(recorded in .*eval\.jsonl/);
    expect(first.err).not.toMatch(/ZodError|invalid_type|"code"/);
    expect(first.out).toContain('  fid-clean: error: the value over 3 sample(s) is Infinity, not a finite number (0/3)');
    const runDir = join(results, 'runs', first.runId);
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'));
    expect(summary.metrics['fid-clean']).toMatchObject({ value: null, n: 0, coverage: '0/3', error: 'the value over 3 sample(s) is Infinity, not a finite number' });
    expect(summary.metrics.psnr.n).toBe(3);
    const lines = () => readFileSync(join(runDir, 'eval.jsonl'), 'utf8').trim().split('\n');
    expect(lines()).toHaveLength(1);
    // A re-run neither fails nor recomputes the recorded failure.
    const again = await runCli('fid', 'lq', fid);
    expect(again.code, again.err).toBe(0);
    expect(lines()).toHaveLength(1);
    // report shows the error in place of a value.
    const rep = await cli(['report', first.runId, '--results-dir', results]);
    expect(rep.code, rep.err).toBe(0);
    expect(rep.out).toContain('error (see below)');
    expect(rep.out).toContain(`- ${first.runId}: fid-clean failed: the value over 3 sample(s) is Infinity, not a finite number`);
    // eval retries on request and fails with one clear line.
    const ev = await cli(['eval', first.runId, '--metrics', 'fid-clean', '--results-dir', results, '-q']);
    expect(ev.code).toBe(1);
    expect(ev.err.trim().split('\n')).toHaveLength(1);
    expect(ev.err).toMatch(/^refbench: error: fid-clean not computed over 3 sample\(s\): the value over 3 sample\(s\) is Infinity/);
    expect(lines()).toHaveLength(2);
  });
});
