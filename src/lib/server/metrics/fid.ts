/**
 * @file FID and KID metrics (`fid-clean`, `fid-legacy-pytorch`, `kid-clean`) as a thin shell over
 * `eval/metrics/functional/{frechet-distance,kernel-distance}.ts`:
 *   u8 RGB → resize to 299² (named mode) → normalise → FID-Inception ONNX (pool3) → float64 moments / features
 *   → Fréchet distance vs reference statistics (.npz `mu`/`sigma`) or KID vs reference features.
 *
 * Modes (clean-fid names; the mode is part of the metric version):
 * - `clean`: each channel as float32 through Pillow mode-'F' bicubic (`resizePlanePil`), clip [0, 255],
 *   (x − 128)/128 (clean-fid / pyiqa default, the ReF-LDM protocol).
 * - `legacy-pytorch`: torch `F.interpolate(bilinear, align_corners=False)` without antialias on [0, 255],
 *   then (x − 127.5)/127.5 (pytorch-fid).
 * Model: `models/weights/fid-inception/fid-inception.onnx` (manifest output), or an explicit `modelPath`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { ExportedState, Metric, MetricItem, MetricSpec, MetricValue, WeightsKind } from '../../eval/metrics/metric.ts';
import {
  frechetDistance,
  gaussianFromMoments,
  initMoments,
  mergeMoments,
  updateMoments,
  type FeatureMoments,
  type GaussianStats,
} from '../../eval/metrics/functional/frechet-distance.ts';
import { kernelDistance, type FeatureMatrix } from '../../eval/metrics/functional/kernel-distance.ts';
import { resizePlanePil } from '../../eval/image/pil-resize.ts';
import { resizePlaneTorchBilinear } from '../../eval/image/torch-bilinear.ts';
import type { RgbImage, WeightFileRecord } from '../../eval/types.ts';
import { weightFile } from '../models/weights.ts';
import { createSession, f32, runSession, type Session } from '../ort/session.ts';
import { requireModelFile } from '../models/paths.ts';
import { encodeNpz, readNpz } from './npz.ts';
import type { MetricFactoryOptions } from './index.ts';

/** Preprocessing modes (clean-fid names, kebab-case). */
export type FidMode = 'clean' | 'legacy-pytorch';

/** Network input side. */
export const FID_SIZE = 299;
export const FID_MODEL_ID = 'fid-inception';
export const FID_MODEL_FILE = 'fid-inception.onnx';

/** Options of the FID/KID metrics. */
export interface FidOptions extends MetricFactoryOptions {
  readonly mode?: FidMode;
  /** Explicit ONNX path (tests use the narrow fixture); default: the models folder. */
  readonly modelPath?: string;
  /** Provenance; default `real` for the models folder, `test-random-init` for an explicit `modelPath`. */
  readonly weights?: WeightsKind;
  /** Reference statistics: a .npz (mu, sigma) / .json path, or the statistics themselves. */
  readonly reference?: string | GaussianStats;
  /** KID reference features: a .npz with `feats` (n × d), or a matrix. */
  readonly referenceFeatures?: string | FeatureMatrix;
  /** Images per ORT run (default 8). */
  readonly batchSize?: number;
  /** KID subset sampler seed (default 0; recorded in the result). */
  readonly kidSeed?: number;
}

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

/** The FID-Inception feature extractor: batched ORT runs, NaN check. */
export interface FidExtractor {
  readonly mode: FidMode;
  readonly modelPath: string;
  /** The ONNX file, checked against its pin before it was loaded. */
  readonly file: WeightFileRecord;
  /** pool3 features of the images, row-major `n × dim`. */
  extract(images: readonly RgbImage[], ids?: readonly string[]): Promise<{ dim: number; data: Float32Array }>;
  dispose(): Promise<void>;
}

/**
 * Resolves the model (explicit path, or the models folder with the fetch/convert command on a miss) and opens it.
 * @throws ModelMissingError naming `refbench models fetch fid-inception && refbench models convert fid-inception`.
 */
export async function createFidExtractor(opts: FidOptions, consumer: string): Promise<FidExtractor> {
  const mode = opts.mode ?? 'clean';
  const modelPath = opts.modelPath ?? requireModelFile(opts.modelsDir, FID_MODEL_ID, FID_MODEL_FILE, consumer);
  const file = await weightFile(modelPath, 'inception');
  const session: Session = await createSession(modelPath, { device: opts.device, threads: opts.threads, graphOptimization: 'all', relaxOutputBatch: true });
  const batchSize = Math.max(1, opts.batchSize ?? 8);
  const pre = mode === 'clean' ? preprocessClean : preprocessLegacyPytorch;
  const per = 3 * FID_SIZE * FID_SIZE;
  return {
    mode,
    modelPath,
    file,
    async extract(images, ids) {
      const chunks: Float32Array[] = [];
      let dim = 0;
      for (let s = 0; s < images.length; s += batchSize) {
        const batch = images.slice(s, s + batchSize);
        const x = new Float32Array(batch.length * per);
        batch.forEach((img, i) => pre(img, x.subarray(i * per, (i + 1) * per)));
        const res = await runSession(session, { [session.inputNames[0]]: f32(x, [batch.length, 3, FID_SIZE, FID_SIZE]) });
        const t = res[session.outputNames[0]];
        const out = t.data as Float32Array;
        dim = out.length / batch.length;
        for (let i = 0; i < out.length; i++) {
          if (!Number.isFinite(out[i])) {
            const k = s + Math.floor(i / dim);
            throw new Error(`${consumer}: the network (${modelPath}) returned ${out[i]} for image '${ids?.[k] ?? k}' (feature ${i % dim})`);
          }
        }
        chunks.push(Float32Array.from(out));
      }
      const data = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
      let o = 0;
      for (const c of chunks) (data.set(c, o), (o += c.length));
      return { dim, data };
    },
    dispose: () => session.release(),
  };
}

/**
 * Reads reference statistics: `.npz` with keys `mu` (d,) and `sigma` (d, d) (clean-fid/pyiqa files such as
 * `ffhq_clean_trainval70k_512.npz`), or refbench `.json` (`{ mu: number[], sigma: number[] (row-major), n? }`).
 * @throws Error naming the file and the keys found when `mu`/`sigma` are missing or mis-shaped.
 */
export async function readGaussianStats(path: string): Promise<GaussianStats> {
  if (path.endsWith('.json')) {
    const j = JSON.parse(await readFile(path, 'utf8')) as { mu?: number[]; sigma?: number[]; n?: number };
    if (!Array.isArray(j.mu) || !Array.isArray(j.sigma)) throw new Error(`${path}: expected fields 'mu' and 'sigma'`);
    const dim = j.mu.length;
    if (j.sigma.length !== dim * dim) throw new Error(`${path}: 'sigma' has ${j.sigma.length} values, expected ${dim}×${dim}`);
    return { dim, mu: Float64Array.from(j.mu), sigma: Float64Array.from(j.sigma), n: j.n };
  }
  const arrays = await readNpz(path);
  const mu = arrays.get('mu');
  const sigma = arrays.get('sigma');
  if (!mu || !sigma) {
    throw new Error(`${path}: expected arrays 'mu' and 'sigma' (clean-fid statistics), found: ${[...arrays.keys()].join(', ') || '(none)'}`);
  }
  const dim = mu.data.length;
  if (mu.shape.length !== 1 || sigma.shape.length !== 2 || sigma.shape[0] !== dim || sigma.shape[1] !== dim) {
    throw new Error(`${path}: 'mu' has shape (${mu.shape.join(', ')}) and 'sigma' (${sigma.shape.join(', ')}); expected (d,) and (d, d)`);
  }
  const n = arrays.get('n')?.data[0];
  return { dim, mu: mu.data, sigma: sigma.data, ...(n ? { n } : {}) };
}

/** Writes statistics as `.npz` (float64 `mu`, `sigma`, `n`; readable by `np.load`) or `.json`. */
export async function writeGaussianStats(path: string, s: GaussianStats, meta: Record<string, unknown> = {}): Promise<void> {
  if (path.endsWith('.json')) {
    await writeFile(path, JSON.stringify({ format: 'refbench-fid-stats', ...meta, dim: s.dim, n: s.n, mu: Array.from(s.mu), sigma: Array.from(s.sigma) }));
    return;
  }
  const arrays: Record<string, { shape: number[]; data: Float64Array }> = {
    mu: { shape: [s.dim], data: s.mu },
    sigma: { shape: [s.dim, s.dim], data: s.sigma },
  };
  if (s.n) arrays.n = { shape: [], data: Float64Array.of(s.n) };
  await writeFile(path, encodeNpz(arrays));
}

/** State of the FID metric: streaming float64 moments (null until the first features fix the dimension). */
export interface FidState {
  moments: FeatureMoments | null;
  /** The samples behind the moments, in update order. */
  ids: string[];
}

/** State of the KID metric: the features themselves (KID needs them, not moments). */
export interface KidState {
  dim: number;
  chunks: Float32Array[];
  n: number;
  /** The sample of each feature row, in row order. */
  ids: string[];
}

/** Throws naming `what` unless `saved` has array `key` of exactly `shape`. */
function savedArray(saved: ExportedState, key: string, shape: readonly number[], what: string): Float64Array {
  const a = saved.arrays[key];
  if (!a) throw new Error(`${what}: no array '${key}' (found: ${Object.keys(saved.arrays).join(', ') || 'none'})`);
  if (a.shape.length !== shape.length || a.shape.some((v, i) => v !== shape[i]) || a.data.length !== shape.reduce((x, y) => x * y, 1)) {
    throw new Error(`${what}: array '${key}' has shape (${a.shape.join(', ')}), expected (${shape.join(', ')})`);
  }
  return a.data;
}

/** The count stored as array `n` (shape ()), checked against the ids. */
function savedCount(saved: ExportedState, what: string): number {
  const n = savedArray(saved, 'n', [], what)[0];
  if (!Number.isInteger(n) || n < 0 || n !== saved.ids.length) throw new Error(`${what}: n = ${n} but ${saved.ids.length} sample id(s)`);
  return n;
}

function versionOf(kind: 'fid' | 'kid', mode: FidMode, weights: WeightsKind): string {
  const resize = mode === 'clean' ? 'pil-bicubic-f32' : 'torch-bilinear';
  const norm = mode === 'clean' ? 'x-128/128' : 'x-127.5/127.5';
  return `1:${kind}:${mode}:${resize}:${norm}:fid-inception-2015-12-05-pool3:${weights}`;
}

/** A KID state's feature rows as one row-major `n × dim` array. */
function concatRows(state: KidState): Float32Array {
  const data = new Float32Array(state.n * state.dim);
  let o = 0;
  for (const c of state.chunks) (data.set(c, o), (o += c.length));
  return data;
}

function images(items: readonly MetricItem[]): RgbImage[] {
  return items.map((it) => it.pred);
}

/** Fréchet distance between two FID states (e.g. two image folders). @throws for fewer than 2 images. */
export function fidBetween(a: FidState, b: FidState): number {
  if (!a.moments || !b.moments) throw new Error('fid: need at least 2 images in each set, got 0');
  return frechetDistance(gaussianFromMoments(a.moments, 'fid: first set'), gaussianFromMoments(b.moments, 'fid: second set'));
}

/** Builds `fid-clean` / `fid-legacy-pytorch`. */
export async function createFid(opts: FidOptions = {}): Promise<Metric<FidState> & { extractor: FidExtractor; statsOf(s: FidState): GaussianStats }> {
  const mode = opts.mode ?? 'clean';
  const id = mode === 'clean' ? 'fid-clean' : 'fid-legacy-pytorch';
  let reference: GaussianStats | undefined;
  let referenceFile: WeightFileRecord | undefined;
  if (typeof opts.reference === 'string') {
    referenceFile = await weightFile(opts.reference, 'reference statistics');
    reference = await readGaussianStats(opts.reference);
  } else reference = opts.reference;
  const extractor = await createFidExtractor({ ...opts, mode }, id);
  const weights: WeightsKind = opts.weights ?? (opts.modelPath ? 'test-random-init' : 'real');
  const spec: MetricSpec = {
    id,
    version: versionOf('fid', mode, weights),
    kind: 'distribution',
    higherIsBetter: false,
    range: [0, 500],
    decimals: 2,
    description:
      mode === 'clean'
        ? 'FID, clean-fid "clean" mode as pyiqa runs it (PIL bicubic float per channel to 299, (x−128)/128, FID-Inception pool3)'
        : 'FID, pytorch-fid convention (torch bilinear to 299, 2x−1, FID-Inception pool3)',
    input: {},
    weights,
  };
  return {
    spec,
    extractor,
    init: () => ({ moments: null, ids: [] }),
    async update(state, items) {
      if (!items.length) return state;
      const { dim, data } = await extractor.extract(images(items), items.map((i) => i.sampleId));
      state.moments ??= initMoments(dim);
      if (state.moments.dim !== dim) throw new Error(`${id}: feature dimension changed from ${state.moments.dim} to ${dim}`);
      updateMoments(state.moments, data, items.length, id);
      state.ids.push(...items.map((i) => i.sampleId));
      return state;
    },
    merge(a, b) {
      const ids = [...a.ids, ...b.ids];
      if (!a.moments) return { moments: b.moments, ids };
      if (!b.moments) return { moments: a.moments, ids };
      return { moments: mergeMoments(a.moments, b.moments), ids };
    },
    // The moments themselves (n, Σx, Σxxᵀ): merged by addition, so shards cost d² floats each whatever their size.
    exportState(state): ExportedState {
      const m = state.moments;
      const n = { shape: [] as number[], data: Float64Array.of(m?.n ?? 0) };
      const arrays: ExportedState['arrays'] = m ? { n, sum: { shape: [m.dim], data: m.sum }, outer: { shape: [m.dim, m.dim], data: m.outer } } : { n };
      return { ids: [...state.ids], arrays };
    },
    importState(saved, what) {
      const n = savedCount(saved, what);
      if (n === 0) return { moments: null, ids: [] };
      const dim = saved.arrays.sum?.shape[0] ?? 0;
      const moments: FeatureMoments = { dim, n, sum: savedArray(saved, 'sum', [dim], what), outer: savedArray(saved, 'outer', [dim, dim], what) };
      return { moments, ids: [...saved.ids] };
    },
    statsOf(state) {
      if (!state.moments) throw new Error(`${id}: need at least 2 images, got 0`);
      return gaussianFromMoments(state.moments, id);
    },
    compute(state): MetricValue {
      const n = state.moments?.n ?? 0;
      if (n < 2) throw new Error(`${id}: need at least 2 images for a covariance, got ${n}`);
      if (!reference) throw new Error(`${id}: no reference statistics: pass the 'reference' option (a .npz with mu/sigma, e.g. ffhq_clean_trainval70k_512.npz)`);
      const s = gaussianFromMoments(state.moments!, id);
      if (s.dim !== reference.dim) throw new Error(`${id}: features are ${s.dim}-d but the reference statistics are ${reference.dim}-d`);
      return { value: frechetDistance(s, reference), n };
    },
    dispose: () => extractor.dispose(),
    weightFiles: [extractor.file, ...(referenceFile ? [referenceFile] : [])],
  };
}

/** Builds `kid-clean` (clean-fid `kernel_distance`; seeded subsets, seed reported in `extra`). */
export async function createKid(opts: FidOptions = {}): Promise<Metric<KidState> & { extractor: FidExtractor }> {
  const mode = opts.mode ?? 'clean';
  const id = 'kid-clean';
  let ref: FeatureMatrix | undefined;
  let referenceFile: WeightFileRecord | undefined;
  if (typeof opts.referenceFeatures === 'string') {
    referenceFile = await weightFile(opts.referenceFeatures, 'reference features');
    const arrays = await readNpz(opts.referenceFeatures);
    const f = arrays.get('feats');
    if (!f || f.shape.length !== 2) throw new Error(`${opts.referenceFeatures}: expected an array 'feats' of shape (n, d), found: ${[...arrays.keys()].join(', ')}`);
    ref = { n: f.shape[0], dim: f.shape[1], data: f.data };
  } else ref = opts.referenceFeatures;
  const extractor = await createFidExtractor({ ...opts, mode }, id);
  const weights: WeightsKind = opts.weights ?? (opts.modelPath ? 'test-random-init' : 'real');
  const seed = opts.kidSeed ?? 0;
  return {
    spec: {
      id,
      version: `${versionOf('kid', mode, weights)}:subsets100x1000`,
      kind: 'distribution',
      higherIsBetter: false,
      decimals: 4,
      description: 'KID, clean-fid kernel_distance (cubic polynomial kernel, 100 subsets of min(n,1000), unbiased MMD²), seeded subsets',
      input: {},
      weights,
    },
    extractor,
    init: () => ({ dim: 0, chunks: [], n: 0, ids: [] }),
    async update(state, items) {
      if (!items.length) return state;
      const { dim, data } = await extractor.extract(images(items), items.map((i) => i.sampleId));
      if (state.dim && state.dim !== dim) throw new Error(`${id}: feature dimension changed from ${state.dim} to ${dim}`);
      state.dim = dim;
      state.chunks.push(data);
      state.n += items.length;
      state.ids.push(...items.map((i) => i.sampleId));
      return state;
    },
    // NOTE: the merged rows are put in sample-id order, the order `refbench run` feeds a whole run (its ok samples
    // sorted by id): the seeded subsets then pick the same rows, so merged shards give the unsharded run's KID exactly.
    merge(a, b) {
      const dim = a.dim || b.dim;
      if (a.dim && b.dim && a.dim !== b.dim) throw new Error(`${id}: cannot merge ${a.dim}-d and ${b.dim}-d features`);
      const rows = [a, b].flatMap((s) => {
        const all = concatRows(s);
        return s.ids.map((sid, r) => ({ sid, row: all.subarray(r * s.dim, (r + 1) * s.dim) }));
      });
      rows.sort((x, y) => x.sid.localeCompare(y.sid));
      const data = new Float32Array(rows.length * dim);
      rows.forEach((r, i) => data.set(r.row, i * dim));
      return { dim, chunks: [data], n: rows.length, ids: rows.map((r) => r.sid) };
    },
    exportState: (state) => ({
      ids: [...state.ids],
      arrays: { n: { shape: [], data: Float64Array.of(state.n) }, feats: { shape: [state.n, state.dim], data: Float64Array.from(concatRows(state)) } },
    }),
    importState(saved, what) {
      const n = savedCount(saved, what);
      const dim = saved.arrays.feats?.shape[1] ?? 0;
      // float32 features were stored as float64: converting back is exact.
      const feats = Float32Array.from(savedArray(saved, 'feats', [n, dim], what));
      return { dim, chunks: n ? [feats] : [], n, ids: [...saved.ids] };
    },
    compute(state) {
      if (state.n < 2) throw new Error(`${id}: need at least 2 images, got ${state.n}`);
      if (!ref) throw new Error(`${id}: no reference features: pass the 'referenceFeatures' option (a .npz with feats)`);
      const data = concatRows(state);
      const r = kernelDistance({ n: state.n, dim: state.dim, data }, ref, { seed });
      return { value: r.value, n: state.n, extra: { std: r.std, subsetSize: r.subsetSize, numSubsets: r.numSubsets, seed } };
    },
    dispose: () => extractor.dispose(),
    weightFiles: [extractor.file, ...(referenceFile ? [referenceFile] : [])],
  };
}
