/**
 * @file Seeded Gaussian noise for x_T when no x_T file is given: mulberry32 (32-bit state) uniforms and the
 * Box-Muller transform, both halves used. Deterministic across platforms (integer arithmetic + Math.log/cos/sin
 * of float64).
 *
 * NOTE: this does NOT reproduce torch's generator: `torch.manual_seed(2024); torch.randn(1, 8, 64, 64)` gives
 * other numbers (and torch's CPU and CUDA generators differ from each other too, docs/model.md §12). For
 * parity with a PyTorch run, pass the x_T tensor as a .f32 file instead of a seed.
 */

import { mulberry32 } from '../stats/rng.ts';

export { mulberry32 };

/** `n` standard normal float32 values from `seed` (Box-Muller; u1 is taken in (0, 1] so log never sees 0). */
export function gaussianNoise(n: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - next();
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** Identifies the generator in run records. */
export const NOISE_GENERATOR_ID = 'mulberry32-box-muller-v1';
