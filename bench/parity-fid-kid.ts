/**
 * @file Measures the FID/KID parity numbers docs/parity.md states (not a speed bench):
 * - Fréchet distance when a set has fewer samples than feature dimensions: ours (pivoted Cholesky of the
 *   lower-rank covariance, eigenvalues of LᵀΣ₂L) vs clean-fid's `frechet_distance` (scipy `sqrtm` of the
 *   rank-deficient Σ₁Σ₂, which picks up √|λ| of rounding-noise eigenvalues) vs the exact value through the
 *   well-conditioned low-rank form (python/refbench_metrics/fid/pipeline.py `frechet_distance_lowrank_exact`).
 * - KID with the same subsets, float64 features: ours vs clean-fid's `kernel_distance` formula.
 * - KID with default (sampled) subsets: how far values from different subset draws lie apart, i.e. how far
 *   clean-fid's unseeded `np.random` subsets put its KID from our seeded ones.
 *
 * Features are synthetic, pool3-like (non-negative, low effective rank: ReLU of 64 latent factors through a fixed
 * 64×2048 mixing, plus noise), two sets from slightly different distributions; seeds are fixed.
 * Run: `npx tsx bench/parity-fid-kid.ts [--kid-subsets 10]` (minutes; needs python/.venv).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frechetDistance, gaussianFromMoments, initMoments, updateMoments } from '../src/lib/eval/metrics/functional/frechet-distance.ts';
import { kernelDistance, mulberry32, sampleWithoutReplacement } from '../src/lib/eval/metrics/functional/kernel-distance.ts';

const arg = (k: string, d: number) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const D = 2048;
const K = 64;
const KID_SUBSETS = arg('kid-subsets', 10);
const CASES: [number, number][] = [
  [20, 20],
  [50, 50],
  [200, 200],
  [857, 2500],
];

/** Box–Muller normal from a uniform source. */
function normal(r: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** n pool3-like feature rows: ReLU(z·W + shift + 0.1·ε)·0.5, z ~ N(0, I₆₄), W fixed. */
function features(n: number, seed: number, shift: number): Float64Array {
  const w = normal(mulberry32(1));
  const mix = Float64Array.from({ length: K * D }, () => w() / Math.sqrt(K));
  const g = normal(mulberry32(seed));
  const out = new Float64Array(n * D);
  const z = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) z[k] = g() + shift;
    for (let j = 0; j < D; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += z[k] * mix[k * D + j];
      const v = s + 0.1 * g();
      out[i * D + j] = v > 0 ? 0.5 * v : 0;
    }
  }
  return out;
}

const tmp = mkdtempSync(join(tmpdir(), 'parity-fid-kid-'));
const save = (name: string, a: Float64Array) => writeFileSync(join(tmp, name), Buffer.from(a.buffer));
const py = (code: string) => JSON.parse(execFileSync('python/.venv/bin/python', ['-c', code], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 }).trim().split('\n').pop()!);
const PY_HEAD = `
import json, sys, numpy as np
sys.path.insert(0, 'python')
from refbench_metrics.fid.pipeline import frechet_distance_sqrtm, frechet_distance_lowrank_exact, kid_with_subsets
def load(name, n): return np.fromfile(${JSON.stringify(tmp)} + '/' + name, dtype='<f8').reshape(n, ${D})
`;

console.log(`Fréchet distance, ${D}-d synthetic pool3-like features (two sets, shifted latent mean)`);
console.log('n1 vs n2      ours            clean-fid sqrtm   exact (low-rank)   |ours−cleanfid|/FID  |ours−exact|/FID  |cleanfid−exact|/FID');
const rows: string[] = [];
for (const [n1, n2] of CASES) {
  const a = features(n1, 100 + n1, 0);
  const b = features(n2, 200 + n2, 0.15);
  save(`a_${n1}.f64`, a);
  save(`b_${n2}.f64`, b);
  const ga = gaussianFromMoments(updateMoments(initMoments(D), a, n1));
  const gb = gaussianFromMoments(updateMoments(initMoments(D), b, n2));
  const ours = frechetDistance(ga, gb);
  const r = py(`${PY_HEAD}
a = load('a_${n1}.f64', ${n1}); b = load('b_${n2}.f64', ${n2})
mu1, s1 = a.mean(0), np.cov(a, rowvar=False); mu2, s2 = b.mean(0), np.cov(b, rowvar=False)
exact, bound = frechet_distance_lowrank_exact(a, mu2, s2)
print(json.dumps({"sqrtm": frechet_distance_sqrtm(mu1, s1, mu2, s2), "exact": exact, "bound": bound}))`);
  const rel = (x: number, y: number) => (Math.abs(x - y) / Math.abs(y)).toExponential(1);
  const line = `${`${n1} vs ${n2}`.padEnd(12)}  ${ours.toPrecision(12).padEnd(14)}  ${String(r.sqrtm.toPrecision(12)).padEnd(16)}  ${String(r.exact.toPrecision(12)).padEnd(17)}  ${rel(ours, r.sqrtm).padEnd(19)}  ${rel(ours, r.exact).padEnd(16)}  ${rel(r.sqrtm, r.exact)}  (exact ± ${r.bound.toExponential(1)}; ours−cleanfid ${(ours - r.sqrtm).toExponential(2)})`;
  console.log(line);
  rows.push(line);
}

console.log(`\nKID, ${D}-d features, 857 vs 2500, the same ${KID_SUBSETS} subsets of 857 on both sides (float64)`);
const a = new Float64Array(readFileSync(join(tmp, 'a_857.f64')).buffer.slice(0));
const b = new Float64Array(readFileSync(join(tmp, 'b_2500.f64')).buffer.slice(0));
const fa = { n: 857, dim: D, data: a };
const fb = { n: 2500, dim: D, data: b };
const rand = mulberry32(7);
const xs: Int32Array[] = [];
const ys: Int32Array[] = [];
for (let s = 0; s < KID_SUBSETS; s++) {
  xs.push(sampleWithoutReplacement(2500, 857, rand));
  ys.push(sampleWithoutReplacement(857, 857, rand));
}
const oursKid = kernelDistance(fa, fb, { subsets: { x: xs, y: ys } }).value;
writeFileSync(join(tmp, 'subsets.json'), JSON.stringify({ x: xs.map((x) => [...x]), y: ys.map((y) => [...y]) }));
const refKid = py(`${PY_HEAD}
s = json.load(open(${JSON.stringify(join(tmp, 'subsets.json'))}))
print(json.dumps({"kid": kid_with_subsets(load('a_857.f64', 857), load('b_2500.f64', 2500), [np.array(x) for x in s['x']], [np.array(y) for y in s['y']])}))`).kid;
console.log(`  ours ${oursKid}  clean-fid formula ${refKid}  relative difference ${(Math.abs(oursKid - refKid) / Math.abs(refKid)).toExponential(1)}`);

console.log('\nKID with default subsets (100 × 857, sampled): spread over sampler seeds');
const seeds = [0, 1, 2, 3, 4];
const vals = seeds.map((seed) => kernelDistance(fa, fb, { seed }).value);
const mean = vals.reduce((s, v) => s + v, 0) / vals.length;
const sd = Math.sqrt(vals.reduce((s, v) => s + (v - mean) ** 2, 0) / (vals.length - 1));
console.log(`  seeds ${seeds.join(',')}: ${vals.map((v) => v.toPrecision(6)).join(', ')}; relative std ${(sd / mean).toExponential(1)}, range ${((Math.max(...vals) - Math.min(...vals)) / mean).toExponential(1)} of the mean`);
