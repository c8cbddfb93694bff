/**
 * `refbench run examples/specs/synthfaces-refldm-tiny-torch.yaml` (ref-ldm, engine torch, the tiny bundle's
 * weights) through the real CLI in a child process, on CPU:
 * - the PyTorch worker is killed (SIGKILL) in the middle of the second image: that sample is recorded as an error
 *   that says what happened, the run goes on and the third image is restored by a restarted worker;
 * - `--retry-failed` then completes the run;
 * - every output image is the in-process torch engine's on the same sample, and the torch engine agrees with the
 *   onnx engine (examples/specs/synthfaces-refldm-tiny.yaml) in stages that hold on every CPU (test/helpers/vq.ts;
 *   docs/footguns.md "TypeScript / onnxruntime (MLAS)"): final latents within LATENT_TOL, codes equal except
 *   near-ties, both decoders on the same codes within 1 level, each image its own decoder on its own latent;
 * - run.json records the engine, its switches and the weights' identity.
 * Not skipped without python/.venv: a run whose Python interpreter is missing fails at once, naming it and
 * `bash python/setup.sh` (it used to leave this test polling for a first sample that never came).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readRgb } from '../../src/lib/server/image/io.ts';
import { quantiseImage } from '../../src/lib/eval/refldm/image.ts';
import { DATASETS } from '../../src/lib/server/datasets/index.ts';
import { loadImage } from '../../src/lib/server/datasets/load.ts';
import { parseRefLdmOptions } from '../../src/lib/server/restorers/ref-ldm/common.ts';
import { createOnnxRefLdm } from '../../src/lib/server/restorers/ref-ldm/onnx-engine.ts';
import { createTorchRefLdm } from '../../src/lib/server/restorers/ref-ldm/torch-engine.ts';
import { REPO, SKIP_TORCH, TORCH_NOTE, workerPids } from '../helpers/python-venv.ts';
import { codebookSeparation, codesToLatent, compareCodes, levelDiff, readCodebook } from '../helpers/vq.ts';

const tmp = mkdtempSync(join(tmpdir(), 'refbench-torch-run-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SYNTH = join(tmp, 'synthfaces');
const RESULTS = join(tmp, 'results');
const SPEC = 'examples/specs/synthfaces-refldm-tiny-torch.yaml';
const COMMON = ['--results-dir', RESULTS, '--limit', '3', '-d', `root=${SYNTH}`, '-r', 'threads=2', '--progress', 'lines'];
/** Final latents, torch vs onnx, max abs: as test/parity/server/restorers/ref-ldm/torch-engine.test.ts (its derivation). */
const LATENT_TOL = 1e-3;
/** Both decoders on the same codes: largest u8 difference (as test/parity/server/restorers/ref-ldm/torch-engine.test.ts). */
const DECODE_MAX_LEVELS = 1;

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

/**
 * Runs the CLI; `during(childPid, exited)` runs while it works and must stop polling once `exited()` says the CLI
 * ended (e.g. it failed before its first sample). Resolves with the exit code and its output.
 */
function cli(args: string[], during?: (pid: number, exited: () => string | undefined) => Promise<void>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/refbench.js'), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let ended: string | undefined;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    const side = during?.(child.pid!, () => ended).catch((err) => {
      child.kill('SIGKILL');
      reject(err);
    });
    child.on('exit', async (code, signal) => {
      ended = `the CLI exited (code ${code}, signal ${signal}): ${out.slice(-2000)}`;
      await side;
      resolve({ code, out });
    });
  });
}

describe('refbench run, engine torch, without a Python interpreter', () => {
  it('fails at once naming the missing interpreter and `bash python/setup.sh`', async () => {
    const missing = join(tmp, 'no-venv/bin/python');
    const t0 = Date.now();
    const r = await cli(['run', SPEC, ...COMMON, '-r', `python=${JSON.stringify(missing)}`]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`no Python interpreter at ${missing}`);
    expect(r.out).toContain('bash python/setup.sh');
    // the message comes from the check before any process starts (torch-worker.ts); this test's limit bounds the
    // rest (generating synthfaces: 44 s under load 12)
    console.log(`engine torch without an interpreter: exit ${r.code} after ${((Date.now() - t0) / 1000).toFixed(1)} s (incl. generating synthfaces)`);
  }, 300_000);
});

describe.skipIf(SKIP_TORCH)(`refbench run ${SPEC}${TORCH_NOTE}`, () => {
  it('a killed worker fails only its sample, the run goes on, --retry-failed completes it; images are the torch engine\'s, which agrees with the onnx engine in stages', async () => {
    let runDir = '';
    let killed = 0;
    const first = await cli(['run', SPEC, ...COMMON], async (pid, exited) => {
      // wait for the first sample's line, then until the worker has spent 2 CPU seconds on the second image
      const deadline = Date.now() + 1_500_000;
      for (;;) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the first sample');
        const gone = exited();
        if (gone) throw new Error(`before its first sample: ${gone}`);
        const dirs = existsSync(join(RESULTS, 'runs')) ? (await import('node:fs')).readdirSync(join(RESULTS, 'runs')) : [];
        runDir = dirs.length ? join(RESULTS, 'runs', dirs[0]) : '';
        if (runDir && lines(runDir).length >= 1) break;
        await sleep(200);
      }
      const [worker] = workerPids(pid);
      expect(worker, 'no PyTorch worker under the CLI process').toBeDefined();
      const c0 = cpuSeconds(worker);
      while (cpuSeconds(worker) - c0 < 2) {
        if (exited()) throw new Error(`before the kill: ${exited()}`);
        await sleep(100);
      }
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

    // In-process, on the same samples: the torch engine (whose images the CLI's must be) and the onnx engine
    // (examples/specs/synthfaces-refldm-tiny.yaml: the same spec apart from the engine).
    const specOf = (f: string) => parseYaml(readFileSync(join(REPO, f), 'utf8')) as { restorer: { options: Record<string, unknown> } };
    const torchSpec = specOf(SPEC).restorer.options;
    const onnxSpec = specOf('examples/specs/synthfaces-refldm-tiny.yaml').restorer.options;
    expect({ ...onnxSpec, engine: 'torch' }).toEqual(torchSpec);
    const dataset = await DATASETS.get('synthfaces-ref')({ root: SYNTH, level: 'severe' });
    const samples = (await dataset.samples()).slice(0, 3);
    const torchR = await createTorchRefLdm(parseRefLdmOptions({ ...torchSpec, threads: 2 }));
    const onnxR = await createOnnxRefLdm(parseRefLdmOptions({ ...onnxSpec, threads: 2 }));
    const cb = readCodebook(join(REPO, 'test/fixtures/refldm-tiny/vae_decoder.onnx'));
    expect(codebookSeparation(cb).ok).toBe(true);
    const q = (d: Float32Array) => quantiseImage(d, 512, 512, 'trunc').data;
    const report: string[] = [];
    try {
      expect(samples.map((s) => s.id).sort()).toEqual([...final.keys()].sort());
      for (const s of samples) {
        const lq = await loadImage(s.lq, 'lq');
        const refs = await Promise.all(s.refs.map((r) => loadImage(r, 'ref')));
        const t = await torchR.engine.sample(lq, refs, torchR.xT);
        const o = await onnxR.engine.sample(lq, refs, onnxR.xT);
        // the CLI's image (worker killed and restarted in between) is the torch engine's on this sample
        const cliImage = await readRgb(join(runDir, final.get(s.id)!.output!));
        const cliVsInProcess = levelDiff(cliImage.data, t.image.data);
        // 1. latents; 2. codes; 3. both decoders on the onnx latent's codes; each image its decoder on its latent
        let lat = 0;
        for (let i = 0; i < t.latent.length; i++) lat = Math.max(lat, Math.abs(t.latent[i] - o.latent[i]));
        const codes = compareCodes(o.latent, t.latent, cb, LATENT_TOL);
        const same = codesToLatent(codes.codesA, cb);
        const dec = levelDiff(q(await torchR.engine.decode(same)), q(await onnxR.engine.decode(same)));
        const tSelf = Buffer.from(q(await torchR.engine.decode(t.latent))).equals(Buffer.from(t.image.data));
        const oSelf = Buffer.from(q(await onnxR.engine.decode(o.latent))).equals(Buffer.from(o.image.data));
        const images = levelDiff(t.image.data, o.image.data);
        report.push(
          `${s.id}: latent ${lat.toExponential(2)}, codes differ at ${codes.differ}, same codes ${dec.off1} off by 1 / ${dec.worse} more; images ${images.off1} / ${images.worse} (max ${images.max}); CLI vs in-process max ${cliVsInProcess.max}`,
        );
        expect(cliVsInProcess.max, `${s.id}: the CLI's torch image is not the torch engine's`).toBe(0);
        expect(lat, `${s.id}: latents`).toBeLessThanOrEqual(LATENT_TOL);
        expect(codes.unexplained, `${s.id}: ${JSON.stringify(codes.unexplained.slice(0, 5))}`).toEqual([]);
        expect(dec.max, `${s.id}: ${JSON.stringify(dec)}`).toBeLessThanOrEqual(DECODE_MAX_LEVELS);
        expect(tSelf && oSelf, `${s.id}: an image is not its engine's decoder on its latent`).toBe(true);
        if (codes.differ === 0) expect(images.max).toBeLessThanOrEqual(DECODE_MAX_LEVELS);
      }
    } finally {
      console.log(`torch vs onnx engine, synthfaces tiny: ${report.join('; ')}`);
      await torchR.dispose?.();
      await onnxR.dispose?.();
    }
  }, 1_800_000);
});
