/**
 * @file LPIPS v0.1 functional core (richzhang/PerceptualSimilarity, pip `lpips` 0.1.4), runtime-neutral: input
 * normalisation, the per-level distance on the trunk's feature maps, linear-weight parsing and masking.
 *
 * Notation (Zhang et al. 2018, eq. 1): for level l with features ŷ⁰ˡ, ŷ¹ˡ ∈ ℝ^{C×H×W},
 *   d(x, x₀) = Σ_l 1/(H_l W_l) Σ_{h,w} ‖ w_l ⊙ (ŷˡ_hw − ŷ⁰ˡ_hw) ‖²₂,
 * where ŷ is f unit-normalised over channels, f / (√(Σ_c f²) + 1e-10) (eps outside the root, as `lpips`), and
 * w_l ≥ 0 are the linear-layer weights (`lin{l}.model.1.weight`, applied to the squared difference).
 * The network runs in float32; normalisation, differences and means here run in float64.
 */
import type { RgbImage } from '../../types.ts';

/** lpips' ScalingLayer constants (v0.1): (x − shift)/scale on x = 2u − 1, i.e. ImageNet mean/std on u ∈ [0,1]. */
export const LPIPS_SHIFT = Object.freeze([-0.03, -0.088, -0.188] as const);
export const LPIPS_SCALE = Object.freeze([0.458, 0.448, 0.45] as const);
/** eps added to the channel norm (outside the square root). */
export const LPIPS_NORM_EPS = 1e-10;

/** Per-channel u8 → trunk input tables, rounded step by step in float32 exactly as torch computes them. */
const INPUT_LUT: readonly Float32Array[] = [0, 1, 2].map((c) => {
  const lut = new Float32Array(256);
  const shift = Math.fround(LPIPS_SHIFT[c]);
  const scale = Math.fround(LPIPS_SCALE[c]);
  for (let u = 0; u < 256; u++) {
    const x = Math.fround(Math.fround(2 * Math.fround(u / 255)) - 1);
    lut[u] = Math.fround(Math.fround(x - shift) / scale);
  }
  return lut;
});

/**
 * Writes the trunk input for an RGB u8 image (pyiqa convention: u/255 ∈ [0,1] → 2x − 1 → ScalingLayer, which
 * equals (u/255 − ImageNet mean)/std) into `out` as CHW at `offset`.
 */
export function lpipsInput(img: RgbImage, out: Float32Array, offset = 0): void {
  const n = img.width * img.height;
  if (out.length < offset + 3 * n) throw new Error(`lpipsInput: output buffer too small (${out.length} < ${offset + 3 * n})`);
  const d = img.data;
  const [l0, l1, l2] = INPUT_LUT;
  for (let p = 0, s = 0; p < n; p++, s += 3) {
    out[offset + p] = l0[d[s]];
    out[offset + n + p] = l1[d[s + 1]];
    out[offset + 2 * n + p] = l2[d[s + 2]];
  }
}

/** One level's feature maps for two images, each CHW float32 (views into the trunk output). */
export interface LpipsLevel {
  readonly a: Float32Array;
  readonly b: Float32Array;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/**
 * The LPIPS distance of one level: mean over pixels of Σ_c w_c (â_c − b̂_c)², float64.
 * @throws Error when the weights' width does not match the channels, or a value is NaN/Infinity.
 */
export function lpipsLevel(level: LpipsLevel, weights: ArrayLike<number>): number {
  const { a, b, channels: C, height, width } = level;
  const hw = height * width;
  if (weights.length !== C) throw new Error(`lpips: linear layer has ${weights.length} weights but the feature map has ${C} channels`);
  if (a.length !== C * hw || b.length !== C * hw) throw new Error(`lpips: feature map size mismatch (${a.length}, ${b.length} vs ${C}×${height}×${width})`);
  const na = new Float64Array(hw);
  const nb = new Float64Array(hw);
  for (let c = 0; c < C; c++) {
    const o = c * hw;
    for (let p = 0; p < hw; p++) {
      const x = a[o + p];
      const y = b[o + p];
      na[p] += x * x;
      nb[p] += y * y;
    }
  }
  for (let p = 0; p < hw; p++) {
    na[p] = 1 / (Math.sqrt(na[p]) + LPIPS_NORM_EPS);
    nb[p] = 1 / (Math.sqrt(nb[p]) + LPIPS_NORM_EPS);
  }
  const acc = new Float64Array(hw);
  for (let c = 0; c < C; c++) {
    const o = c * hw;
    const w = weights[c];
    for (let p = 0; p < hw; p++) {
      const d = a[o + p] * na[p] - b[o + p] * nb[p];
      acc[p] += w * d * d;
    }
  }
  let sum = 0;
  for (let p = 0; p < hw; p++) sum += acc[p];
  const v = sum / hw;
  if (!Number.isFinite(v)) throw new Error('lpips: the network output contains NaN or Infinity');
  return v;
}

/** LPIPS = Σ over levels of `lpipsLevel`. */
export function lpipsFromLevels(levels: readonly LpipsLevel[], lin: readonly ArrayLike<number>[]): number {
  if (levels.length !== lin.length) throw new Error(`lpips: ${levels.length} feature levels but ${lin.length} linear layers`);
  let total = 0;
  levels.forEach((lv, i) => {
    total += lpipsLevel(lv, lin[i]);
  });
  return total;
}

/** The linear weights of one LPIPS variant (the `.lin.json` written by `refbench_metrics.lpips.convert`). */
export interface LpipsLin {
  readonly net: string;
  readonly version: string;
  readonly weights: readonly Float64Array[];
  readonly source: string;
}

/**
 * Parses and validates a `refbench-lpips-lin` JSON document.
 * @param what the file name, for errors
 * @throws Error naming the file and the field at fault.
 */
export function parseLpipsLin(json: unknown, what: string): LpipsLin {
  const o = json as Record<string, unknown>;
  if (!o || typeof o !== 'object' || o.format !== 'refbench-lpips-lin') throw new Error(`${what}: not a refbench-lpips-lin file (field 'format')`);
  if (o.version !== '0.1') throw new Error(`${what}: field 'version' is ${JSON.stringify(o.version)}, only LPIPS v0.1 is supported`);
  if (!Array.isArray(o.weights) || o.weights.length !== 5) throw new Error(`${what}: field 'weights' must hold 5 arrays`);
  const weights = o.weights.map((w, i) => {
    if (!Array.isArray(w) || !w.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) {
      throw new Error(`${what}: weights[${i}] must be an array of finite non-negative numbers`);
    }
    return Float64Array.from(w as number[]);
  });
  return { net: String(o.net), version: '0.1', weights, source: String(o.source ?? '') };
}

/**
 * CelebAMask-HQ face classes used by ReF-LDM's fLPIPS (docs/protocol.md §5.3): skin 2, ears 4/5, nose 10, inner
 * mouth 11, lips 12/13, brows 6/7, eyes 8/9, eyeglasses 15 (hair 14 and neck 1 excluded).
 */
export const FLPIPS_FACE_CLASSES = Object.freeze([2, 4, 5, 10, 11, 12, 13, 6, 7, 8, 9, 15] as const);

/** Binary mask (1 where the label is one of `classes`) of an H×W label map. */
export function maskFromLabels(labels: ArrayLike<number>, classes: readonly number[]): Uint8Array {
  const set = new Set(classes);
  const m = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) m[i] = set.has(labels[i]) ? 1 : 0;
  return m;
}

/** The u8 image multiplied by a 0/1 mask (outside → black), as fLPIPS does before /255. */
export function applyMask(img: RgbImage, mask: Uint8Array, what = 'mask'): RgbImage {
  if (mask.length !== img.width * img.height) throw new Error(`${what}: ${mask.length} mask pixels for a ${img.width}×${img.height} image`);
  const out = new Uint8Array(img.data.length);
  for (let p = 0, s = 0; p < mask.length; p++, s += 3) {
    if (mask[p]) {
      out[s] = img.data[s];
      out[s + 1] = img.data[s + 1];
      out[s + 2] = img.data[s + 2];
    }
  }
  return { width: img.width, height: img.height, data: out };
}
