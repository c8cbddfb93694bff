import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RestoreInput, RestoreOptions } from '../../../../src/lib/eval/restorers/restorer.ts';
import { DatasetError, type Dataset } from '../../../../src/lib/eval/datasets/types.ts';
import { RunStore } from '../../../../src/lib/server/results/store.ts';
import { RESTORERS } from '../../../../src/lib/server/restorers/index.ts';
import { evalRun, runSpec } from '../../../../src/lib/server/runner/evaluate.ts';
import { folderDataset, writeFolderDataset } from '../../../helpers/folder-dataset.ts';

const REPO = join(import.meta.dirname, '../../../..');
const spec = (name: string, restorer = 'lq', extra: Record<string, unknown> = {}) => ({
  name,
  dataset: { adapter: 'test-folder', options: {} },
  restorer: { id: restorer, options: {} },
  metrics: [],
  ...extra,
});

let root: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-runner-'));
  await writeFolderDataset(join(root, 'ds'), 5, 2);
});

function readLines(runDir: string) {
  return readFileSync(join(runDir, 'samples.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { sampleId: string; status: string; error?: string; output?: string });
}

describe('runSpec', () => {
  it('runs, writes run.json/summary/outputs, and resumes without duplicates', async () => {
    const results = join(root, 'r1');
    const ds = folderDataset(join(root, 'ds'));
    const a = await runSpec(spec('t1', 'lq', { dataset: { adapter: 'test-folder', options: {}, limit: 3 } }), { resultsDir: results, dataset: ds, quiet: true });
    expect(a.summary.samples).toMatchObject({ total: 3, ok: 3, error: 0 });
    expect(a.runId).toMatch(/^t1-[0-9a-f]{10}$/);
    const run = new RunStore(a.runDir).readRunJson();
    expect(run.restorer.weights).toEqual({ kind: 'none' });
    expect(run.dataset.limited).toBe(true);
    expect(run.dataset.hash).toMatch(/^[0-9a-f]{64}$/);
    // LQ pass-through: the saved output is byte-identical in pixels to the LQ (lossless PNG of the same pixels).
    expect(existsSync(join(a.runDir, 'outputs/s00.png'))).toBe(true);
    // Same spec without the limit → same run directory, only the 2 new samples are processed.
    const b = await runSpec(spec('t1'), { resultsDir: results, dataset: ds, quiet: true });
    expect(b.runDir).toBe(a.runDir);
    expect(b.resumed).toBe(true);
    expect(b.processed).toBe(2);
    const ids = readLines(b.runDir).map((l) => l.sampleId);
    expect(ids).toEqual(['s00', 's01', 's02', 's03', 's04']);
    expect(b.summary.metrics['time-ms'].coverage).toBe('5/5');
    // --fresh starts a new timestamped directory.
    const c = await runSpec(spec('t1'), { resultsDir: results, dataset: ds, quiet: true, fresh: true });
    expect(c.runDir).not.toBe(a.runDir);
    expect(c.runId).toMatch(/^t1-[0-9a-f]{10}-\d{8}T\d{6}Z$/);
  });

  it('records bad inputs as per-sample errors naming the file and keeps going; --retry-failed redoes them', async () => {
    const dsRoot = join(root, 'ds-bad');
    await writeFolderDataset(dsRoot, 4, 1);
    const trunc = join(dsRoot, 'lq', 's01.png');
    const good = readFileSync(trunc);
    writeFileSync(trunc, good.subarray(0, 200)); // truncated image
    const { encodePng } = await import('../../../../src/lib/server/image/io.ts');
    const { patternImage } = await import('../../../helpers/folder-dataset.ts');
    writeFileSync(join(dsRoot, 'lq', 's03.png'), await encodePng(patternImage(3, 256))); // wrong size
    const missingRef = join(dsRoot, 'refs', 's02', 'missing.png');
    const base = folderDataset(dsRoot);
    const ds: Dataset = { ...base, samples: async () => (await base.samples()).map((s) => (s.id === 's02' ? { ...s, refs: [...s.refs, missingRef] } : s)) };
    const r = await runSpec(spec('bad', 'classical'), { resultsDir: join(root, 'r2'), dataset: ds, quiet: true });
    expect(r.summary.samples).toMatchObject({ total: 4, ok: 1, error: 3 });
    expect(r.summary.metrics['time-ms'].coverage).toBe('1/4');
    const byId = Object.fromEntries(readLines(r.runDir).map((l) => [l.sampleId, l]));
    expect(byId.s01.error).toContain(trunc);
    expect(byId.s01.error).toMatch(/not a readable image/);
    expect(byId.s02.error).toContain(missingRef);
    expect(byId.s02.error).toMatch(/file not found/);
    expect(byId.s03.error).toMatch(/s03\.png: lq image is 256×256, expected 512×512/);
    // Resume without --retry-failed does nothing; with it, fixed inputs succeed.
    writeFileSync(trunc, good);
    const again = await runSpec(spec('bad', 'classical'), { resultsDir: join(root, 'r2'), dataset: ds, quiet: true });
    expect(again.processed).toBe(0);
    const retry = await runSpec(spec('bad', 'classical'), { resultsDir: join(root, 'r2'), dataset: ds, quiet: true, retryFailed: true });
    expect(retry.processed).toBe(3);
    expect(retry.summary.samples.ok).toBe(2);
    expect(readLines(retry.runDir).filter((l) => l.sampleId === 's01').map((l) => l.status)).toEqual(['error', 'ok']);
  });

  it('fails the whole run before any work on unknown ids, bad restorer options and dataset index errors', async () => {
    const ds = folderDataset(join(root, 'ds'));
    const o = { resultsDir: join(root, 'r3'), dataset: ds, quiet: true };
    await expect(runSpec(spec('x', 'classicl'), o)).rejects.toThrow("spec: restorer.id: Unknown restorer 'classicl'. Did you mean: classical?");
    await expect(runSpec({ ...spec('x'), metrics: ['time-msx'] }, o)).rejects.toThrow(/metrics\[0\]\.id: Unknown metric 'time-msx'/);
    await expect(runSpec({ ...spec('x'), dataset: { adapter: 'foldr' } }, { ...o, dataset: undefined })).rejects.toThrow(/dataset\.adapter: Unknown dataset adapter 'foldr'/);
    await expect(runSpec({ ...spec('x', 'classical'), restorer: { id: 'classical', options: { radius: 'big' } } }, o)).rejects.toThrow(
      'restorer.options.radius: expected number, got "big"',
    );
    const broken: Dataset = {
      ...ds,
      async samples() {
        throw new DatasetError([
          { file: 'refs.csv', line: 7, message: 'expected 3 columns, got 2' },
          { file: 'refs.csv', line: 9, message: "duplicate id '00012'" },
        ]);
      },
    };
    const err = await runSpec(spec('x'), { ...o, dataset: broken }).catch((e) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect(err.message).toContain('refs.csv:7: expected 3 columns, got 2');
    expect(err.message).toContain("refs.csv:9: duplicate id '00012'");
    expect(existsSync(join(root, 'r3', 'runs'))).toBe(false);
  });

  it('stops after the in-flight image on abort and resumes', async () => {
    const ds = folderDataset(join(root, 'ds'));
    const ac = new AbortController();
    let calls = 0;
    if (!RESTORERS.has('test-abort-after-2')) {
      RESTORERS.register('test-abort-after-2', {
        options: z.object({}).strict(),
        create: async () => {
          const inner = await RESTORERS.get('lq')({});
          return { ...inner, restore: async (input: RestoreInput, o?: RestoreOptions) => { const out = await inner.restore(input, o); if (++calls === 2) ac.abort(); return out; } };
        },
      }, 'test');
    }
    const a = await runSpec(spec('ab', 'test-abort-after-2'), { resultsDir: join(root, 'r4'), dataset: ds, quiet: true, signal: ac.signal });
    expect(a.aborted).toBe(true);
    expect(a.summary.samples.ok).toBe(2);
    expect(a.summary.samples.pending).toBe(3);
    const b = await runSpec(spec('ab', 'test-abort-after-2'), { resultsDir: join(root, 'r4'), dataset: ds, quiet: true });
    expect(b.aborted).toBe(false);
    expect(readLines(b.runDir).map((l) => l.sampleId).sort()).toEqual(['s00', 's01', 's02', 's03', 's04']);
  });
});

function spawnCli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/pipeline/server/runner/child-cli.ts'), ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, done, output: () => out };
}

async function waitForLines(file: string, n: number, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (existsSync(file) && readFileSync(file, 'utf8').split('\n').filter(Boolean).length >= n) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${n} lines in ${file}`);
}

describe('crash safety (child process)', () => {
  let dsRoot: string;
  let specPath: string;
  beforeAll(async () => {
    dsRoot = join(root, 'ds-kill');
    await writeFolderDataset(dsRoot, 8, 1);
    specPath = join(root, 'kill.yaml');
    writeFileSync(specPath, `name: kill\ndataset:\n  adapter: test-folder\n  options: { root: ${JSON.stringify(dsRoot)} }\nrestorer:\n  id: classical\n  options: { radius: 3 }\n`);
  });

  it('SIGKILL mid-run loses at most the image in flight; the rerun neither loses nor duplicates samples', async () => {
    const results = join(root, 'rk');
    const p = spawnCli(['run', specPath, '--results-dir', results, '--progress', 'lines']);
    const runsDir = join(results, 'runs');
    const t0 = Date.now();
    while (!existsSync(runsDir) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
    const { readdirSync } = await import('node:fs');
    const runDir = join(runsDir, readdirSync(runsDir)[0]);
    await waitForLines(join(runDir, 'samples.jsonl'), 3);
    p.child.kill('SIGKILL');
    const first = await p.done;
    expect(first.signal).toBe('SIGKILL');
    const before = readLines(runDir).length;
    expect(before).toBeLessThan(8);
    const q = spawnCli(['run', specPath, '--results-dir', results, '--progress', 'lines']);
    const second = await q.done;
    expect(second.code, q.output()).toBe(0);
    expect(q.output()).toMatch(/resuming kill-/);
    const lines = readLines(runDir);
    const ids = lines.map((l) => l.sampleId);
    expect(new Set(ids).size).toBe(8);
    expect(ids.length).toBe(8);
    expect(lines.every((l) => l.status === 'ok' && existsSync(join(runDir, l.output!)))).toBe(true);
  });

  it('SIGINT stops cleanly with exit code 130 and prints how to resume', async () => {
    const results = join(root, 'ri');
    const p = spawnCli(['run', specPath, '--results-dir', results, '--progress', 'lines']);
    const runsDir = join(results, 'runs');
    const t0 = Date.now();
    while (!existsSync(runsDir) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
    const { readdirSync } = await import('node:fs');
    const runDir = join(runsDir, readdirSync(runsDir)[0]);
    await waitForLines(join(runDir, 'samples.jsonl'), 2);
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.code, p.output()).toBe(130);
    expect(p.output()).toMatch(/To resume, run: refbench run /);
    const n = readLines(runDir).length;
    expect(n).toBeLessThan(8);
    expect(existsSync(join(runDir, 'run.lock'))).toBe(false);
    const q = spawnCli(['run', specPath, '--results-dir', results, '-q']);
    expect((await q.done).code).toBe(0);
    expect(new Set(readLines(runDir).map((l) => l.sampleId)).size).toBe(8);
    expect(readLines(runDir).length).toBe(8);
  });
});

describe('evalRun', () => {
  it('rejects unknown metric ids with suggestions', async () => {
    const ds = folderDataset(join(root, 'ds'));
    const a = await runSpec(spec('ev'), { resultsDir: join(root, 'r5'), dataset: ds, quiet: true });
    await expect(evalRun(a.runDir, ['psnrr'], { dataset: ds, quiet: true })).rejects.toThrow(/--metrics\[0\]: Unknown metric 'psnrr'/);
  });
});
