/**
 * @file The metric seam (torchmetrics shape): a pure description (`MetricSpec`) plus an init / update / merge /
 * compute state machine. The maths lives in `metrics/functional/*`; a metric implementation only wires
 * preprocessing, an optional network session and that maths.
 */
import type { RgbImage, WeightFileRecord } from '../types.ts';

/**
 * - `paired`: one value per (prediction, ground truth) pair (PSNR, SSIM, LPIPS, IDS).
 * - `distribution`: one value per set (FID, KID); no per-sample values.
 * - `no-reference`: one value per prediction alone (NIQE).
 * - `reference-set`: one value per (prediction, references) (IDS against the reference photos).
 */
export type MetricKind = 'paired' | 'distribution' | 'no-reference' | 'reference-set';

/** Where a metric's network weights came from; anything but `real` must be shown as such in every report. */
export type WeightsKind = 'none' | 'real' | 'test-random-init';

export interface MetricSpec {
  /** Stable kebab-case id, e.g. `psnr`, `lpips-vgg`, `fid-clean`. */
  readonly id: string;
  /** Bumped whenever weights or preprocessing change the number. */
  readonly version: string;
  readonly kind: MetricKind;
  readonly higherIsBetter: boolean;
  /** Plausible bounds, for plots and sanity checks. */
  readonly range?: readonly [number, number];
  /** Printed precision for tables (the paper's). */
  readonly decimals: number;
  /** Human-readable one-line description naming the reference implementation. */
  readonly description: string;
  /** Expected input: every metric takes 8-bit RGB; `size` if it insists on one (e.g. 512×512). */
  readonly input: { readonly size?: readonly [number, number] };
  /** Provenance of the network weights. */
  readonly weights: WeightsKind;
}

/** One image (and what it is compared against) fed to `update`. */
export interface MetricItem {
  readonly sampleId: string;
  readonly pred: RgbImage;
  readonly gt?: RgbImage;
  readonly refs?: readonly RgbImage[];
  /** Optional per-pixel mask (H×W, 0/1), e.g. the face region for fLPIPS. */
  readonly mask?: Uint8Array;
}

export interface MetricValue {
  /** The aggregate (mean over samples for per-sample metrics). */
  readonly value: number;
  /** Number of samples that contributed. */
  readonly n: number;
  /** Per-sample values keyed by sampleId (absent for distribution metrics). */
  readonly perSample?: Readonly<Record<string, number>>;
  /** Extra named numbers (e.g. KID std). */
  readonly extra?: Readonly<Record<string, number>>;
}

/**
 * A distribution metric's state written out: float64 arrays (an .npz) and the sample ids behind it, in the order
 * they were fed to `update`. Shard runs save it; `refbench merge` reads every shard's and merges them.
 */
export interface ExportedState {
  readonly arrays: Readonly<Record<string, { readonly shape: readonly number[]; readonly data: Float64Array }>>;
  readonly ids: readonly string[];
}

/** Throws naming `what` unless `saved` has array `key` of exactly `shape`. */
export function savedArray(saved: ExportedState, key: string, shape: readonly number[], what: string): Float64Array {
  const a = saved.arrays[key];
  if (!a) throw new Error(`${what}: no array '${key}' (found: ${Object.keys(saved.arrays).join(', ') || 'none'})`);
  if (a.shape.length !== shape.length || a.shape.some((v, i) => v !== shape[i]) || a.data.length !== shape.reduce((x, y) => x * y, 1)) {
    throw new Error(`${what}: array '${key}' has shape (${a.shape.join(', ')}), expected (${shape.join(', ')})`);
  }
  return a.data;
}

/** The count stored as array `n` (shape ()), checked against the ids. */
export function savedCount(saved: ExportedState, what: string): number {
  const n = savedArray(saved, 'n', [], what)[0];
  if (!Number.isInteger(n) || n < 0 || n !== saved.ids.length) throw new Error(`${what}: n = ${n} but ${saved.ids.length} sample id(s)`);
  return n;
}

export interface Metric<S = unknown> {
  readonly spec: MetricSpec;
  init(): S;
  /** Validates inputs (size, presence of gt) and throws with a message naming the sample. May mutate `state`. */
  update(state: S, items: readonly MetricItem[]): Promise<S>;
  merge(a: S, b: S): S;
  compute(state: S): MetricValue;
  /** Releases native resources (ORT sessions). */
  dispose?(): Promise<void>;
  /** The state as arrays + ids (distribution metrics: what a shard run saves for `refbench merge`). */
  exportState?(state: S): ExportedState;
  /** Inverse of `exportState`. @throws naming `what` (the file) when the arrays do not fit this metric. */
  importState?(saved: ExportedState, what: string): S;
  /** Every weight/parameter/statistics file the metric read, checked before reading (`weightFile`); run.json records them. */
  readonly weightFiles?: readonly WeightFileRecord[];
}

/** State of every per-sample metric: the values so far, in insertion order. */
export interface PerSampleState {
  readonly values: Map<string, number>;
}

/**
 * Builds a `Metric` from a per-item scoring function: the common case (PSNR, SSIM, LPIPS, IDS, NIQE). The mean is
 * accumulated in float64.
 */
export function perSampleMetric(
  spec: MetricSpec,
  score: (items: readonly MetricItem[]) => Promise<number[]> | number[],
  opts: { needsGt?: boolean; dispose?: () => Promise<void>; weightFiles?: readonly WeightFileRecord[] } = {},
): Metric<PerSampleState> {
  const needsGt = opts.needsGt ?? spec.kind === 'paired';
  return {
    spec,
    init: () => ({ values: new Map() }),
    async update(state, items) {
      for (const it of items) {
        if (needsGt && !it.gt) throw new Error(`${spec.id}: sample '${it.sampleId}' has no ground truth`);
        if (spec.input.size) {
          const [w, h] = spec.input.size;
          for (const [name, img] of [['prediction', it.pred], ['ground truth', it.gt]] as const) {
            if (img && (img.width !== w || img.height !== h)) {
              throw new Error(`${spec.id}: sample '${it.sampleId}' ${name} is ${img.width}×${img.height}, expected ${w}×${h}`);
            }
          }
        }
      }
      const vals = await score(items);
      vals.forEach((v, i) => {
        if (!Number.isFinite(v)) throw new Error(`${spec.id}: non-finite value ${v} for sample '${items[i].sampleId}'`);
        state.values.set(items[i].sampleId, v);
      });
      return state;
    },
    merge: (a, b) => ({ values: new Map([...a.values, ...b.values]) }),
    compute(state) {
      let sum = 0;
      for (const v of state.values.values()) sum += v;
      const n = state.values.size;
      return { value: n ? sum / n : Number.NaN, n, perSample: Object.fromEntries(state.values) };
    },
    dispose: opts.dispose,
    ...(opts.weightFiles ? { weightFiles: opts.weightFiles } : {}),
  };
}
