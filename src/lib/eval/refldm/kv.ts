/**
 * @file CacheKV tensor rearrangement (docs/model.md §7), pure and runtime-neutral.
 *
 * Layouts (row-major, as the ONNX graphs produce/consume them):
 * - reference pass output, N references in one batch: `[N·H, D, T]`, batch-major, head-minor
 *   (`QKVAttentionLegacy`): element (n, h, d, t) at ((n·H + h)·D + d)·T + t.
 * - main-pass input for batch B: `[B·H, D, N·T]`, the references concatenated on the token axis in strip order
 *   (the graph puts the self tokens first): element (b, h, d, j·T + t).
 *
 * The main-pass K/V for CFG (B = 2, rows [uncond, cond]) are built ONCE per image and reused at every step.
 */

/** Shape of one attention layer's per-reference K (= V): H heads × D head channels × T tokens. */
export interface KvLayerShape {
  readonly heads: number;
  readonly headDim: number;
  readonly tokens: number;
}

/** One batch row: references `pick` (in order) out of a reference-pass output `data` of `count` references. */
export interface KvRowSource {
  /** `[count·H, D, T]`. */
  readonly data: Float32Array;
  readonly count: number;
  readonly pick: readonly number[];
}

/**
 * Concatenates per-reference K/V along the token axis, for each batch row.
 * @param shape the layer's H, D, T.
 * @param rows one entry per batch element b: `data` is a reference-pass output `[count·H, D, T]`, `pick` the
 *   reference indices (into `data`) to concatenate, in order. Pick indices may repeat (tiling of the zero-ref K/V).
 * @returns `[B·H, D, R]` with R = pick.length·T (all rows must pick the same number of references).
 * @throws Error when rows disagree on R, or a pick is out of range, or `data` has the wrong size.
 */
export function concatRefKv(shape: KvLayerShape, rows: readonly KvRowSource[]): Float32Array {
  const { heads: H, headDim: D, tokens: T } = shape;
  if (rows.length === 0) throw new Error('concatRefKv: no batch rows');
  const n = rows[0].pick.length;
  const R = n * T;
  const out = new Float32Array(rows.length * H * D * R);
  rows.forEach((row, b) => {
    if (row.pick.length !== n) throw new Error(`concatRefKv: row ${b} picks ${row.pick.length} references, row 0 picks ${n}`);
    if (row.data.length !== row.count * H * D * T) {
      throw new Error(`concatRefKv: row ${b} data has ${row.data.length} values, expected ${row.count}·${H}·${D}·${T}`);
    }
    row.pick.forEach((j, slot) => {
      if (!Number.isInteger(j) || j < 0 || j >= row.count) throw new Error(`concatRefKv: row ${b} picks reference ${j} of ${row.count}`);
      for (let h = 0; h < H; h++) {
        for (let d = 0; d < D; d++) {
          const src = ((j * H + h) * D + d) * T;
          const dst = ((b * H + h) * D + d) * R + slot * T;
          out.set(row.data.subarray(src, src + T), dst);
        }
      }
    });
  });
  return out;
}

/** `[0, 0, …]` k times: the pick list that tiles one zero-reference K/V k times. */
export function tilePick(k: number): number[] {
  return Array.from({ length: k }, () => 0);
}

/** `[0, 1, …, n−1]`. */
export function rangePick(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Bytes of one layer's main-pass K plus V for batch B and n references (float32). */
export function kvBytes(shape: KvLayerShape, batch: number, refs: number): number {
  return 2 * 4 * batch * shape.heads * shape.headDim * shape.tokens * refs;
}
