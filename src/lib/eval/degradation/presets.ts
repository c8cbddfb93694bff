/**
 * @file Degradation presets (docs/protocol.md §3, paper eq. 4) and their seeded parameter sampling (runtime-neutral).
 *
 * Sampling order from one `SeededRng(key)` (stable; changing it bumps DEGRADATION_VERSION):
 * kernel type (u < 0.5 → iso, else aniso, as `random.choices(['iso','aniso'], [0.5, 0.5])`), σx ~ U(blur),
 * then for aniso σy ~ U(blur) and θ ~ U(−π, π); scale r ~ U(scale); noise σ ~ U(noise) (0–255 scale);
 * JPEG quality = ⌊U(jpeg)⌋. The noise field itself comes from `SeededRng(key + '|noise')`.
 */
import { SeededRng } from '../datasets/seeded-rng.ts';

/** Version of the sampling scheme + pipeline; recorded with every generated LQ. */
export const DEGRADATION_VERSION = '1';

export interface DegradationPreset {
  readonly id: string;
  readonly blurSigma: readonly [number, number];
  readonly scale: readonly [number, number];
  readonly noiseSigma: readonly [number, number];
  readonly jpegQuality: readonly [number, number];
  readonly kernelSize: number;
}

/** The paper's ranges (docs/protocol.md §3 table). Kernel size 41, iso/aniso with probability 0.5 each. */
export const DEGRADATION_PRESETS = Object.freeze({
  train: { id: 'train', blurSigma: [0, 16], scale: [1, 32], noiseSigma: [0, 20], jpegQuality: [30, 100], kernelSize: 41 },
  moderate: { id: 'moderate', blurSigma: [0, 8], scale: [1, 8], noiseSigma: [0, 15], jpegQuality: [60, 100], kernelSize: 41 },
  severe: { id: 'severe', blurSigma: [8, 16], scale: [8, 32], noiseSigma: [0, 20], jpegQuality: [30, 100], kernelSize: 41 },
} as const satisfies Record<string, DegradationPreset>);

export type DegradationPresetId = keyof typeof DEGRADATION_PRESETS;

/** Everything needed to reproduce one LQ image from its HQ image (one params.jsonl line). */
export interface DegradationParams {
  readonly version: string;
  readonly preset: string;
  /** The PRNG key the parameters and the noise were drawn from. */
  readonly key: string;
  readonly kernel: { readonly type: 'iso' | 'aniso'; readonly size: number; readonly sigmaX: number; readonly sigmaY: number; readonly theta: number };
  /** Continuous downsampling factor r. */
  readonly scale: number;
  /** Input size and the low-resolution size `(int(w // r), int(h // r))`. */
  readonly size: readonly [number, number];
  readonly lowSize: readonly [number, number];
  /** Gaussian noise σ on the 0–255 scale. */
  readonly noiseSigma: number;
  readonly jpegQuality: number;
}

/** Looks a preset up by id; the error lists the valid ids. */
export function getPreset(id: string): DegradationPreset {
  const p = (DEGRADATION_PRESETS as Record<string, DegradationPreset>)[id];
  if (!p) throw new Error(`unknown degradation preset '${id}'; expected one of: ${Object.keys(DEGRADATION_PRESETS).join(', ')}`);
  return p;
}

/** The documented per-image key: `degrade|<preset>|<seed>|<imageId>`. */
export function degradationKey(preset: string, seed: number | string, imageId: string): string {
  return `degrade|${preset}|${seed}|${imageId}`;
}

/** Samples one image's parameters deterministically from `key`, for an input of `width`×`height`. */
export function sampleDegradation(preset: DegradationPreset, key: string, width = 512, height = 512): DegradationParams {
  const rng = new SeededRng(key);
  const type = rng.uniform() < 0.5 ? 'iso' : 'aniso';
  const sigmaX = rng.range(preset.blurSigma[0], preset.blurSigma[1]);
  let sigmaY = sigmaX;
  let theta = 0;
  if (type === 'aniso') {
    sigmaY = rng.range(preset.blurSigma[0], preset.blurSigma[1]);
    theta = rng.range(-Math.PI, Math.PI);
  }
  const scale = rng.range(preset.scale[0], preset.scale[1]);
  const noiseSigma = rng.range(preset.noiseSigma[0], preset.noiseSigma[1]);
  const jpegQuality = Math.floor(rng.range(preset.jpegQuality[0], preset.jpegQuality[1]));
  // Python: int(w // r) with float r.
  const lowSize = [Math.max(1, Math.floor(width / scale)), Math.max(1, Math.floor(height / scale))] as const;
  return {
    version: DEGRADATION_VERSION,
    preset: preset.id,
    key,
    kernel: { type, size: preset.kernelSize, sigmaX, sigmaY, theta },
    scale,
    size: [width, height],
    lowSize,
    noiseSigma,
    jpegQuality,
  };
}
