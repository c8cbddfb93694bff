/**
 * @file Cross-engine comparisons of ReF-LDM outputs that hold on every CPU (docs/footguns.md, "TypeScript /
 * onnxruntime (MLAS)"). The VAE decoder snaps every latent pixel to its nearest codebook entry (ArgMin): a
 * discontinuity. Two engines (onnxruntime's MLAS, PyTorch) pick their kernels by CPU, so their final latents differ
 * by float rounding (~1e-5) and a latent pixel whose two nearest entries are almost equally far can snap to
 * different entries; the decoder then spreads that into an 8×8-pixel region (sample 00002 on an Ice Lake-SP:
 * 4,485 values off by up to 57 levels). So comparisons are staged:
 *   1. the final latents (before the ArgMin) within a float tolerance;
 *   2. the codes (exact nearest entries, float64, here) of both latents: every position where they differ must be
 *      a near-tie whose distance gap the latent difference explains (`compareCodes`);
 *   3. both decoders fed the SAME codes (the codebook vectors themselves, which every ArgMin snaps back to the
 *      same entries: `assertCodebookSeparated`), images within 1 level.
 *
 * The codebook is read from the bundle's vae_decoder.onnx: the float initializer [n, C] that the graph's Gather
 * (the snap's lookup) indexes, parsed with a minimal protobuf reader (ModelProto.graph = 7, GraphProto.node = 1 /
 * initializer = 5, NodeProto input = 1 / op_type = 4, TensorProto dims = 1 / data_type = 2 / float_data = 4 /
 * name = 8 / raw_data = 9; onnx/onnx.proto).
 */
import { readFileSync } from 'node:fs';

/** Unit roundoff of float32. */
export const U32 = 2 ** -24;

interface Field {
  no: number;
  wire: number;
  value: bigint | Uint8Array;
}

function* fields(buf: Uint8Array): Generator<Field> {
  let p = 0;
  const varint = (): bigint => {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[p++];
      r |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return r;
      shift += 7n;
    }
  };
  while (p < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) yield { no, wire, value: varint() };
    else if (wire === 2) {
      const n = Number(varint());
      yield { no, wire, value: buf.subarray(p, p + n) };
      p += n;
    } else if (wire === 5) {
      yield { no, wire, value: buf.subarray(p, p + 4) };
      p += 4;
    } else if (wire === 1) {
      yield { no, wire, value: buf.subarray(p, p + 8) };
      p += 8;
    } else throw new Error(`protobuf: unsupported wire type ${wire}`);
  }
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

function packedVarints(b: Uint8Array): number[] {
  const out: number[] = [];
  let r = 0;
  let scale = 1;
  for (const x of b) {
    r += (x & 0x7f) * scale;
    scale *= 128;
    if (!(x & 0x80)) {
      out.push(r);
      r = 0;
      scale = 1;
    }
  }
  return out;
}

/** The codebook [n, C] (row-major float32) of a VAE decoder graph: the float initializer a Gather indexes. */
export function readCodebook(onnxPath: string): { n: number; dim: number; data: Float32Array } {
  const model = new Uint8Array(readFileSync(onnxPath));
  let graph: Uint8Array | undefined;
  for (const f of fields(model)) if (f.no === 7 && f.value instanceof Uint8Array) graph = f.value;
  if (!graph) throw new Error(`${onnxPath}: no graph in the model`);
  const gatherData = new Set<string>();
  const inits = new Map<string, { dims: number[]; type: number; raw?: Uint8Array; floats?: Uint8Array }>();
  for (const f of fields(graph)) {
    if (!(f.value instanceof Uint8Array)) continue;
    if (f.no === 1) {
      let op = '';
      const inputs: string[] = [];
      for (const g of fields(f.value)) {
        if (g.no === 4 && g.value instanceof Uint8Array) op = text(g.value);
        if (g.no === 1 && g.value instanceof Uint8Array) inputs.push(text(g.value));
      }
      if (op === 'Gather' && inputs[0]) gatherData.add(inputs[0]);
    } else if (f.no === 5) {
      const t: { name: string; dims: number[]; type: number; raw?: Uint8Array; floats?: Uint8Array } = { name: '', dims: [], type: 0 };
      for (const g of fields(f.value)) {
        if (g.no === 1) g.wire === 0 ? t.dims.push(Number(g.value)) : t.dims.push(...packedVarints(g.value as Uint8Array));
        else if (g.no === 2) t.type = Number(g.value);
        else if (g.no === 8) t.name = text(g.value as Uint8Array);
        else if (g.no === 9) t.raw = g.value as Uint8Array;
        else if (g.no === 4 && g.wire === 2) t.floats = g.value as Uint8Array;
      }
      inits.set(t.name, t);
    }
  }
  const hits = [...gatherData].map((n) => [n, inits.get(n)] as const).filter(([, t]) => t && t.type === 1 && t.dims.length === 2);
  if (hits.length !== 1) throw new Error(`${onnxPath}: expected one float [n, C] initializer indexed by a Gather (the codebook), found ${hits.length}`);
  const [name, t] = hits[0];
  const bytes = t!.raw ?? t!.floats;
  const [n, dim] = t!.dims;
  if (!bytes || bytes.length !== n * dim * 4) throw new Error(`${onnxPath}: codebook initializer ${name}: expected ${n * dim} float32 values`);
  const copy = new Uint8Array(bytes); // aligned copy
  return { n, dim, data: new Float32Array(copy.buffer, 0, n * dim) };
}

export type Codebook = ReturnType<typeof readCodebook>;

/**
 * Exact nearest entries (float64, lowest index on ties) of a latent [1, C, S, S] (planar), with each position's
 * gap between the nearest and second-nearest squared distance.
 */
export function snapCodes(latent: Float32Array, cb: Codebook): { codes: Int32Array; gap: Float64Array } {
  const C = cb.dim;
  const P = latent.length / C;
  if (!Number.isInteger(P)) throw new Error(`latent of ${latent.length} values is not ${C} channels`);
  const codes = new Int32Array(P);
  const gap = new Float64Array(P);
  const z = new Float64Array(C);
  for (let p = 0; p < P; p++) {
    for (let c = 0; c < C; c++) z[c] = latent[c * P + p];
    let best = Infinity;
    let second = Infinity;
    let bi = -1;
    for (let k = 0; k < cb.n; k++) {
      let d = 0;
      for (let c = 0; c < C; c++) {
        const t = z[c] - cb.data[k * C + c];
        d += t * t;
      }
      if (d < best) {
        second = best;
        best = d;
        bi = k;
      } else if (d < second) second = d;
    }
    codes[p] = bi;
    gap[p] = second - best;
  }
  return { codes, gap };
}

/** The latent [1, C, S, S] made of the codebook vectors of `codes` (what the decoder sees after its snap). */
export function codesToLatent(codes: Int32Array, cb: Codebook): Float32Array {
  const P = codes.length;
  const out = new Float32Array(cb.dim * P);
  for (let p = 0; p < P; p++) for (let c = 0; c < cb.dim; c++) out[c * P + p] = cb.data[codes[p] * cb.dim + c];
  return out;
}

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
const entry = (cb: Codebook, k: number) => cb.data.subarray(k * cb.dim, (k + 1) * cb.dim);

/**
 * Worst-case float32 error of a squared-distance GAP d_j − d_i computed as |z|² + |e|² − 2 z·e by any kernel
 * (any summation order, FMA or not): each distance sums 2C + 2 products/terms, so its error is at most
 * γ_(C+2)·(|z|² + |e|² + 2|z||e|) = γ_(C+2)·(|z| + |e|)² (Higham, γ_n = n·u/(1 − n·u)); the gap at most twice the
 * larger of the two.
 */
export function gapRoundingBound(zNorm: number, eNorm: number, dim: number): number {
  const n = dim + 2;
  const gamma = (n * U32) / (1 - n * U32);
  return 2 * gamma * (zNorm + eNorm) ** 2;
}

/**
 * Asserts (returns a message when not) that every codebook vector snaps to itself under any float32 kernel: the
 * smallest squared distance between two entries exceeds the rounding bound of a gap at z = e (|z| = |e| ≤ max).
 */
export function codebookSeparation(cb: Codebook): { minSqDist: number; bound: number; ok: boolean } {
  let min = Infinity;
  let maxNorm = 0;
  for (let a = 0; a < cb.n; a++) {
    maxNorm = Math.max(maxNorm, norm(entry(cb, a)));
    for (let b = a + 1; b < cb.n; b++) {
      let d = 0;
      for (let c = 0; c < cb.dim; c++) {
        const t = cb.data[a * cb.dim + c] - cb.data[b * cb.dim + c];
        d += t * t;
      }
      min = Math.min(min, d);
    }
  }
  const bound = gapRoundingBound(maxNorm, maxNorm, cb.dim);
  return { minSqDist: min, bound, ok: min > bound };
}

export interface CodeDiff {
  /** Positions whose codes differ. */
  readonly differ: number;
  /** Positions whose gap (distance of B's entry − distance of A's entry, measured at A's latent) exceeds its bound. */
  readonly unexplained: { p: number; a: number; b: number; gap: number; bound: number }[];
  /** Largest gap of a differing position, and the largest latent difference (per-position L2) anywhere. */
  readonly maxGap: number;
  readonly maxDelta: number;
}

/**
 * Compares the exact codes of two latents A and B that agree within `latentTol` (max abs per value). Where entry
 * i (A's) and j (B's) differ, g(z) = d_j(z) − d_i(z) is affine in z with slope −2(e_j − e_i), g(zA) ≥ 0 ≥ g(zB), so
 * g(zA) ≤ 2·|zA − zB|·|e_i − e_j| ≤ 2·√C·latentTol·|e_i − e_j|: a near-tie the latent tolerance allows. A
 * position outside that bound means the codes do not come from latents within the tolerance (a bug in the snap,
 * the codebook, or the latents), not from kernel rounding.
 */
export function compareCodes(zA: Float32Array, zB: Float32Array, cb: Codebook, latentTol: number): CodeDiff & { codesA: Int32Array; codesB: Int32Array } {
  const A = snapCodes(zA, cb);
  const B = snapCodes(zB, cb);
  const C = cb.dim;
  const P = A.codes.length;
  let differ = 0;
  let maxGap = 0;
  let maxDelta = 0;
  const unexplained: CodeDiff['unexplained'] = [];
  for (let p = 0; p < P; p++) {
    let dd = 0;
    for (let c = 0; c < C; c++) dd += (zA[c * P + p] - zB[c * P + p]) ** 2;
    maxDelta = Math.max(maxDelta, Math.sqrt(dd));
    const i = A.codes[p];
    const j = B.codes[p];
    if (i === j) continue;
    differ++;
    let di = 0;
    let dj = 0;
    for (let c = 0; c < C; c++) {
      const z = zA[c * P + p];
      di += (z - cb.data[i * C + c]) ** 2;
      dj += (z - cb.data[j * C + c]) ** 2;
    }
    let eij = 0;
    for (let c = 0; c < C; c++) eij += (cb.data[i * C + c] - cb.data[j * C + c]) ** 2;
    const gap = dj - di;
    const bound = 2 * Math.sqrt(C) * latentTol * Math.sqrt(eij) + 1e-9; // + float64 evaluation slack
    maxGap = Math.max(maxGap, gap);
    if (gap < -1e-9 || gap > bound) unexplained.push({ p, a: i, b: j, gap, bound });
  }
  return { differ, unexplained, maxGap, maxDelta, codesA: A.codes, codesB: B.codes };
}

/**
 * Positions of a latent whose nearest entry a float32 kernel might not reproduce: gap below the rounding bound of
 * that position (`gapRoundingBound`). Where there are none, the exact codes are the codes any float32 ArgMin picked
 * (e.g. the PyTorch golden generator's) on every CPU.
 */
export function ambiguousPositions(latent: Float32Array, cb: Codebook): { p: number; gap: number; bound: number }[] {
  const { codes, gap } = snapCodes(latent, cb);
  const C = cb.dim;
  const P = codes.length;
  let eMax = 0;
  for (let k = 0; k < cb.n; k++) eMax = Math.max(eMax, norm(entry(cb, k)));
  const out: { p: number; gap: number; bound: number }[] = [];
  for (let p = 0; p < P; p++) {
    let zz = 0;
    for (let c = 0; c < C; c++) zz += latent[c * P + p] ** 2;
    const bound = gapRoundingBound(Math.sqrt(zz), eMax, C);
    if (gap[p] <= bound) out.push({ p, gap: gap[p], bound });
  }
  return out;
}

/** Values of two u8 images off by exactly 1 and by more than 1, and the largest difference. */
export function levelDiff(a: Uint8Array, b: Uint8Array): { off1: number; worse: number; max: number } {
  if (a.length !== b.length) throw new Error(`images of ${a.length} and ${b.length} values`);
  let off1 = 0;
  let worse = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d === 1) off1++;
    else if (d > 1) worse++;
    if (d > max) max = d;
  }
  return { off1, worse, max };
}
