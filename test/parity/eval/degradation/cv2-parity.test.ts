/**
 * Parity of the degradation maths with BasicSR's kernels (numpy transcription) and OpenCV (cv2.filter2D
 * BORDER_REFLECT_101, cv2.resize INTER_LINEAR). Goldens: python/refbench_golden/degradation.py →
 * test/fixtures/degradation/ (regenerate with `python -m refbench_golden generate degradation` from python/).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filter2d, filterSeparable, filterSeparableTerms, lowRankKernel } from '../../../../src/lib/eval/degradation/filter2d.ts';
import { filterFft } from '../../../../src/lib/eval/degradation/fft-filter.ts';
import { blankFloat, type FloatImage } from '../../../../src/lib/eval/degradation/float-image.ts';
import { bivariateGaussian, gaussian1d } from '../../../../src/lib/eval/degradation/kernels.ts';
import { resizeLinear } from '../../../../src/lib/eval/degradation/resize-linear.ts';

const DIR = join(import.meta.dirname, '../../../fixtures/degradation');
interface Cases {
  atol: number;
  kernels: { name: string; size: number; sigmaX: number; sigmaY: number; theta: number; isotropic: boolean }[];
  filters: { name: string; height: number; width: number; kernel: string }[];
  resizes: { name: string; height: number; width: number; dstWidth: number; dstHeight: number }[];
}
const cases = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as Cases;
const f32 = (file: string): Float32Array => {
  const b = readFileSync(join(DIR, file));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
function ramp(h: number, w: number): FloatImage {
  const img = blankFloat(w, h);
  for (let i = 0; i < img.data.length; i++) img.data[i] = ((i * 7919) % 997) / 997;
  return img;
}
function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
const kernelOf = (name: string) => {
  const k = cases.kernels.find((c) => c.name === name)!;
  return bivariateGaussian(k.size, k.sigmaX, k.sigmaY, k.theta, k.isotropic);
};

describe('degradation parity with BasicSR / cv2', () => {
  it.each(cases.kernels.map((k) => [k.name, k] as const))('kernel %s matches bivariate_Gaussian', (name, k) => {
    const ours = bivariateGaussian(k.size, k.sigmaX, k.sigmaY, k.theta, k.isotropic);
    expect(maxAbs(ours.data, f32(`kernel_${name}.f32`))).toBeLessThan(1e-7);
  });
  it.each(cases.filters.map((f) => [f.name, f] as const))('filter2D %s (REFLECT_101) matches cv2', (name, f) => {
    const img = ramp(f.height, f.width);
    const k = kernelOf(f.kernel);
    const golden = f32(`filter_${name}.f32`);
    expect(maxAbs(filter2d(img, k).data, golden)).toBeLessThanOrEqual(cases.atol);
    // The fast paths the pipeline uses agree with cv2 too.
    const spec = cases.kernels.find((c) => c.name === f.kernel)!;
    const fast = spec.isotropic ? filterSeparable(img, gaussian1d(spec.size, spec.sigmaX)) : filterSeparableTerms(img, lowRankKernel(k, 1e-9)!);
    expect(maxAbs(fast.data, golden)).toBeLessThanOrEqual(cases.atol);
    const all = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
    expect(maxAbs(filterFft(img, k, all(f.height), all(f.width)).data, golden)).toBeLessThanOrEqual(cases.atol);
  });
  it.each(cases.resizes.map((r) => [r.name, r] as const))('resize %s matches cv2 INTER_LINEAR', (name, r) => {
    const out = resizeLinear(ramp(r.height, r.width), r.dstWidth, r.dstHeight);
    expect([out.width, out.height]).toEqual([r.dstWidth, r.dstHeight]);
    expect(maxAbs(out.data, f32(`resize_${name}.f32`))).toBeLessThanOrEqual(cases.atol);
  });
});
