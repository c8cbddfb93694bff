/**
 * @file `classical`: a weak, weight-free baseline. An edge-preserving bilateral filter (denoise) followed by an
 * unsharp mask (sharpen). It ignores the references. It is NOT a face-restoration method: it exists so that
 * tables have a classical point of comparison and so the pipeline can be exercised without any network.
 *
 * Bilateral filter (Tomasi & Manduchi 1998), per pixel p over a (2r+1)² window q:
 *   out(p) = Σ_q w(p,q)·I(q) / Σ_q w(p,q),  w = exp(−|p−q|²/2σs²) · exp(−‖I(p)−I(q)‖²/2σc²)
 * with the range term on the RGB distance (so colours are filtered jointly, no colour fringes).
 * Unsharp mask: out = x + amount·(x − G_σ ∗ x), rounded and clipped to uint8.
 */
import type { z } from 'zod';
import { parseOptions } from '../../eval/spec/run-spec.ts';
import type { Restorer } from '../../eval/restorers/restorer.ts';
import type { RgbImage } from '../../eval/types.ts';
import { ClassicalOptionsSchema } from './options.ts';

export { ClassicalOptionsSchema };
export type ClassicalOptions = z.output<typeof ClassicalOptionsSchema>;

/** Bilateral filter on RGB u8 → float32 HWC. Pure. */
export function bilateralRgb(img: RgbImage, radius: number, sigmaSpace: number, sigmaColor: number): Float32Array {
  const { width: w, height: h, data } = img;
  const out = new Float32Array(w * h * 3);
  const k = 2 * radius + 1;
  const spatial = new Float64Array(k * k);
  for (let dy = -radius; dy <= radius; dy++)
    for (let dx = -radius; dx <= radius; dx++) spatial[(dy + radius) * k + dx + radius] = Math.exp(-(dx * dx + dy * dy) / (2 * sigmaSpace * sigmaSpace));
  // Range weights tabulated on the squared RGB distance (0..3·255²).
  const maxD2 = 3 * 255 * 255;
  const range = new Float64Array(maxD2 + 1);
  for (let d2 = 0; d2 <= maxD2; d2++) range[d2] = Math.exp(-d2 / (2 * sigmaColor * sigmaColor));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 3;
      const r0 = data[p], g0 = data[p + 1], b0 = data[p + 2];
      let sw = 0, sr = 0, sg = 0, sb = 0;
      for (let dy = -radius; dy <= radius; dy++) {
        const yy = Math.min(h - 1, Math.max(0, y + dy));
        for (let dx = -radius; dx <= radius; dx++) {
          const xx = Math.min(w - 1, Math.max(0, x + dx));
          const q = (yy * w + xx) * 3;
          const dr = data[q] - r0, dg = data[q + 1] - g0, db = data[q + 2] - b0;
          const wt = spatial[(dy + radius) * k + dx + radius] * range[dr * dr + dg * dg + db * db];
          sw += wt;
          sr += wt * data[q];
          sg += wt * data[q + 1];
          sb += wt * data[q + 2];
        }
      }
      out[p] = sr / sw;
      out[p + 1] = sg / sw;
      out[p + 2] = sb / sw;
    }
  }
  return out;
}

/** Separable Gaussian blur of an HWC float image (3 channels), edges clamped. Pure. */
export function gaussianBlur3(src: Float32Array, w: number, h: number, sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const kern = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += kern[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < kern.length; i++) kern[i] /= s;
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let i = -r; i <= r; i++) acc += kern[i + r] * src[(y * w + Math.min(w - 1, Math.max(0, x + i))) * 3 + c];
        tmp[(y * w + x) * 3 + c] = acc;
      }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let i = -r; i <= r; i++) acc += kern[i + r] * tmp[(Math.min(h - 1, Math.max(0, y + i)) * w + x) * 3 + c];
        out[(y * w + x) * 3 + c] = acc;
      }
  return out;
}

/** The whole enhancer: bilateral denoise then unsharp mask, back to u8 (round half up, clip). Pure. */
export function classicalEnhance(img: RgbImage, o: ClassicalOptions): RgbImage {
  const den = o.radius > 0 ? bilateralRgb(img, o.radius, o.sigmaSpace, o.sigmaColor) : Float32Array.from(img.data);
  const blur = o.sharpenAmount > 0 ? gaussianBlur3(den, img.width, img.height, o.sharpenSigma) : den;
  const data = new Uint8Array(den.length);
  for (let i = 0; i < den.length; i++) {
    const v = den[i] + o.sharpenAmount * (den[i] - blur[i]);
    data[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v + 0.5);
  }
  return { width: img.width, height: img.height, data };
}

/**
 * @param options `restorer.options`: { radius, sigmaSpace, sigmaColor, sharpenSigma, sharpenAmount }.
 * @example
 * const r = await createClassicalRestorer({ sharpenAmount: 0.8 });
 * const { image } = await r.restore({ sampleId: 'a', lq, refs: [] }); // same size as lq
 */
export async function createClassicalRestorer(options: Readonly<Record<string, unknown>>): Promise<Restorer> {
  const o = parseOptions(ClassicalOptionsSchema, options, { path: ['restorer', 'options'] });
  return {
    info: { id: 'classical', version: '1', weights: { kind: 'none' }, settings: { ...o } },
    async restore(input, opts) {
      opts?.signal?.throwIfAborted();
      const t0 = performance.now();
      const image = classicalEnhance(input.lq, o);
      return { image, timings: { total: performance.now() - t0 }, info: { refsUsed: 0 } };
    },
    async dispose() {},
  };
}
