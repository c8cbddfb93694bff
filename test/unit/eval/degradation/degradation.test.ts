import { describe, expect, it } from 'vitest';
import { SeededRng, sha256Hex } from '../../../../src/lib/eval/datasets/seeded-rng.ts';
import { filter2d, filterSeparable, filterSeparableTerms, lowRankKernel, reflect101 } from '../../../../src/lib/eval/degradation/filter2d.ts';
import { blankFloat, floatToRgb, roundHalfEven, type FloatImage } from '../../../../src/lib/eval/degradation/float-image.ts';
import { bivariateGaussian, gaussian1d } from '../../../../src/lib/eval/degradation/kernels.ts';
import { blurDownsample } from '../../../../src/lib/eval/degradation/pipeline.ts';
import {
  DEGRADATION_PRESETS,
  degradationKey,
  getPreset,
  sampleDegradation,
  type DegradationParams,
} from '../../../../src/lib/eval/degradation/presets.ts';
import { linearTaps, resizeLinear } from '../../../../src/lib/eval/degradation/resize-linear.ts';

function ramp(w: number, h: number, ch = 3): FloatImage {
  const img = blankFloat(w, h, ch);
  for (let i = 0; i < img.data.length; i++) img.data[i] = ((i * 7919) % 997) / 997;
  return img;
}
const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('seeded rng', () => {
  it('is a pure function of the key (sha256 + sfc32)', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const a = new SeededRng('k');
    const b = new SeededRng('k');
    const c = new SeededRng('k2');
    const xs = Array.from({ length: 5 }, () => a.uniform());
    expect(Array.from({ length: 5 }, () => b.uniform())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.uniform())).not.toEqual(xs);
  });
  it('has plausible moments', () => {
    const r = new SeededRng('moments');
    let s = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
  });
});

describe('kernels and filtering', () => {
  it('BORDER_REFLECT_101 mapping', () => {
    expect([-3, -2, -1, 0, 4, 5, 6, 7].map((i) => reflect101(i, 5))).toEqual([3, 2, 1, 0, 4, 3, 2, 1]);
  });
  it('normalises kernels, iso equals the outer product of the 1-D factor', () => {
    const k = bivariateGaussian(41, 3.3, 0, 0, true);
    expect(k.data.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const g = gaussian1d(41, 3.3);
    let m = 0;
    for (let r = 0; r < 41; r++) for (let c = 0; c < 41; c++) m = Math.max(m, Math.abs(k.data[r * 41 + c] - g[r] * g[c]));
    expect(m).toBeLessThan(1e-15);
    const a = bivariateGaussian(41, 6, 2, 0.7, false);
    // Rotating by π gives the same kernel; θ = 0 is axis-aligned (wider along x = columns).
    expect(maxDiff(Float32Array.from(a.data), Float32Array.from(bivariateGaussian(41, 6, 2, 0.7 + Math.PI, false).data))).toBeLessThan(1e-12);
    const ax = bivariateGaussian(41, 6, 2, 0, false);
    expect(ax.data[20 * 41 + 25]).toBeGreaterThan(ax.data[25 * 41 + 20]);
  });
  it('sigma 0 gives a delta kernel instead of NaN', () => {
    const k = bivariateGaussian(5, 0, 0, 0, true);
    expect(k.data[12]).toBe(1);
    expect(k.data.reduce((a, b) => a + b, 0)).toBe(1);
  });
  it('separable and low-rank paths match filter2d', () => {
    const img = ramp(70, 53);
    const g = gaussian1d(41, 4);
    const iso = bivariateGaussian(41, 4, 4, 0, true);
    expect(maxDiff(filterSeparable(img, g).data, filter2d(img, iso).data)).toBeLessThan(1e-6);
    for (const [sx, sy, th] of [
      [6, 3, 0.5],
      [0.3, 7, 2],
      [12, 15, -1],
    ]) {
      const k = bivariateGaussian(41, sx, sy, th, false);
      const terms = lowRankKernel(k, 1e-9);
      expect(terms).toBeDefined();
      expect(maxDiff(filterSeparableTerms(img, terms!).data, filter2d(img, k).data)).toBeLessThan(1e-6);
      expect(maxDiff(filter2d(img, k, undefined, undefined, 1e-12).data, filter2d(img, k).data)).toBeLessThan(1e-6);
    }
  });
});

describe('INTER_LINEAR', () => {
  it('uses half-pixel centres with edge clamping and no antialias', () => {
    const t = linearTaps(4, 2); // scale 2: centres at 0.5, 2.5
    expect([...t.i0]).toEqual([0, 2]);
    expect([...t.w1]).toEqual([0.5, 0.5]);
    const up = linearTaps(2, 4); // f = -0.25 → clamped to (0, 0); 0.25; 0.75; 1.25 → clamped (1, 0)
    expect([...up.i0]).toEqual([0, 0, 0, 1]);
    expect([...up.w1]).toEqual([0, 0.25, 0.75, 0]);
  });
  it('fused blur+downsample equals filter2d then resizeLinear', () => {
    const img = ramp(96, 96);
    for (const [type, scale, sx, sy] of [
      ['iso', 3.7, 5, 2],
      ['aniso', 3.7, 5, 2],
      ['aniso', 1.1, 7, 6], // dense: FFT path
      ['aniso', 1.05, 3, 0.4], // thin: sparse direct or low-rank
    ] as const) {
      const low = Math.floor(96 / scale);
      const params: DegradationParams = {
        version: '1',
        preset: 'test',
        key: 'k',
        kernel: { type, size: 41, sigmaX: sx, sigmaY: sy, theta: 0.4 },
        scale,
        size: [96, 96],
        lowSize: [low, low],
        noiseSigma: 0,
        jpegQuality: 90,
      };
      const k = bivariateGaussian(41, sx, sy, 0.4, type === 'iso');
      const ref = resizeLinear(filter2d(img, k), low, low);
      expect(maxDiff(blurDownsample(img, params).data, ref.data)).toBeLessThan(1e-6);
    }
  });
});

describe('presets', () => {
  it('samples parameters within the paper ranges (2000 draws per preset) and both kernel types', () => {
    for (const id of Object.keys(DEGRADATION_PRESETS)) {
      const p = getPreset(id);
      const types = new Set<string>();
      for (let i = 0; i < 2000; i++) {
        const d = sampleDegradation(p, degradationKey(id, 1, String(i)));
        types.add(d.kernel.type);
        expect(d.kernel.size).toBe(41);
        for (const s of [d.kernel.sigmaX, d.kernel.sigmaY]) {
          expect(s).toBeGreaterThanOrEqual(p.blurSigma[0]);
          expect(s).toBeLessThan(p.blurSigma[1]);
        }
        expect(Math.abs(d.kernel.theta)).toBeLessThanOrEqual(Math.PI);
        if (d.kernel.type === 'iso') expect(d.kernel.sigmaY).toBe(d.kernel.sigmaX);
        expect(d.scale).toBeGreaterThanOrEqual(p.scale[0]);
        expect(d.scale).toBeLessThan(p.scale[1]);
        expect(d.lowSize[0]).toBe(Math.floor(512 / d.scale));
        expect(d.noiseSigma).toBeGreaterThanOrEqual(p.noiseSigma[0]);
        expect(d.noiseSigma).toBeLessThan(p.noiseSigma[1]);
        expect(Number.isInteger(d.jpegQuality)).toBe(true);
        expect(d.jpegQuality).toBeGreaterThanOrEqual(p.jpegQuality[0]);
        expect(d.jpegQuality).toBeLessThan(p.jpegQuality[1]);
      }
      expect(types).toEqual(new Set(['iso', 'aniso']));
    }
  });
  it('is deterministic per (preset, seed, id) and differs across ids', () => {
    const p = getPreset('severe');
    expect(sampleDegradation(p, degradationKey('severe', 7, 'a'))).toEqual(sampleDegradation(p, degradationKey('severe', 7, 'a')));
    expect(sampleDegradation(p, degradationKey('severe', 7, 'a'))).not.toEqual(sampleDegradation(p, degradationKey('severe', 7, 'b')));
    expect(sampleDegradation(p, degradationKey('severe', 7, 'a'))).not.toEqual(sampleDegradation(p, degradationKey('severe', 8, 'a')));
    expect(() => getPreset('mild')).toThrow(/train, moderate, severe/);
  });
  it('rounds half to even like numpy', () => {
    expect([0.5, 1.5, 2.5, -0.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, 2, 3]);
    const f = blankFloat(2, 1);
    f.data.set([-0.1, 0.4 / 255, 1.2, 1, 2.6 / 255, 0.3]);
    expect([...floatToRgb(f).data]).toEqual([0, 0, 255, 255, 3, 77]);
  });
});
