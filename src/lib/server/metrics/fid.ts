/**
 * @file The FID metrics (`fid-clean`, `fid-legacy-pytorch`) as a thin shell over
 * `eval/metrics/functional/frechet-distance.ts`: FID-Inception features (fid-extractor.ts, in the named
 * preprocessing mode of fid-preprocess.ts) → streaming float64 moments → Fréchet distance vs reference statistics
 * (fid-stats.ts: .npz `mu`/`sigma`). KID is kid.ts.
 */
import type { ExportedState, Metric, MetricItem, MetricSpec, MetricValue } from '../../eval/metrics/metric.ts';
import { savedArray, savedCount } from '../../eval/metrics/metric.ts';
import {
  frechetDistance,
  gaussianFromMoments,
  initMoments,
  mergeMoments,
  updateMoments,
  type FeatureMoments,
  type GaussianStats,
} from '../../eval/metrics/functional/frechet-distance.ts';
import type { RgbImage } from '../../eval/types.ts';
import { createFidExtractor, referenceOption, type FidExtractor, type FidOptions } from './fid-extractor.ts';
import { fidFamilyVersion } from './fid-preprocess.ts';
import { readGaussianStats } from './fid-stats.ts';

/** State of the FID metric: streaming float64 moments (null until the first features fix the dimension). */
export interface FidState {
  moments: FeatureMoments | null;
  /** The samples behind the moments, in update order. */
  ids: string[];
}

/** The predictions of a batch (FID and KID score the restored images only). */
export function predictions(items: readonly MetricItem[]): RgbImage[] {
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
  const { value: reference, file: referenceFile } = await referenceOption(opts.reference, 'reference statistics', readGaussianStats);
  const extractor = await createFidExtractor({ ...opts, mode }, id);
  const weights = extractor.weights;
  const spec: MetricSpec = {
    id,
    version: fidFamilyVersion('fid', mode, weights),
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
      const { dim, data } = await extractor.extract(predictions(items), items.map((i) => i.sampleId));
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
