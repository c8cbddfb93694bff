/**
 * @file The two preprocessing modes of the FID-Inception network (clean-fid names; the mode is part of the metric
 * version, `fidFamilyVersion`): u8 RGB → 299² → normalised CHW float32.
 * - `clean`: each channel as float32 through Pillow mode-'F' bicubic (`resizePlanePil`), clip [0, 255],
 *   (x − 128)/128 (clean-fid / pyiqa default, the ReF-LDM protocol).
 * - `legacy-pytorch`: torch `F.interpolate(bilinear, align_corners=False)` without antialias on [0, 255],
 *   then (x − 127.5)/127.5 (pytorch-fid).
 */
import type { WeightsKind } from '../../eval/metrics/metric.ts';
import { resizePlanePil } from '../../eval/image/pil-resize.ts';
import { resizePlaneTorchBilinear } from '../../eval/image/torch-bilinear.ts';
import type { RgbImage } from '../../eval/types.ts';

/** Preprocessing modes (clean-fid names, kebab-case). */
export type FidMode = 'clean' | 'legacy-pytorch';

/** Network input side. */
export const FID_SIZE = 299;

/** (x − 128)/128 after a per-channel float Pillow bicubic resize, clipped to [0, 255]. CHW float32. */
export function preprocessClean(img: RgbImage, out = new Float32Array(3 * FID_SIZE * FID_SIZE)): Float32Array {
  const { width: w, height: h, data } = img;
  const plane = new Float32Array(w * h);
  const n = FID_SIZE * FID_SIZE;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < w * h; i++) plane[i] = data[i * 3 + c];
    const r = resizePlanePil(plane, w, h, FID_SIZE, FID_SIZE);
    for (let i = 0; i < n; i++) {
      const v = r[i] < 0 ? 0 : r[i] > 255 ? 255 : r[i];
      out[c * n + i] = (v - 128) / 128;
    }
  }
  return out;
}

/**
 * pytorch-fid: torch bilinear (align_corners=False, no antialias) to 299² on [0, 255] floats
 * (`eval/image/torch-bilinear.ts`, bit-exact with torch's generic CPU kernel), then (x − 127.5)/127.5 as
 * `2·(x/255) − 1`. CHW float32.
 */
export function preprocessLegacyPytorch(img: RgbImage, out = new Float32Array(3 * FID_SIZE * FID_SIZE)): Float32Array {
  const { width: w, height: h, data } = img;
  const n = FID_SIZE * FID_SIZE;
  const plane = new Float32Array(w * h);
  const normalise = (v: number) => Math.fround(v / 255) * 2 - 1;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < w * h; i++) plane[i] = data[i * 3 + c];
    resizePlaneTorchBilinear(plane, w, h, FID_SIZE, FID_SIZE, out.subarray(c * n, (c + 1) * n), normalise);
  }
  return out;
}

/** The version string of a FID-family metric: the mode's resize and normalisation, the network, its weights. */
export function fidFamilyVersion(kind: 'fid' | 'kid', mode: FidMode, weights: WeightsKind): string {
  const resize = mode === 'clean' ? 'pil-bicubic-f32' : 'torch-bilinear';
  const norm = mode === 'clean' ? 'x-128/128' : 'x-127.5/127.5';
  return `1:${kind}:${mode}:${resize}:${norm}:fid-inception-2015-12-05-pool3:${weights}`;
}
