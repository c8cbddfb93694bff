/**
 * @file Throughput of our PSNR+SSIM and NIQE vs the Python reference (pyiqa 0.1.16 functions on torch CPU), on the
 * same 512×512 fixture images (test/fixtures/pyiqa). Python is timed inside the subprocess, excluding startup and
 * imports. Run: `npx tsx bench/metrics-psnr-ssim.ts [--reps N]`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { psnr } from '../src/lib/eval/metrics/functional/psnr.ts';
import { ssim } from '../src/lib/eval/metrics/functional/ssim.ts';
import { niqe, parseNiqeParams } from '../src/lib/eval/metrics/functional/niqe.ts';
import { readRgb } from '../src/lib/server/image/io.ts';

const root = join(import.meta.dirname, '..');
const fixtures = join(root, 'test/fixtures/pyiqa');
const repsArg = process.argv.indexOf('--reps');
const reps = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 3;

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
const tsPsnrSsim = timeIt(() => {
  for (const [a, b] of imgs) sink += psnr(a, b) + ssim(a, b);
});
const tsNiqe = timeIt(() => {
  for (const [a] of imgs) sink += niqe(a, params);
});

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
out = {}
with torch.no_grad():
    for name, fn in (('psnr_ssim', ps), ('niqe', nq)):
        fn(); t0 = time.perf_counter()
        for _ in range(reps): fn()
        out[name] = (time.perf_counter() - t0) / reps
out['threads'] = torch.get_num_threads()
print(json.dumps(out))
`;
const files = pairs.map((c) => [join(fixtures, c.a), join(fixtures, c.b)]);
const res = spawnSync(join(root, 'python/.venv/bin/python'), ['-c', py, JSON.stringify(files), String(reps)], { encoding: 'utf8' });
if (res.status !== 0) {
  console.error(res.stderr);
  process.exit(1);
}
const pyRes = JSON.parse(res.stdout.trim().split('\n').pop()!) as { psnr_ssim: number; niqe: number; threads: number };

const n = imgs.length;
const rows = [
  ['PSNR+SSIM (pairs/s)', n / tsPsnrSsim, n / pyRes.psnr_ssim],
  ['NIQE (images/s)', n / tsNiqe, n / pyRes.niqe],
] as const;
console.log(`${n} pairs at 512×512, ${reps} reps; node ${process.version} (1 thread), torch CPU ${pyRes.threads} thread(s), ${availableParallelism()} cores`);
console.log('metric                 ours      pyiqa     ours/pyiqa');
for (const [name, ours, ref] of rows) console.log(`${name.padEnd(22)} ${ours.toFixed(2).padStart(7)}  ${ref.toFixed(2).padStart(8)}   ${(ours / ref).toFixed(2)}×`);
if (!Number.isFinite(sink)) console.log('(unexpected non-finite result)');
