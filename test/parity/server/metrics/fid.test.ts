/**
 * Parity of FID/KID against goldens from python/refbench_golden/fid.py (clean-fid pipeline transcribed; PyTorch
 * module for features, scipy/numpy for distances). Tolerances: features 1e-4 abs, distances 1e-6 relative.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frechetDistance, gaussianFromMoments, initMoments, updateMoments } from '../../../../src/lib/eval/metrics/functional/frechet-distance.ts';
import { kernelDistance, mulberry32 } from '../../../../src/lib/eval/metrics/functional/kernel-distance.ts';
import { readRgb } from '../../../../src/lib/server/image/io.ts';
import { createFid, fidBetween } from '../../../../src/lib/server/metrics/fid.ts';
import { createFidExtractor } from '../../../../src/lib/server/metrics/fid-extractor.ts';
import { createKid } from '../../../../src/lib/server/metrics/kid.ts';
import { readGaussianStats, writeGaussianStats } from '../../../../src/lib/server/metrics/fid-stats.ts';
import { METRICS } from '../../../../src/lib/server/metrics/index.ts';
import { encodeNpz, readNpz } from '../../../../src/lib/server/metrics/npz.ts';
import type { RgbImage } from '../../../../src/lib/eval/types.ts';

const DIR = 'test/fixtures/fid';
const G = JSON.parse(readFileSync(`${DIR}/golden.json`, 'utf8'));
const MODEL = `${DIR}/fid-inception-narrow.onnx`;
const f32 = (name: string) => {
  const b = readFileSync(`${DIR}/${name}`);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

function moments(data: Float32Array, n: number, d: number) {
  return gaussianFromMoments(updateMoments(initMoments(d), data, n));
}

let imgs: RgbImage[] = [];
beforeAll(async () => {
  imgs = await Promise.all((G.images as string[]).map((n) => readRgb(`${DIR}/images/${n}.png`)));
});

describe('FID-Inception features (narrow fixture network) vs PyTorch through the clean-fid pipeline', () => {
  for (const [mode, file] of [['clean', 'feats_clean.f32'], ['legacy-pytorch', 'feats_legacy_pytorch.f32']] as const) {
    it(`${mode}: |Δ| ≤ 1e-4 on every feature`, async () => {
      const ex = await createFidExtractor({ modelPath: MODEL, mode, batchSize: 2 }, 'test');
      const { dim, data } = await ex.extract(imgs);
      await ex.dispose();
      const want = f32(file);
      expect(dim).toBe(G[`feats_${mode.replace('-', '_')}_shape`][1]);
      let maxd = 0;
      for (let i = 0; i < want.length; i++) maxd = Math.max(maxd, Math.abs(data[i] - want[i]));
      console.log(`features ${mode}: max |Δ| = ${maxd.toExponential(2)} (absmax ${G[`feats_${mode.replace('-', '_')}_absmax`]})`);
      expect(maxd).toBeLessThan(1e-4);
    });
  }
});

describe('Fréchet distance vs scipy / numpy', () => {
  it('300×64 vs 400×64 (well conditioned): ≤ 1e-6 relative to scipy sqrtm', () => {
    const a = moments(f32('fd_small_a.f32'), 300, 64);
    const b = moments(f32('fd_small_b.f32'), 400, 64);
    const v = frechetDistance(a, b);
    console.log(`fd small: ts ${v} scipy ${G.fd_small_sqrtm} rel ${rel(v, G.fd_small_sqrtm).toExponential(2)}`);
    expect(rel(v, G.fd_small_sqrtm)).toBeLessThan(1e-6);
    expect(rel(frechetDistance(b, a), G.fd_small_sqrtm)).toBeLessThan(1e-6);
  });
  it('2048-d, 300 samples (rank-deficient) vs a full-rank Gaussian: equals the exact low-rank value within its rounding bound', () => {
    const d = 2048;
    const r = mulberry32(21);
    const feats = Float64Array.from({ length: 300 * d }, () => r());
    const a = gaussianFromMoments(updateMoments(initMoments(d), feats, 300));
    const q = mulberry32(22);
    const u = Float64Array.from({ length: d }, () => q());
    const v = Float64Array.from({ length: d }, () => q());
    const w = Float64Array.from({ length: d }, () => q());
    const sigma = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) sigma[i * d + j] = 0.02 * v[i] * v[j] + (i === j ? 0.05 + 0.1 * u[i] : 0);
    const b = { dim: d, mu: w.map((x) => 0.5 + 0.01 * x), sigma };
    const t0 = performance.now();
    const fd = frechetDistance(a, b);
    console.log(`fd 2048 (rank 299): ts ${fd} exact ${G.fd_2048_exact} eigh ${G.fd_2048_eigh} eigvals ${G.fd_2048_eigvals} sqrtm ${G.fd_2048_sqrtm}; rel vs exact ${rel(fd, G.fd_2048_exact).toExponential(2)}, vs sqrtm ${rel(fd, G.fd_2048_sqrtm).toExponential(2)}; ${(performance.now() - t0).toFixed(0)} ms`);
    // The exact value comes from a well-conditioned (299 × 299) problem; its bound is its own rounding error.
    expect(Math.abs(fd - G.fd_2048_exact)).toBeLessThanOrEqual(G.tolerances.fd_2048_exact);
    // scipy / numpy on the d × d product add the roots of ~1749 rounding-noise eigenvalues (kernel-dependent):
    // they lie within their noise bound of the exact value, so within that bound (+ ours) of our value.
    for (const k of ['fd_2048_eigh', 'fd_2048_eigvals', 'fd_2048_sqrtm'] as const) {
      expect(Math.abs(fd - G[k])).toBeLessThanOrEqual(G.tolerances[k] + G.tolerances.fd_2048_exact);
    }
  });
});

describe('KID vs the clean-fid formula with the same subsets', () => {
  it('≤ 1e-6 relative', () => {
    const fa = { n: 300, dim: 64, data: f32('fd_small_a.f32') };
    const fb = { n: 400, dim: 64, data: f32('fd_small_b.f32') };
    const k = kernelDistance(fa, fb, { subsets: { x: G.kid_small.x, y: G.kid_small.y } });
    console.log(`kid: ts ${k.value} python ${G.kid_small.value} rel ${rel(k.value, G.kid_small.value).toExponential(2)}`);
    expect(rel(k.value, G.kid_small.value)).toBeLessThan(1e-6);
    const s1 = kernelDistance(fa, fb, { seed: 3, numSubsets: 5, maxSubsetSize: 50 });
    const s2 = kernelDistance(fa, fb, { seed: 3, numSubsets: 5, maxSubsetSize: 50 });
    expect(s1.value).toBe(s2.value);
    expect(s1.seed).toBe(3);
    expect(kernelDistance(fa, fb, { seed: 4, numSubsets: 5, maxSubsetSize: 50 }).value).not.toBe(s1.value);
  });
});

describe('npz statistics', () => {
  it('reads np.savez (float64) and np.savez_compressed (float32, deflate) files', async () => {
    const b = moments(f32('fd_small_b.f32'), 400, 64);
    for (const [file, tol] of [['stats_small.npz', 1e-12], ['stats_small_compressed.npz', 1e-6]] as const) {
      const s = await readGaussianStats(`${DIR}/${file}`);
      expect(s.dim).toBe(64);
      let md = 0;
      for (let i = 0; i < s.sigma.length; i++) md = Math.max(md, Math.abs(s.sigma[i] - b.sigma[i]));
      for (let i = 0; i < 64; i++) md = Math.max(md, Math.abs(s.mu[i] - b.mu[i]));
      expect(md).toBeLessThan(tol);
    }
  });
  it('round-trips our writer and names the keys found on wrong keys', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'fid-'));
    const b = moments(f32('fd_small_b.f32'), 400, 64);
    await writeGaussianStats(join(tmp, 's.npz'), b);
    const back = await readGaussianStats(join(tmp, 's.npz'));
    expect(Array.from(back.sigma)).toEqual(Array.from(b.sigma));
    expect(back.n).toBe(400);
    await expect(readGaussianStats(`${DIR}/stats_badkeys.npz`)).rejects.toThrow(/stats_badkeys\.npz: expected arrays 'mu' and 'sigma'.*found: (mean, cov|cov, mean)/);
    writeFileSync(join(tmp, 'x.npz'), encodeNpz({ feats: { shape: [2, 2], data: Float64Array.of(1, 2, 3, 4) } }));
    expect((await readNpz(join(tmp, 'x.npz'))).get('feats')!.shape).toEqual([2, 2]);
    await expect(readNpz(join(tmp, 'missing.npz'))).rejects.toThrow(/missing\.npz: file not found/);
  });
});

describe('fid-clean / kid-clean metrics', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'fidm-'));
  it('end to end: clean features vs legacy features equals the numpy eigen-form golden; merge = one batch', async () => {
    const clean = await createFid({ modelPath: MODEL, mode: 'clean', batchSize: 3 });
    const legacy = await createFid({ modelPath: MODEL, mode: 'legacy-pytorch' });
    const items = imgs.map((pred, i) => ({ sampleId: `s${i}`, pred }));
    const sc = await clean.update(clean.init(), items);
    const sl = await legacy.update(legacy.init(), items);
    const fd = fidBetween(sc, sl);
    console.log(`fid clean vs legacy (5 images, 256-d): ts ${fd} python ${G.fid_clean_vs_legacy_stats_eigh} rel ${rel(fd, G.fid_clean_vs_legacy_stats_eigh).toExponential(2)}`);
    expect(rel(fd, G.fid_clean_vs_legacy_stats_eigh)).toBeLessThan(1e-3);
    // shards: two updates merged give the same statistics as one batch
    const s1 = await clean.update(clean.init(), items.slice(0, 2));
    const s2 = await clean.update(clean.init(), items.slice(2));
    const merged = clean.statsOf(clean.merge(s1, s2));
    const whole = clean.statsOf(sc);
    let md = 0;
    for (let i = 0; i < whole.sigma.length; i++) md = Math.max(md, Math.abs(merged.sigma[i] - whole.sigma[i]));
    expect(md).toBeLessThan(1e-12);
    // compute against stats written to .npz
    await writeGaussianStats(join(tmp, 'legacy.npz'), legacy.statsOf(sl));
    const withRef = await createFid({ modelPath: MODEL, reference: join(tmp, 'legacy.npz') });
    const v = withRef.compute(sc);
    expect(v.n).toBe(5);
    expect(rel(v.value, fd)).toBeLessThan(1e-9);
    expect(withRef.spec.weights).toBe('test-random-init');
    expect(withRef.spec.kind).toBe('distribution');
    expect(withRef.spec.version).toMatch(/clean.*pil-bicubic/);
    // KID through the registry, seeded
    const kid = await METRICS.get('kid-clean')({ modelPath: MODEL, referenceFeatures: { n: 5, dim: 256, data: f32('feats_legacy_pytorch.f32') } });
    const ks = await kid.update(kid.init(), items);
    const kv = kid.compute(ks);
    expect(kv.extra?.seed).toBe(0);
    expect(Number.isFinite(kv.value)).toBe(true);
    for (const m of [clean, legacy, withRef, kid]) await m.dispose?.();
  });

  it('errors: fewer than 2 images, NaN network output, missing model file', async () => {
    const fid = await createFid({ modelPath: MODEL, reference: `${DIR}/stats_small.npz` });
    const one = await fid.update(fid.init(), [{ sampleId: 'only', pred: imgs[0] }]);
    expect(() => fid.compute(one)).toThrow(/at least 2 images.*got 1/);
    expect(() => fid.compute(fid.init())).toThrow(/at least 2 images.*got 0/);
    await fid.dispose?.();
    const nan = await createFid({ modelPath: `${DIR}/nan.onnx` });
    await expect(nan.update(nan.init(), [{ sampleId: 'face-7', pred: imgs[4] }])).rejects.toThrow(/returned NaN for image 'face-7'/);
    await nan.dispose?.();
    await expect(createFid({ modelsDir: join(tmp, 'no-models') })).rejects.toThrow(
      /fid-inception\.onnx not found\. Run: refbench models fetch fid-inception && refbench models convert fid-inception/,
    );
  });
});

afterAll(() => {});
