/**
 * @file FID bench: images/s of our feature extraction (PIL-float resize + normalise + ORT FID-Inception, full-size
 * random-init weights) vs the Python reference pipeline (Pillow mode-'F' resize + the PyTorch module) on the same
 * images and the same network, and Fréchet-distance time at 2048-d, TS vs scipy `sqrtm` (clean-fid's form).
 * Rounds interleave (bench/rounds.ts: the Python side is a long-lived subprocess timing on request); ratios are
 * reported as the median and range over rounds.
 *
 * Run: `npx tsx bench/metrics-fid.ts [--images 16] [--threads 0] [--rounds 3]`. Needs python/.venv (bench only).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { frechetDistance, gaussianFromMoments, initMoments, updateMoments } from '../src/lib/eval/metrics/functional/frechet-distance.ts';
import { mulberry32 } from '../src/lib/eval/metrics/functional/kernel-distance.ts';
import { readRgb } from '../src/lib/server/image/io.ts';
import { createFidExtractor } from '../src/lib/server/metrics/fid-extractor.ts';
import { fmtStats, interleavedRounds, loadNote, ratios, stats } from './rounds.ts';

const arg = (k: string, d: number) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg('images', 16);
const THREADS = arg('threads', 0);
const ROUNDS = arg('rounds', 3);
const tmp = mkdtempSync(join(tmpdir(), 'fid-bench-'));
const onnx = join(tmp, 'fid-inception-random.onnx');
const files = ['a512', 'b512', 'c512'].map((n) => `test/fixtures/fid/images/${n}.png`);
const list = Array.from({ length: N }, (_, i) => files[i % files.length]);

// Requests on stdin: `feat` (one timed pass of feature extraction, images/s) or `fd` (one scipy sqrtm FD, s).
const py = `
import json, sys, time, numpy as np, torch
from PIL import Image
sys.path.insert(0, 'python')
from refbench_metrics.fid.inception import FidInceptionV3, random_init
from refbench_metrics.fid.convert import export
from refbench_metrics.fid.pipeline import preprocess, frechet_distance_sqrtm
torch.set_num_threads(${THREADS} or torch.get_num_threads())
m = random_init(FidInceptionV3(), 0)
import pathlib
export(m, pathlib.Path(${JSON.stringify(onnx)}))
files = ${JSON.stringify(list)}
imgs = [np.asarray(Image.open(f).convert('RGB')) for f in files]
rng = np.random.default_rng(0)
a = rng.random((857, 2048)); b = rng.random((2500, 2048))
s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
def feat():
    t = time.time()
    for i in range(0, len(imgs), 8):
        m(torch.cat([preprocess(im, 'clean') for im in imgs[i:i+8]], 0))
    return len(imgs) / (time.time() - t)
def fd():
    t = time.time(); frechet_distance_sqrtm(a.mean(0), s1, b.mean(0), s2); return time.time() - t
with torch.no_grad():
    m(preprocess(imgs[0], 'clean'))
    print(json.dumps({"ready": True, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        print(json.dumps({"v": {"feat": feat, "fd": fd}[line.strip()]()}), flush=True)
`;
console.log(`exporting the full-size random-init FID-Inception for both sides (${N} images per pass) …`);
const child = spawn('python/.venv/bin/python', ['-c', py], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
async function reply<T>(): Promise<T> {
  const r = await lines.next();
  if (r.done) throw new Error('python bench subprocess exited early (see stderr above)');
  return JSON.parse(r.value) as T;
}
const ready = await reply<{ threads: number }>();
const ask = async (what: 'feat' | 'fd') => (child.stdin.write(`${what}\n`), (await reply<{ v: number }>()).v);
const loadStart = loadNote();

const imgs = await Promise.all(list.map((f) => readRgb(f)));
const ex = await createFidExtractor({ modelPath: onnx, batchSize: 8, threads: THREADS || undefined }, 'bench');
await ex.extract(imgs.slice(0, 1));
const feat = await interleavedRounds(ROUNDS, {
  ours: async () => {
    const t = performance.now();
    await ex.extract(imgs);
    return N / ((performance.now() - t) / 1000);
  },
  ref: () => ask('feat'),
});
await ex.dispose();

const d = 2048;
const r = mulberry32(0);
const ga = gaussianFromMoments(updateMoments(initMoments(d), Float64Array.from({ length: 857 * d }, () => r()), 857));
const gb = gaussianFromMoments(updateMoments(initMoments(d), Float64Array.from({ length: 2500 * d }, () => r()), 2500));
const fd = await interleavedRounds(ROUNDS, {
  ours: () => {
    const t = performance.now();
    frechetDistance(ga, gb);
    return (performance.now() - t) / 1000;
  },
  ref: () => ask('fd'),
});
child.stdin.end();

console.log(`median (min–max) of ${ROUNDS} interleaved rounds; ${loadStart} at start, ${loadNote()} at end`);
console.log(`feature extraction (clean resize + FID-Inception 2048-d, batch 8, ${N} images of 512²):`);
console.log(`  TS (pil-resize.ts + onnxruntime-node): ${fmtStats(stats(feat.ours), 2, ' img/s')}`);
console.log(`  Python (Pillow 'F' + torch ${ready.threads} threads): ${fmtStats(stats(feat.ref), 2, ' img/s')}`);
console.log(`  ratio TS/Python: ${fmtStats(stats(ratios(feat.ours, feat.ref)))}`);
console.log(`Fréchet distance 2048-d (857 vs 2500 samples; TS factors the rank-856 covariance):`);
console.log(`  TS ${fmtStats(stats(fd.ours), 2, ' s')}; scipy sqrtm (clean-fid) ${fmtStats(stats(fd.ref), 2, ' s')}; ratio ${fmtStats(stats(ratios(fd.ref, fd.ours)))}`);
