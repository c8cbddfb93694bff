/**
 * @file Throughput of our PSNR+SSIM and NIQE vs the Python reference (pyiqa 0.1.16 functions on torch CPU), on the
 * same 512×512 fixture images (test/fixtures/pyiqa). Python is timed inside the subprocess, excluding startup and
 * imports; its rounds interleave with ours (one long-lived subprocess; bench/rounds.ts), and it is timed both with
 * torch's default thread count and with 1 thread, since ours runs on one Node thread. Ratios are per round, reported
 * as the median and range over rounds. Also prints a per-stage breakdown of our NIQE.
 * Run: `npx tsx bench/metrics-psnr-ssim.ts [--reps N] [--rounds N]`.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { psnr } from '../src/lib/eval/metrics/functional/psnr.ts';
import { ssim } from '../src/lib/eval/metrics/functional/ssim.ts';
import { blockFeatures, mscn, niqe, NIQE_BLOCK, NIQE_FEATURES, parseNiqeParams } from '../src/lib/eval/metrics/functional/niqe.ts';
import { yiqLuma255 } from '../src/lib/eval/metrics/functional/color.ts';
import { imresizeMatlab } from '../src/lib/eval/metrics/functional/matlab-resize.ts';
import { readRgb } from '../src/lib/server/image/io.ts';
import { fmtStats, interleavedRounds, loadNote, ratios, stats, type Stats } from './rounds.ts';

const root = join(import.meta.dirname, '..');
const fixtures = join(root, 'test/fixtures/pyiqa');
const repsArg = process.argv.indexOf('--reps');
const reps = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 3;
const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 5;

const golden = JSON.parse(readFileSync(join(fixtures, 'golden.json'), 'utf8')) as {
  cases: { a: string; b: string; width: number; height: number }[];
};
const pairs = golden.cases.filter((c) => c.width === 512 && c.height === 512 && c.a !== c.b);
const imgs = await Promise.all(pairs.map(async (c) => [await readRgb(join(fixtures, c.a)), await readRgb(join(fixtures, c.b))] as const));
const paramsPath = join(root, 'models/niqe/niqe-pris-params.json');
const params = parseNiqeParams(JSON.parse(readFileSync(paramsPath, 'utf8')), paramsPath);

function timeIt(fn: () => void): number {
  fn(); // warm-up (JIT)
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) fn();
  return (performance.now() - t0) / 1000 / reps;
}
let sink = 0;
const ours = {
  psnr_ssim: () => {
    for (const [a, b] of imgs) sink += psnr(a, b) + ssim(a, b);
  },
  niqe: () => {
    for (const [a] of imgs) sink += niqe(a, params);
  },
};

// pyiqa runs in one long-lived subprocess that times on request, so its rounds interleave with ours and machine
// load hits both sides alike. Request: "<metric> <torch threads>"; reply: seconds per pass over the images.
const py = `
import sys, time, json, numpy as np, torch
sys.path.insert(0, ${JSON.stringify(join(root, 'python'))})
from refbench_golden.pyiqa_basic import load_pyiqa, to_tensor, load_niqe_params
from PIL import Image
import pathlib
mods = load_pyiqa()
mu, cov = load_niqe_params(pathlib.Path(${JSON.stringify(root)}))
files = json.loads(sys.argv[1]); reps = int(sys.argv[2])
load = lambda f: to_tensor(np.asarray(Image.open(f).convert('RGB')))
pairs = [(load(a), load(b)) for a, b in files]
P, S = mods['psnr_arch'].PSNR(), mods['ssim_arch'].SSIM()
def ps():
    for a, b in pairs: P(a, b).item(); S(a, b).item()
def nq():
    for a, _ in pairs: mods['niqe_arch'].calculate_niqe(a, 0, True, 'yiq', mu, cov).item()
fns = {'psnr_ssim': ps, 'niqe': nq}
default_threads = torch.get_num_threads()
print(json.dumps({'ready': True, 'default_threads': default_threads}), flush=True)
for line in sys.stdin:
    name, threads = line.split()
    torch.set_num_threads(int(threads))
    with torch.no_grad():
        fns[name](); t0 = time.perf_counter()
        for _ in range(reps): fns[name]()
        dt = (time.perf_counter() - t0) / reps
    print(json.dumps({'s': dt, 'threads': torch.get_num_threads()}), flush=True)
`;
const files = pairs.map((c) => [join(fixtures, c.a), join(fixtures, c.b)]);
const child = spawn(join(root, 'python/.venv/bin/python'), ['-c', py, JSON.stringify(files), String(reps)], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
async function reply<T>(): Promise<T> {
  const r = await lines.next();
  if (r.done) throw new Error('pyiqa subprocess exited early (see stderr above)');
  return JSON.parse(r.value) as T;
}
const { default_threads: torchThreads } = await reply<{ default_threads: number }>();
async function pyiqa(name: keyof typeof ours, threads: number): Promise<number> {
  child.stdin.write(`${name} ${threads}\n`);
  const r = await reply<{ s: number; threads: number }>();
  if (r.threads !== threads) throw new Error(`torch refused ${threads} thread(s) (got ${r.threads})`);
  return r.s;
}

// Interleaved rounds (seconds per pass over the images), per metric.
const loadStart = loadNote();
const secs = {} as Record<'psnr_ssim' | 'niqe', { ours: number[]; pyN: number[]; py1: number[] }>;
for (const name of ['psnr_ssim', 'niqe'] as const) {
  secs[name] = await interleavedRounds(rounds, { ours: () => timeIt(ours[name]), pyN: () => pyiqa(name, torchThreads), py1: () => pyiqa(name, 1) });
}
child.stdin.end();

// Per-stage breakdown of our NIQE on the first image (same stages as niqeFeatures).
const stages = new Map<string, number>();
const stage = <T>(k: string, fn: () => T): T => {
  const t0 = performance.now();
  const r = fn();
  stages.set(k, (stages.get(k) ?? 0) + performance.now() - t0);
  return r;
};
const img0 = imgs[0][0];
const bReps = Math.max(reps, 5);
for (let r = 0; r <= bReps; r++) {
  if (r === 1) stages.clear(); // r = 0 is the warm-up
  const y = stage('Y (YIQ luma, rounded)', () => yiqLuma255(img0));
  const cw = Math.floor(img0.width / NIQE_BLOCK) * NIQE_BLOCK;
  const chh = Math.floor(img0.height / NIQE_BLOCK) * NIQE_BLOCK;
  const plane = new Float64Array(cw * chh);
  for (let i = 0; i < chh; i++) plane.set(y.subarray(i * img0.width, i * img0.width + cw), i * cw);
  const feats = new Float64Array(NIQE_FEATURES * (cw / NIQE_BLOCK) * (chh / NIQE_BLOCK));
  const blockStage = (m: Float64Array, w: number, bs: number, key: string) =>
    stage(key, () => {
      const block = new Float64Array(bs * bs);
      for (let bx = 0; bx < cw / NIQE_BLOCK; bx++) {
        for (let by = 0; by < chh / NIQE_BLOCK; by++) {
          for (let yy = 0; yy < bs; yy++) block.set(m.subarray((by * bs + yy) * w + bx * bs, (by * bs + yy) * w + bx * bs + bs), yy * bs);
          blockFeatures(block, bs, feats, (bx * (chh / NIQE_BLOCK) + by) * NIQE_FEATURES);
        }
      }
    });
  blockStage(stage('MSCN scale 1', () => mscn(plane, cw, chh)), cw, NIQE_BLOCK, 'AGGD block fits scale 1');
  const half = stage('imresize 0.5 (float32)', () => imresizeMatlab(plane.map((v) => v / 255), cw, chh, 0.5, true));
  const plane2 = half.data.map((v) => v * 255);
  blockStage(stage('MSCN scale 2', () => mscn(plane2, half.width, half.height)), half.width, NIQE_BLOCK / 2, 'AGGD block fits scale 2');
}

const n = imgs.length;
console.log(`${n} pairs at 512×512; median (min–max) of ${rounds} interleaved rounds × ${reps} reps; ${availableParallelism()} cores; ${loadStart} at start, ${loadNote()} at end`);
console.log(`ours: node ${process.version}, 1 thread; pyiqa 0.1.16: torch CPU ${torchThreads} thread(s) (default) and 1 thread`);
const rate = (s: number[]) => stats(s.map((x) => n / x));
const col = (st: Stats, unit = '') => fmtStats(st, 2, unit).padEnd(22);
console.log(`${'metric'.padEnd(20)} ${'ours'.padEnd(22)} ${`pyiqa(${torchThreads}t)`.padEnd(22)} ${'ratio'.padEnd(22)} ${'pyiqa(1t)'.padEnd(22)} ratio 1t:1t`);
for (const [name, key] of [['PSNR+SSIM (pairs/s)', 'psnr_ssim'], ['NIQE (images/s)', 'niqe']] as const) {
  const t = secs[key];
  // ratio = our throughput / theirs = their seconds / ours, per round
  console.log(`${name.padEnd(20)} ${col(rate(t.ours))} ${col(rate(t.pyN))} ${col(stats(ratios(t.pyN, t.ours)), '×')} ${col(rate(t.py1))} ${fmtStats(stats(ratios(t.py1, t.ours)))}`);
}
console.log(`our NIQE stages on ${imgs.length ? pairs[0].a : ''} (ms per image):`);
let total = 0;
for (const [k, v] of stages) {
  total += v / bReps;
  console.log(`  ${k.padEnd(26)} ${(v / bReps).toFixed(2).padStart(7)}`);
}
console.log(`  ${'sum'.padEnd(26)} ${total.toFixed(2).padStart(7)}`);
if (!Number.isFinite(sink)) console.log('(unexpected non-finite result)');
