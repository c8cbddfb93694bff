/**
 * @file Time per image of our TypeScript + onnxruntime ReF-LDM sampler vs the Python PyTorch reference sampler
 * (python/refbench_model/sampler.py) on the same weights (seed-0 random init; the committed tiny bundle is exactly
 * those weights) and the same inputs (test/fixtures/refldm-tiny: lq.png, ref0..2.png, x_T.f32). Both sides load
 * their models once, run one warm-up image, then time `--repeat` images; the median is reported.
 *
 *   npx tsx bench/refldm-speed.ts [--steps 10] [--refs 3] [--repeat 3] [--threads 2] [--paper] [--paper-steps 4]
 *
 * `--paper` also times the paper-size config at a reduced step count; its bundle (CacheKV graphs only) is exported
 * into .cache/refldm-paper on first use (python/, a few minutes and ~1 GB). Weights are untrained: timing only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadBundleJson } from '../src/lib/server/restorers/ref-ldm/bundle.ts';
import { RefLdmSampler } from '../src/lib/server/restorers/ref-ldm/sampler.ts';
import { readRgb } from '../src/lib/server/image/io.ts';
import { readF32 } from '../src/lib/server/restorers/ref-ldm/restorer.ts';

const ROOT = resolve(import.meta.dirname, '..');
const PY = join(ROOT, 'python/.venv/bin/python');
const FIX = join(ROOT, 'test/fixtures/refldm-tiny');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const STEPS = Number(arg('steps', '10'));
const REFS = Number(arg('refs', '3'));
const REPEAT = Number(arg('repeat', '3'));
const THREADS = Number(arg('threads', '2'));
const PAPER = process.argv.includes('--paper');
const PAPER_STEPS = Number(arg('paper-steps', '4'));
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

// The Python side: same inputs, same seed-0 weights, torch CPU with the same thread count.
const PY_SCRIPT = `
import json, sys, time, numpy as np, torch
sys.path.insert(0, ${JSON.stringify(join(ROOT, 'python'))})
from PIL import Image
from refbench_model.build import build_random
from refbench_model.sampler import TorchBackend, sample
cfg, steps, nrefs, repeat, threads, fix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
torch.set_num_threads(threads)
t0 = time.perf_counter()
vae, unets = build_random(cfg, 0, ("cachekv",))
be = TorchBackend(vae, unets)
load = (time.perf_counter() - t0) * 1000
rd = lambda p: np.asarray(Image.open(p).convert("RGB"))
lq = rd(fix + "/lq.png"); refs = [rd(fix + f"/ref{i}.png") for i in range(3)][:nrefs]
xt = np.fromfile(fix + "/x_T.f32", dtype="<f4").reshape(1, 8, 64, 64)
sample(be, lq, refs, xt, steps=steps, cfg=1.5)
times = []
for _ in range(repeat):
    t1 = time.perf_counter(); sample(be, lq, refs, xt, steps=steps, cfg=1.5); times.append((time.perf_counter() - t1) * 1000)
print("PY_RESULT " + json.dumps({"loadMs": load, "timesMs": times}))
`;

function pythonTimes(config: string, steps: number): { loadMs: number; timesMs: number[] } {
  const out = execFileSync(PY, ['-c', PY_SCRIPT, config, String(steps), String(REFS), String(REPEAT), String(THREADS), FIX], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = out.split('\n').find((l) => l.startsWith('PY_RESULT '));
  if (!line) throw new Error(`python sampler printed no result:\n${out.slice(-2000)}`);
  return JSON.parse(line.slice(10));
}

async function tsTimes(bundleDir: string, steps: number): Promise<{ loadMs: number; timesMs: number[]; stepsMs: number }> {
  const bundle = await loadBundleJson(bundleDir);
  const s = await RefLdmSampler.create(bundle, {
    design: 'cachekv', steps, schedule: 'uniform', cfg: 1.5, maxRefs: 5, zeroRefs: 5, quantise: 'trunc', device: 'cpu', threads: THREADS, verifyHashes: false,
  });
  const lq = await readRgb(join(FIX, 'lq.png'));
  const refs = (await Promise.all([0, 1, 2].map((i) => readRgb(join(FIX, `ref${i}.png`))))).slice(0, REFS);
  const xT = await readF32(join(FIX, 'x_T.f32'), 8 * 64 * 64);
  await s.sample(lq, refs, xT);
  const times: number[] = [];
  let stepsMs = 0;
  for (let i = 0; i < REPEAT; i++) {
    const r = await s.sample(lq, refs, xT);
    times.push(r.timings.total);
    stepsMs = r.timings.steps.reduce((a, b) => a + b, 0);
  }
  await s.release();
  return { loadMs: s.loadMs, timesMs: times, stepsMs };
}

function ensurePaperBundle(dir: string): void {
  if (existsSync(join(dir, 'bundle.json'))) return;
  mkdirSync(dir, { recursive: true });
  console.error(`exporting a paper-size random-init bundle (CacheKV graphs) into ${dir} …`);
  const script = `
import sys, pathlib
sys.path.insert(0, ${JSON.stringify(join(ROOT, 'python'))})
from refbench_model.build import build_random
from refbench_model.configs import get_config
from refbench_export.bundle import export_bundle
cfg = get_config("paper")
vae, unets = build_random(cfg, 0, ("cachekv",))
export_bundle(cfg, vae, unets, pathlib.Path(sys.argv[1]), {"kind": "random-init", "seed": 0}, designs=("cachekv",))
`;
  execFileSync(PY, ['-c', script, dir], { stdio: 'inherit' });
}

const rows: Record<string, unknown>[] = [];
async function compare(config: string, bundleDir: string, steps: number): Promise<void> {
  const ts = await tsTimes(bundleDir, steps);
  const py = pythonTimes(config, steps);
  const t = median(ts.timesMs);
  const p = median(py.timesMs);
  rows.push({ config, steps, refs: REFS, threads: THREADS, tsMs: t, pyMs: p, speedup: p / t, tsLoadMs: ts.loadMs, pyLoadMs: py.loadMs, tsTimes: ts.timesMs, pyTimes: py.timesMs });
  console.log(`${config.padEnd(6)} ${String(steps).padStart(5)} steps ${REFS} refs: TS+ORT ${(t / 1000).toFixed(2)} s/image, PyTorch ${(p / 1000).toFixed(2)} s/image → ${(p / t).toFixed(2)}× (median of ${REPEAT}, ${THREADS} threads)`);
}

console.log('ReF-LDM time per image, CFG 1.5, CacheKV — untrained random-init weights (timing only)');
await compare('tiny', FIX, STEPS);
if (PAPER) {
  const dir = join(ROOT, '.cache/refldm-paper');
  ensurePaperBundle(dir);
  await compare('paper', dir, PAPER_STEPS);
}
const outDir = join(ROOT, '.cache/bench');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'refldm-speed.json'), JSON.stringify({ createdAt: new Date().toISOString(), rows }, null, 1));
console.log(`written: ${join(outDir, 'refldm-speed.json')}`);
