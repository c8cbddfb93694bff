import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { estimateAggd, gammaGrid, lgamma, niqe, parseNiqeParams } from '../../../../../src/lib/eval/metrics/functional/niqe.ts';
import { imresizeMatlab } from '../../../../../src/lib/eval/metrics/functional/matlab-resize.ts';
import { createNiqe } from '../../../../../src/lib/server/metrics/niqe.ts';
import type { RgbImage } from '../../../../../src/lib/eval/types.ts';

const root = join(import.meta.dirname, '../../../../..');
const paramsPath = join(root, 'models/niqe/niqe-pris-params.json');
const params = parseNiqeParams(JSON.parse(readFileSync(paramsPath, 'utf8')), paramsPath);

function img(width: number, height: number, f: (x: number, y: number, c: number) => number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = f(x, y, c);
  return { width, height, data };
}
/** Deterministic textured image (hash-like pattern, no RNG). */
const texture = (x: number, y: number, c: number) => (((x * 2654435761) ^ (y * 40503) ^ (c * 97)) >>> 7) % 200 + 28;

describe('niqe helpers', () => {
  it('lgamma matches closed forms', () => {
    expect(lgamma(1)).toBeCloseTo(0, 14);
    expect(lgamma(2)).toBeCloseTo(0, 14);
    expect(lgamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 14);
    expect(lgamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(lgamma(0.1)).toBeCloseTo(2.252712651734206, 13);
  });
  it('gamma grid is torch.arange(0.2, 10.001, 0.001) in float32', () => {
    const g = gammaGrid();
    expect(g.length).toBe(9801);
    expect(g[0]).toBe(Math.fround(0.2));
    expect(g[9800]).toBe(Math.fround(10));
    for (const v of g) expect(Math.fround(v)).toBe(v);
  });
  it('AGGD fit recovers a Gaussian (α ≈ 2) and flags an all-positive block with α = 0.2 and NaN β', () => {
    // Box–Muller on a deterministic lattice
    const n = 96 * 96;
    const v = Float64Array.from({ length: n }, (_, i) => {
      const u1 = (i + 0.5) / n;
      const u2 = ((i * 7919) % n + 0.5) / n;
      return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    });
    const [a, bl, br] = estimateAggd(v);
    expect(a).toBeGreaterThan(1.8);
    expect(a).toBeLessThan(2.2);
    expect(bl / br).toBeCloseTo(1, 1);
    const [a2, bl2] = estimateAggd(new Float64Array(16).fill(1));
    expect(a2).toBe(Math.fround(0.2));
    expect(bl2).toBeNaN();
  });
  it('AGGD α (bisection on the ratio grid) equals the first-minimum linear scan torch.argmin does', () => {
    const gam = gammaGrid();
    const rGam = gam.map((g) => Math.exp(2 * lgamma(2 / g) - (lgamma(1 / g) + lgamma(3 / g))));
    const scanAlpha = (v: Float64Array) => {
      let lSq = 0, rSq = 0, nl = 0, nr = 0, absSum = 0, sqSum = 0; // prettier-ignore
      for (const x of v) {
        if (x < 0) (lSq += x * x), nl++;
        else if (x > 0) (rSq += x * x), nr++;
        absSum += Math.abs(x);
        sqSum += x * x;
      }
      const gh = Math.sqrt(lSq / nl) / Math.sqrt(rSq / nr);
      const rhat = (absSum / v.length) ** 2 / (sqSum / v.length);
      const t = (rhat * (gh * gh * gh + 1) * (gh + 1)) / ((gh * gh + 1) * (gh * gh + 1));
      let best = 0;
      for (let i = 1; i < rGam.length; i++) if (Math.abs(rGam[i] - t) < Math.abs(rGam[best] - t)) best = i;
      return gam[best];
    };
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let t = 0; t < 400; t++) {
      // heavy- to light-tailed, skewed, with exact zeros: α over the whole grid, both ends included
      const p = 0.2 + 6 * rnd();
      const v = Float64Array.from({ length: 2 + Math.floor(rnd() * 200) }, () => {
        const u = rnd() - 0.5;
        return rnd() < 0.05 ? 0 : Math.sign(u) * Math.abs(u) ** p * (u < 0 ? 1 + rnd() : 1);
      });
      expect(estimateAggd(v)[0]).toBe(scanAlpha(v));
    }
  });
  it('imresize of a constant plane is the same constant', () => {
    const r = imresizeMatlab(new Float64Array(96 * 64).fill(Math.fround(0.5)), 96, 64, 0.5);
    expect([r.width, r.height]).toEqual([48, 32]);
    for (const v of r.data) expect(v).toBe(0.5);
  });
});

describe('niqe', () => {
  it('gives a finite positive score, invariant to what lies beyond the 96-multiple crop', () => {
    const a = niqe(img(200, 100, texture), params);
    expect(a).toBeGreaterThan(0);
    // 200×100 is cropped to 192×96: changing the right 8 columns and bottom 4 rows changes nothing
    const b = niqe(img(200, 100, (x, y, c) => (x >= 192 || y >= 96 ? 0 : texture(x, y, c))), params);
    expect(b).toBe(a);
  });
  it('scores a smooth image differently from a noisy one', () => {
    const smooth = niqe(img(192, 192, (x, y) => Math.round(128 + 60 * Math.sin(x / 9) * Math.cos(y / 13))), params);
    const noisy = niqe(img(192, 192, texture), params);
    expect(Math.abs(smooth - noisy)).toBeGreaterThan(0.5);
  });
  it('rejects images smaller than 96×96, naming the sample', async () => {
    expect(() => niqe(img(95, 200, texture), params)).toThrow(/95×200.*at least 96×96/);
    const m = await createNiqe({ modelsDir: join(root, 'models') });
    await expect(m.update(m.init(), [{ sampleId: 'tiny-1', pred: img(64, 64, texture) }])).rejects.toThrow(/niqe: sample 'tiny-1'.*64×64/);
  });
  it('a completely flat image has no defined features and is rejected clearly', () => {
    expect(() => niqe(img(96, 96, () => 128), params)).toThrow(/flat|NaN|not finite/);
  });
  it('metric is no-reference, lower-is-better, and names a missing parameter file', async () => {
    const m = await createNiqe({ modelsDir: join(root, 'models') });
    expect(m.spec).toMatchObject({ id: 'niqe', kind: 'no-reference', higherIsBetter: false, decimals: 2, weights: 'real' });
    await expect(createNiqe({ modelsDir: '/nonexistent' })).rejects.toThrow(/nonexistent.*niqe-pris-params\.json/);
    expect(() => parseNiqeParams({ mu: [1, 2], cov: [] }, 'bad.json')).toThrow(/bad\.json.*mu/);
  });
});
