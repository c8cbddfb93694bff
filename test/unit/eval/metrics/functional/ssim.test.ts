import { describe, expect, it } from 'vitest';
import { roundHalfEven, yiqLuma255 } from '../../../../../src/lib/eval/metrics/functional/color.ts';
import {
  filterSameReplicate,
  filterValidSeparable,
  fspecialGaussian,
  separableTerms,
} from '../../../../../src/lib/eval/metrics/functional/gaussian.ts';
import { symmetricEigenJacobi } from '../../../../../src/lib/eval/metrics/functional/linalg.ts';
import { ssim, ssimPlanes } from '../../../../../src/lib/eval/metrics/functional/ssim.ts';
import { createSsim } from '../../../../../src/lib/server/metrics/ssim.ts';
import type { RgbImage } from '../../../../../src/lib/eval/types.ts';

function img(width: number, height: number, f: (x: number, y: number, c: number) => number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = f(x, y, c);
  return { width, height, data };
}
const pattern = (s: number) => (x: number, y: number, c: number) => (x * 13 + y * 7 + c * 50 + ((x * y + s) % 17) * 5) % 256;

describe('color: Y of YIQ ×255, rounded as torch float32 does', () => {
  it('rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, 2.4999, 3.5].map(roundHalfEven)).toEqual([0, 2, 2, -0, 2, 4]);
  });
  it('reproduces float32 tie-breaking (values read from torch 2.13 CPU)', () => {
    // exact luma: (0,70,65) → 48.5 but float32 gives 49; (0,0,250) → 28.5 and float32 gives 28
    const px = [[0, 70, 65, 49], [2, 154, 136, 107], [0, 0, 250, 28], [0, 14, 213, 32], [255, 255, 255, 255], [0, 0, 0, 0]];
    const y = yiqLuma255({ width: px.length, height: 1, data: Uint8Array.from(px.flatMap((p) => p.slice(0, 3))) });
    expect(Array.from(y)).toEqual(px.map((p) => p[3]));
  });
});

describe('gaussian filters', () => {
  it('fspecial(11, 1.5) sums to 1 within float32 rounding and is symmetric', () => {
    const k = fspecialGaussian(11, 1.5);
    const sum = k.reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - 1)).toBeLessThan(1e-7);
    expect(k[0]).toBe(k[120]);
    expect(k[5]).toBe(k[55]);
    for (const v of k) expect(Math.fround(v)).toBe(v);
  });
  it('Jacobi eigendecomposition reconstructs a symmetric matrix', () => {
    const n = 5;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = Math.sin(i * 3 + j) + (i === j ? 4 : 0);
    const { values, vectors } = symmetricEigenJacobi(a, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += values[k] * vectors[k * n + i] * vectors[k * n + j];
        expect(s).toBeCloseTo(a[i * n + j], 12);
      }
    }
  });
  it('7×7 same-replicate filtering (fast path) is bit-identical to the plain sequential 49-tap sum', () => {
    const w = 23;
    const h = 9;
    const src = Float64Array.from({ length: w * h }, (_, i) => ((i * 7919) % 256) * (i % 3 === 0 ? -1.5 : 1));
    const k = fspecialGaussian(7, 7 / 6);
    const got = filterSameReplicate(src, w, h, k, 7);
    const at = (y: number, x: number) => src[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) acc += k[i * 7 + j] * at(y + i - 3, x + j - 3);
        expect(got[y * w + x]).toBe(acc);
      }
    }
  });
  it('full-rank separable valid filtering equals the direct 2-D correlation', () => {
    const w = 20;
    const h = 15;
    const src = Float64Array.from({ length: w * h }, (_, i) => (i * 37) % 101);
    const k = fspecialGaussian(11, 1.5);
    const [sep] = filterValidSeparable([src], w, h, separableTerms(k, 11, 11));
    // direct: valid = same-replicate output restricted to the interior
    const same = filterSameReplicate(src, w, h, k, 11);
    for (let y = 0; y < h - 10; y++) for (let x = 0; x < w - 10; x++) expect(sep[y * (w - 10) + x]).toBeCloseTo(same[(y + 5) * w + x + 5], 9);
  });
});

describe('ssim (pyiqa convention)', () => {
  it('identical images give exactly 1', () => {
    const x = img(40, 30, pattern(1));
    expect(ssim(x, x)).toBeCloseTo(1, 14);
  });
  it('is symmetric and lower for a noisier copy', () => {
    const x = img(40, 30, pattern(1));
    const y = img(40, 30, (a, b, c) => Math.min(255, pattern(1)(a, b, c) + ((a * 3 + b) % 5)));
    const z = img(40, 30, (a, b, c) => Math.min(255, pattern(1)(a, b, c) + ((a * 3 + b) % 41)));
    expect(ssim(x, y)).toBeCloseTo(ssim(y, x), 14);
    expect(ssim(x, z)).toBeLessThan(ssim(x, y));
    expect(ssim(x, y)).toBeLessThan(1);
  });
  it('relu on cs keeps anti-correlated images at ≥ 0', () => {
    const n = 24 * 24;
    const a = Float64Array.from({ length: n }, (_, i) => ((i % 24) + Math.floor(i / 24)) % 2 ? 200 : 50);
    const b = a.map((v) => 250 - v);
    expect(ssimPlanes(a, b, 24, 24)).toBe(0);
  });
  it('rejects small or mismatched images, naming the sample', async () => {
    expect(() => ssim(img(10, 10, pattern(0)), img(10, 10, pattern(0)))).toThrow(/at least 11/);
    const m = await createSsim();
    await expect(m.update(m.init(), [{ sampleId: 's7', pred: img(20, 20, pattern(0)), gt: img(20, 21, pattern(0)) }])).rejects.toThrow(
      /ssim: sample 's7'.*20×20.*20×21/,
    );
  });
});
