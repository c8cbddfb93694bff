import { describe, expect, it } from 'vitest';
import { RESTORERS } from '../../../../src/lib/server/restorers/index.ts';
import { patternImage } from '../../../helpers/folder-dataset.ts';

function noisy(seed: number) {
  const img = patternImage(seed, 64);
  let s = 12345;
  const data = img.data.map((v) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return Math.max(0, Math.min(255, v + ((s >>> 16) % 41) - 20));
  });
  return { clean: img, noisy: { ...img, data } };
}

const mse = (a: Uint8Array, b: Uint8Array) => a.reduce((acc, v, i) => acc + (v - b[i]) ** 2, 0) / a.length;

describe('weight-free restorers', () => {
  it('lq returns the input unchanged with a total timing', async () => {
    const r = await RESTORERS.get('lq')({});
    const { noisy: img } = noisy(1);
    const out = await r.restore({ sampleId: 'a', lq: img, refs: [] });
    expect(out.image.data).toBe(img.data);
    expect(out.timings.total).toBeGreaterThanOrEqual(0);
    expect(r.info.weights).toEqual({ kind: 'none' });
    await expect(RESTORERS.get('lq')({ steps: 3 })).rejects.toThrow("restorer 'lq': options.steps: unknown key 'steps' (no keys are accepted here)");
  });

  it('classical (bilateral only) reduces noise on a smooth image; sharpening adds high-frequency energy back', async () => {
    const flat = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) };
    let s = 7;
    const nz = { ...flat, data: flat.data.map((v) => { s = (s * 1103515245 + 12345) >>> 0; return v + ((s >>> 16) % 31) - 15; }) };
    const den = await RESTORERS.get('classical')({ sharpenAmount: 0 });
    const out = (await den.restore({ sampleId: 'a', lq: nz, refs: [] })).image;
    expect(mse(out.data, flat.data)).toBeLessThan(0.3 * mse(nz.data, flat.data));
    const sharp = await RESTORERS.get('classical')({ radius: 0, sharpenAmount: 1 });
    const { clean } = noisy(2);
    const o2 = (await sharp.restore({ sampleId: 'a', lq: clean, refs: [] })).image;
    expect(mse(o2.data, clean.data)).toBeGreaterThan(0);
    expect(o2.width).toBe(64);
    await expect(RESTORERS.get('classical')({ radius: -1 })).rejects.toThrow(/restorer 'classical': options\.radius: Too small/);
  });
});
