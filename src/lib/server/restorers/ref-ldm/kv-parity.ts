/**
 * @file The zero-reference K/V parity check: the reference pass on one zero latent (the K/V the CFG unconditional
 * branch attends to, and the "no reference" input of docs/model.md §8) computed by two engines, compared layer by
 * layer.
 *
 * Why this input: it is the most ill-conditioned input of the reference pass. A zero latent makes the activations
 * nearly constant over space, so every GroupNorm divides by a tiny spread and amplifies float rounding. Measured on
 * the tiny bundle (fp32, CPU), onnxruntime vs PyTorch: max |Δ| 1.0e-3 with max |K/V| 11.2 (9e-5 relative), against
 * 4.6e-6 for a real reference latent. A real export or engine that is wrong in the normalisation or precision path
 * shows up here first. The tolerance is therefore relative to the K/V scale, with ~10× headroom over that
 * measurement for fp32 graphs; fp16 graphs (GroupNorm and softmax kept fp32) get 2e-2 (not measured on real weights).
 */
import type { AttentionLayer } from './bundle.ts';
import { kvNames } from './designs.ts';

/** Max |Δ| allowed, relative to the largest |K/V| value of the reference side, by graph precision. */
export const ZERO_KV_REL_TOL = Object.freeze({ fp32: 1e-3, fp16: 2e-2 });

/** The comparison's outcome. */
export interface KvParity {
  /** Largest |got − want| over all layers. */
  readonly maxAbs: number;
  /** Largest |want| over all layers (the scale). */
  readonly scale: number;
  /** maxAbs / scale. */
  readonly relative: number;
  /** The layer output with the largest |Δ| (e.g. `k_01`). */
  readonly worst: string;
  readonly tolerance: number;
  readonly ok: boolean;
}

/**
 * Compares two engines' zero-reference K/V (`k_00` … `v_15`, [H, d, T] each).
 * @throws Error naming a missing output or a shape mismatch.
 */
export function compareZeroKv(
  got: ReadonlyMap<string, Float32Array> | Readonly<Record<string, Float32Array>>,
  want: ReadonlyMap<string, Float32Array> | Readonly<Record<string, Float32Array>>,
  layers: readonly AttentionLayer[],
  precision: 'fp32' | 'fp16' = 'fp32',
): KvParity {
  const get = (m: typeof got, k: string) => (m instanceof Map ? m.get(k) : (m as Record<string, Float32Array>)[k]);
  let maxAbs = 0;
  let scale = 0;
  let worst = '';
  for (const layer of layers) {
    for (const name of kvNames(layer.index)) {
      const a = get(got, name);
      const b = get(want, name);
      if (!a || !b) throw new Error(`zero-reference K/V: '${name}' missing on the ${a ? 'reference' : 'checked'} side`);
      if (a.length !== b.length) throw new Error(`zero-reference K/V: '${name}' has ${a.length} values on one side, ${b.length} on the other`);
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i] - b[i]);
        if (d > maxAbs) {
          maxAbs = d;
          worst = name;
        }
        const s = Math.abs(b[i]);
        if (s > scale) scale = s;
      }
    }
  }
  const relative = scale > 0 ? maxAbs / scale : maxAbs;
  const tolerance = ZERO_KV_REL_TOL[precision];
  return { maxAbs, scale, relative, worst, tolerance, ok: Number.isFinite(relative) && relative <= tolerance };
}
