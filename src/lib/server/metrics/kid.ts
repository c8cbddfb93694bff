/**
 * @file The KID metric (`kid-clean`) as a thin shell over `eval/metrics/functional/kernel-distance.ts`:
 * FID-Inception features (fid-extractor.ts) kept whole (KID needs them, not moments) → clean-fid
 * `kernel_distance` against reference features (fid-stats.ts: .npz `feats`).
 */
import type { Metric } from '../../eval/metrics/metric.ts';
import { savedArray, savedCount } from '../../eval/metrics/metric.ts';
import { kernelDistance } from '../../eval/metrics/functional/kernel-distance.ts';
import { createFidExtractor, referenceOption, type FidExtractor, type FidOptions } from './fid-extractor.ts';
import { fidFamilyVersion } from './fid-preprocess.ts';
import { readFeatureMatrix } from './fid-stats.ts';
import { predictions } from './fid.ts';

/** State of the KID metric: the features themselves (KID needs them, not moments). */
export interface KidState {
  dim: number;
  chunks: Float32Array[];
  n: number;
  /** The sample of each feature row, in row order. */
  ids: string[];
}

/** A KID state's feature rows as one row-major `n × dim` array. */
function concatRows(state: KidState): Float32Array {
  const data = new Float32Array(state.n * state.dim);
  let o = 0;
  for (const c of state.chunks) (data.set(c, o), (o += c.length));
  return data;
}

/** Builds `kid-clean` (clean-fid `kernel_distance`; seeded subsets, seed reported in `extra`). */
export async function createKid(opts: FidOptions = {}): Promise<Metric<KidState> & { extractor: FidExtractor }> {
  const mode = opts.mode ?? 'clean';
  const id = 'kid-clean';
  const { value: ref, file: referenceFile } = await referenceOption(opts.referenceFeatures, 'reference features', readFeatureMatrix);
  const extractor = await createFidExtractor({ ...opts, mode }, id);
  const weights = extractor.weights;
  const seed = opts.kidSeed ?? 0;
  return {
    spec: {
      id,
      version: `${fidFamilyVersion('kid', mode, weights)}:subsets100x1000`,
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
      const { dim, data } = await extractor.extract(predictions(items), items.map((i) => i.sampleId));
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
