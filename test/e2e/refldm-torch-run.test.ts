/**
 * `refbench run examples/specs/synthfaces-refldm-tiny-torch.yaml` (ref-ldm, engine torch, the tiny bundle's
 * weights) through the real CLI in a child process, on CPU:
 * - the PyTorch worker is killed (SIGKILL) in the middle of the second image: that sample is recorded as an error
 *   that says what happened, the run goes on and the third image is restored by a restarted worker;
 * - `--retry-failed` then completes the run;
 * - every output image equals the onnx engine's (examples/specs/synthfaces-refldm-tiny.yaml, same inputs) within
 *   1 level on ≥ 99.9 % of values;
 * - run.json records the engine, its switches and the weights' identity.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRgb } from '../../src/lib/server/image/io.ts';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { REPO, SKIP_TORCH, TORCH_NOTE, workerPids } from '../helpers/python-venv.ts';

const tmp = mkdtempSync(join(tmpdir(), 'refbench-torch-run-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SYNTH = join(tmp, 'synthfaces');
const RESULTS = join(tmp, 'results');
const SPEC = 'examples/specs/synthfaces-refldm-tiny-torch.yaml';
const COMMON = ['--results-dir', RESULTS, '--limit', '3', '-d', `root=${SYNTH}`, '-r', 'threads=2', '--progress', 'lines'];

interface Line {
  sampleId: string;
  status: string;
  error?: string;
  output?: string;
  restorer?: { engine?: string; workerRestarted?: boolean };
}
const lines = (runDir: string): Line[] =>
  existsSync(join(runDir, 'samples.jsonl'))
    ? readFileSync(join(runDir, 'samples.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line)
    : [];
/** user + system CPU seconds of a process (Linux /proc). */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the CLI; `during(childPid)` runs while it works. Resolves with the exit code and its output. */
function cli(args: string[], during?: (pid: number) => Promise<void>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/refbench.js'), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    const side = during?.(child.pid!).catch((err) => {
      child.kill('SIGKILL');
      reject(err);
    });
    child.on('exit', async (code) => {
      await side;
      resolve({ code, out });
    });
  });
}

describe.skipIf(SKIP_TORCH)(`refbench run ${SPEC}${TORCH_NOTE}`, () => {
  it('a killed worker fails only its sample, the run goes on, --retry-failed completes it; images equal the onnx engine\'s', async () => {
    let runDir = '';
    let killed = 0;
    const first = await cli(['run', SPEC, ...COMMON], async (pid) => {
      // wait for the first sample's line, then until the worker has spent 2 CPU seconds on the second image
      const deadline = Date.now() + 1_500_000;
      for (;;) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the first sample');
        const dirs = existsSync(join(RESULTS, 'runs')) ? (await import('node:fs')).readdirSync(join(RESULTS, 'runs')) : [];
        runDir = dirs.length ? join(RESULTS, 'runs', dirs[0]) : '';
        if (runDir && lines(runDir).length >= 1) break;
        await sleep(200);
      }
      const [worker] = workerPids(pid);
      expect(worker, 'no PyTorch worker under the CLI process').toBeDefined();
      const c0 = cpuSeconds(worker);
      while (cpuSeconds(worker) - c0 < 2) await sleep(100);
      expect(lines(runDir).length, 'the second sample finished before the kill').toBe(1);
      process.kill(worker, 'SIGKILL');
      killed = worker;
    });
    expect(killed).toBeGreaterThan(0);
    expect(first.code, first.out).toBe(3); // the killed worker's sample failed (run --help: exit status)
    expect(first.out).toMatch(/2\/3 ok, 1 failed/);
    const got = lines(runDir);
    expect(got.map((l) => l.status)).toEqual(['ok', 'error', 'ok']);
    expect(got[1].error).toMatch(new RegExp(`the PyTorch worker \\(pid ${killed}\\) was killed by SIGKILL .*while restoring an image; the worker is restarted for the next sample`));
    expect(got[2].restorer).toMatchObject({ engine: 'torch', workerRestarted: true });

    const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
    expect(run.restorer.settings).toMatchObject({ engine: 'torch', config: 'tiny', device: 'cpu', dtype: 'fp32', switches: { cfgBatch: true, attention: 'sdpa', kvCache: 'buffers', refPass: 'batched' } });
    expect(run.restorer.weights).toMatchObject({ kind: 'random-init', seed: 0 });
    // the files the weights (bundle.json: config + seed) and x_T come from, with their actual sha256; the in-memory
    // weights by their state-dict digests
    const sha = (f: string) => createHash('sha256').update(readFileSync(join(REPO, 'test/fixtures/refldm-tiny', f))).digest('hex');
    expect(run.restorer.weights.files.map((f: { name: string; sha256: string }) => [f.name, f.sha256])).toEqual([
      ['bundle.json', sha('bundle.json')],
      ['x_T', sha('x_T.f32')],
    ]);
    expect(Object.keys(run.restorer.settings.stateDicts)).toEqual(['vae', 'unet-cachekv']);
    expect(Object.values(run.restorer.settings.stateDicts).every((v) => /^[0-9a-f]{64}$/.test(String(v)))).toBe(true);
    expect(run.restorer.untrained).toBe(true);

    const second = await cli(['run', SPEC, ...COMMON, '--retry-failed']);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toMatch(/3\/3 ok, 0 failed/);
    const final = new Map(lines(runDir).map((l) => [l.sampleId, l]));
    expect([...final.values()].every((l) => l.status === 'ok')).toBe(true);

    // the onnx engine on the same inputs (same spec apart from the engine), in-process
    const onnx = await runSpec(join(REPO, 'examples/specs/synthfaces-refldm-tiny.yaml'), {
      resultsDir: RESULTS,
      quiet: true,
      overrides: { limit: 3, datasetOptions: { root: SYNTH }, restorerOptions: { threads: 2 } },
    });
    const onnxLines = new Map(lines(onnx.runDir).map((l) => [l.sampleId, l]));
    expect(onnxLines.size).toBe(3);
    const report: string[] = [];
    for (const [id, l] of final) {
      const a = await readRgb(join(runDir, l.output!));
      const b = await readRgb(join(onnx.runDir, onnxLines.get(id)!.output!));
      let worse = 0;
      let off1 = 0;
      for (let i = 0; i < a.data.length; i++) {
        const d = Math.abs(a.data[i] - b.data[i]);
        if (d > 1) worse++;
        else if (d === 1) off1++;
      }
      report.push(`${id}: ${off1} off by 1, ${worse} off by more`);
      expect(1 - worse / a.data.length, `${id}: ${worse} values off by more than 1`).toBeGreaterThanOrEqual(0.999);
    }
    console.log(`torch vs onnx engine, synthfaces tiny: ${report.join('; ')}`);
  }, 1_800_000);
});
