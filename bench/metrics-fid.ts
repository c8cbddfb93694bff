/**
 * @file FID bench: images/s of our feature extraction (PIL-float resize + normalise + ORT FID-Inception, full-size
 * random-init weights) vs the Python reference pipeline (Pillow mode-'F' resize + the PyTorch module) on the same
 * images and the same network, and Fréchet-distance time at 2048-d, TS vs scipy `sqrtm` (clean-fid's form).
 *
 * Run: `npx tsx bench/metrics-fid.ts [--images 16] [--threads 0]`. Needs python/.venv (bench only).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frechetDistance, gaussianFromMoments, initMoments, updateMoments } from '../src/lib/eval/metrics/functional/frechet-distance.ts';
import { mulberry32 } from '../src/lib/eval/metrics/functional/kernel-distance.ts';
import { readRgb } from '../src/lib/server/image/io.ts';
import { createFidExtractor } from '../src/lib/server/metrics/fid.ts';

const arg = (k: string, d: number) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg('images', 16);
const THREADS = arg('threads', 0);
const tmp = mkdtempSync(join(tmpdir(), 'fid-bench-'));
const onnx = join(tmp, 'fid-inception-random.onnx');
const files = ['a512', 'b512', 'c512'].map((n) => `test/fixtures/fid/images/${n}.png`);
const list = Array.from({ length: N }, (_, i) => files[i % files.length]);

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
with torch.no_grad():
    m(preprocess(imgs[0], 'clean'))
    t = time.time()
    for i in range(0, len(imgs), 8):
        m(torch.cat([preprocess(im, 'clean') for im in imgs[i:i+8]], 0))
    dt = time.time() - t
rng = np.random.default_rng(0)
a = rng.random((857, 2048)); b = rng.random((2500, 2048))
s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
t = time.time(); fd = frechet_distance_sqrtm(a.mean(0), s1, b.mean(0), s2); fdt = time.time() - t
print(json.dumps({"ips": len(imgs) / dt, "fd_s": fdt, "threads": torch.get_num_threads()}))
`;
console.log(`exporting the full-size random-init FID-Inception and timing the Python reference on ${N} images …`);
const pyOut = JSON.parse(execFileSync('python/.venv/bin/python', ['-c', py], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 }).trim().split('\n').pop()!);

const imgs = await Promise.all(list.map((f) => readRgb(f)));
const ex = await createFidExtractor({ modelPath: onnx, batchSize: 8, threads: THREADS || undefined }, 'bench');
await ex.extract(imgs.slice(0, 1));
let t = performance.now();
await ex.extract(imgs);
const tsIps = N / ((performance.now() - t) / 1000);
await ex.dispose();

const d = 2048;
const r = mulberry32(0);
const ga = gaussianFromMoments(updateMoments(initMoments(d), Float64Array.from({ length: 857 * d }, () => r()), 857));
const gb = gaussianFromMoments(updateMoments(initMoments(d), Float64Array.from({ length: 2500 * d }, () => r()), 2500));
t = performance.now();
frechetDistance(ga, gb);
const fdMs = performance.now() - t;
t = performance.now();
frechetDistance(gb, { ...ga, n: undefined }, { factor: 'first' });
const fdFullMs = performance.now() - t;

console.log(`feature extraction (clean resize + FID-Inception 2048-d, batch 8, ${N} images of 512²):`);
console.log(`  TS (pil-resize.ts + onnxruntime-node): ${tsIps.toFixed(2)} img/s`);
console.log(`  Python (Pillow 'F' + torch ${pyOut.threads} threads): ${pyOut.ips.toFixed(2)} img/s`);
console.log(`  ratio TS/Python: ${(tsIps / pyOut.ips).toFixed(2)}×`);
console.log(`Fréchet distance 2048-d (857 vs 2500 samples):`);
console.log(`  TS, factor the rank-856 covariance: ${(fdMs / 1000).toFixed(2)} s; forced full-rank factor: ${(fdFullMs / 1000).toFixed(2)} s`);
console.log(`  scipy sqrtm (clean-fid): ${pyOut.fd_s.toFixed(2)} s`);
