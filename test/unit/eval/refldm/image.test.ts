import { describe, expect, it } from 'vitest';
import { buildRefStrip, joinWidth, quantiseImage, splitWidth, toChwMinusOneOne } from '../../../../src/lib/eval/refldm/image.ts';

const img = (w: number, h: number, seed: number) => ({ width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37 + seed * 11) % 256) });

describe('ReF-LDM pre/post-processing', () => {
  it('u8/127.5 − 1, CHW', () => {
    const a = img(2, 2, 0);
    const chw = toChwMinusOneOne(a);
    expect(chw[0]).toBe(Math.fround(a.data[0] / 127.5 - 1));
    expect(chw[4 + 3]).toBe(Math.fround(a.data[3 * 3 + 1] / 127.5 - 1));
  });
  it('strip puts reference j at columns j·W…', () => {
    const refs = [img(3, 2, 1), img(3, 2, 2)];
    const s = buildRefStrip(refs);
    expect(s.width).toBe(6);
    // channel 2, row 1, column 4 = ref 1, x = 1
    expect(s.data[2 * 12 + 1 * 6 + 4]).toBe(Math.fround(refs[1].data[(1 * 3 + 1) * 3 + 2] / 127.5 - 1));
    expect(() => buildRefStrip([img(3, 2, 1), img(2, 2, 1)])).toThrow(/reference 1/);
  });
  it('splitWidth and joinWidth are inverse', () => {
    const wide = Float32Array.from({ length: 2 * 3 * 12 }, (_, i) => i);
    const split = splitWidth(wide, 2, 3, 4, 3);
    // chunk 1, channel 1, row 2, x 3 → wide column 4 + 3
    expect(split[((1 * 2 + 1) * 3 + 2) * 4 + 3]).toBe(wide[(1 * 3 + 2) * 12 + 7]);
    expect(joinWidth(split, 2, 3, 4, 3)).toEqual(wide);
  });
  it('quantise truncates (official) or rounds', () => {
    // (x+1)/2·255: x = 0.0 → 127.5 → 127 trunc / 128 round; x = 2 → clamp 255; x = −3 → 0
    const chw = new Float32Array([0, 2, -3, 0, 0, 0, 0, 0, 0]);
    const t = quantiseImage(chw, 3, 1, 'trunc');
    expect([t.data[0], t.data[3], t.data[6]]).toEqual([127, 255, 0]);
    expect(quantiseImage(chw, 3, 1, 'round').data[0]).toBe(128);
  });
});

import { gaussianNoise } from '../../../../src/lib/eval/refldm/noise.ts';

describe('gaussianNoise', () => {
  it('is deterministic per seed and roughly standard normal', () => {
    const a = gaussianNoise(8 * 64 * 64, 2024);
    expect(gaussianNoise(8 * 64 * 64, 2024)).toEqual(a);
    expect(gaussianNoise(16, 2025)).not.toEqual(a.subarray(0, 16));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const varc = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(varc - 1)).toBeLessThan(0.05);
  });
});
