/**
 * @file IDS metrics (docs/protocol.md §5.1): `ids-arcface-r50` = cosine(ArcFace(pred), ArcFace(GT)) and
 * `ids-refs-arcface-r50` = mean over references of cosine(ArcFace(pred), ArcFace(ref)).
 *
 * Pipeline (IdentityLoss convention): RGB u8 (512×512, or PIL-bicubic to 512 with `resize`) → 2·(u/255) − 1 →
 * crop rows/cols [32, 480) → exact 4×4 box mean to 112×112 → ONNX ArcFace (insightface R50 WebFace,
 * NCHW [B,3,112,112] float, first graph input whatever its name) → embedding → cosine in float64. No landmark
 * alignment: an aligned IDS is a different metric.
 */
import type { Metric, MetricItem, MetricSpec, PerSampleState, WeightsKind } from '../../eval/metrics/metric.ts';
import { perSampleMetric } from '../../eval/metrics/metric.ts';
import { identityInput } from '../../eval/metrics/functional/area-resize.ts';
import { cosineSimilarity } from '../../eval/metrics/functional/cosine.ts';
import type { RgbImage, WeightFileRecord } from '../../eval/types.ts';
import { weightFile } from '../models/weights.ts';
import { createSession, f32, runSession, type Session } from '../ort/session.ts';
import { requireModelFile } from '../models/paths.ts';
import type { MetricFactoryOptions } from './index.ts';
import { IdsOptionsSchema } from './options.ts';
import { parseOptions } from '../../eval/spec/run-spec.ts';
import { prepare512, type LpipsResizeMode } from './lpips.ts';
import { cachedFeatures, type FeatureKey } from './feature-cache.ts';

/** The embedding pipeline's identity in the feature cache (bump it when identityInput or the crop changes). */
const EMBED_VERSION = 'arcface-embedding-crop32-box112-v1';

/** The manifest id and file of the real network. */
export const ARCFACE_MODEL_ID = 'arcface-r50-webface';
export const ARCFACE_ONNX_FILE = 'webface_r50.onnx';
const ARCFACE_SIZE = 112;

/** IDS options. */
export interface IdsOptions extends MetricFactoryOptions {
  /** Explicit ArcFace ONNX path (overrides the models folder). */
  readonly onnx?: string;
  readonly weights?: WeightsKind;
  readonly resize?: LpipsResizeMode;
  /** Images per ONNX run. Default 8. */
  readonly batchSize?: number;
}

/** An ArcFace session plus the names it was found under. */
export interface ArcfaceModel {
  readonly session: Session;
  readonly onnxPath: string;
  /** The ONNX file, checked against its pin before it was loaded. */
  readonly files: readonly WeightFileRecord[];
}

/**
 * Loads the ArcFace session (the file is hashed and pin-checked first).
 * @throws ModelMissingError with the fetch + convert command; WeightHashError for a pinned file that changed.
 */
export async function loadArcface(opts: IdsOptions, consumer: string): Promise<ArcfaceModel> {
  const onnxPath = opts.onnx ?? requireModelFile(opts.modelsDir, ARCFACE_MODEL_ID, ARCFACE_ONNX_FILE, consumer);
  const files = [await weightFile(onnxPath, 'arcface')];
  const session = await createSession(onnxPath, { device: opts.device, threads: opts.threads, graphOptimization: 'all', relaxOutputBatch: true });
  return { session, onnxPath, files };
}

/**
 * Embeds 512×512 images (`batchSize` per run); returns one Float32Array per image.
 * @throws Error naming `names[i]` when the embedding contains NaN/Infinity.
 */
export async function embedImages(model: ArcfaceModel, imgs: readonly RgbImage[], names: readonly string[], batchSize = 8): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const per = 3 * ARCFACE_SIZE * ARCFACE_SIZE;
  for (let s = 0; s < imgs.length; s += batchSize) {
    const k = Math.min(batchSize, imgs.length - s);
    const input = new Float32Array(k * per);
    for (let i = 0; i < k; i++) identityInput(imgs[s + i], ARCFACE_SIZE, input, i * per);
    const res = await runSession(model.session, { [model.session.inputNames[0]]: f32(input, [k, 3, ARCFACE_SIZE, ARCFACE_SIZE]) });
    const t = res[model.session.outputNames[0]];
    const data = t.data as Float32Array;
    const dim = data.length / k;
    for (let i = 0; i < k; i++) {
      const e = data.slice(i * dim, (i + 1) * dim);
      if (!e.every(Number.isFinite)) throw new Error(`ArcFace output for '${names[s + i]}' contains NaN or Infinity (${model.onnxPath})`);
      out.push(e);
    }
  }
  return out;
}

/**
 * Embeds GT / reference images through the feature cache (feature-cache.ts): computed once per image content and
 * weight file, whatever the run. NOTE: the GT/reference side is embedded in its own batches, apart from the
 * predictions, so cached and freshly computed vectors come from the same batching.
 */
function embedSide(model: ArcfaceModel, imgs: readonly RgbImage[], names: readonly string[], batchSize?: number): Promise<Float32Array[]> {
  const key: FeatureKey = { version: EMBED_VERSION, weightsSha256: model.files[0].sha256 };
  return cachedFeatures(key, imgs, (missing, index) => embedImages(model, missing, index.map((i) => names[i]), batchSize));
}

function idsSpec(id: string, kind: MetricSpec['kind'], weights: WeightsKind, resize: LpipsResizeMode, description: string): MetricSpec {
  return { id, version: '1', kind, higherIsBetter: true, range: [-1, 1], decimals: 3, description, input: resize === 'none' ? { size: [512, 512] } : {}, weights };
}

/** Validates the options with the metric's strict schema (metrics/options.ts), applying its defaults. */
function idsOptions(o: MetricFactoryOptions, id: string): IdsOptions {
  return parseOptions(IdsOptionsSchema, o, { file: `metric '${id}'`, path: ['options'] });
}

/**
 * Creates `ids-arcface-r50` (vs ground truth).
 * @example
 * const m = await createIds({ modelsDir: 'models' });
 * let s = m.init(); s = await m.update(s, [{ sampleId: '00001', pred, gt }]);
 * m.compute(s).value; // e.g. 0.651
 */
export async function createIds(options: MetricFactoryOptions = {}): Promise<Metric<PerSampleState>> {
  const id = 'ids-arcface-r50';
  const opts = idsOptions(options, id);
  const model = await loadArcface(opts, id);
  const spec = idsSpec(id, 'paired', opts.weights ?? (opts.onnx ? 'test-random-init' : 'real'), opts.resize!,
    "IDS: cosine of insightface ArcFace R50 (WebFace) embeddings of prediction and GT; RGB [-1,1], centre crop [32:480], area resize to 112, no alignment (ReF-LDM IdentityLoss)");
  return perSampleMetric(
    spec,
    async (items: readonly MetricItem[]) => {
      const preds = items.map((it) => prepare512(it.pred, opts.resize!, `${id}: sample '${it.sampleId}' prediction`));
      const gts = items.map((it) => prepare512(it.gt!, opts.resize!, `${id}: sample '${it.sampleId}' ground truth`));
      const p = await embedImages(model, preds, items.map((it) => `${it.sampleId} (prediction)`), opts.batchSize);
      const g = await embedSide(model, gts, items.map((it) => `${it.sampleId} (ground truth)`), opts.batchSize);
      return items.map((_, i) => cosineSimilarity(p[i], g[i]));
    },
    { dispose: () => model.session.release(), weightFiles: model.files },
  );
}

/** Creates `ids-refs-arcface-r50`: mean cosine of the prediction to each of its references. */
export async function createIdsRefs(options: MetricFactoryOptions = {}): Promise<Metric<PerSampleState>> {
  const id = 'ids-refs-arcface-r50';
  const opts = idsOptions(options, id);
  const model = await loadArcface(opts, id);
  const spec = idsSpec(id, 'reference-set', opts.weights ?? (opts.onnx ? 'test-random-init' : 'real'), opts.resize!,
    'Mean cosine of ArcFace R50 (WebFace) embeddings of the prediction and each reference image (IDS convention)');
  return perSampleMetric(
    spec,
    async (items: readonly MetricItem[]) => {
      const refs: RgbImage[] = [];
      const names: string[] = [];
      for (const it of items) {
        if (!it.refs || it.refs.length === 0) throw new Error(`${id}: sample '${it.sampleId}' has no reference images`);
        it.refs.forEach((r, j) => {
          refs.push(prepare512(r, opts.resize!, `${id}: sample '${it.sampleId}' reference ${j}`));
          names.push(`${it.sampleId} (reference ${j})`);
        });
      }
      const preds = items.map((it) => prepare512(it.pred, opts.resize!, `${id}: sample '${it.sampleId}' prediction`));
      const p = await embedImages(model, preds, items.map((it) => `${it.sampleId} (prediction)`), opts.batchSize);
      const r = await embedSide(model, refs, names, opts.batchSize);
      const vals: number[] = [];
      let o = 0;
      items.forEach((it, i) => {
        let sum = 0;
        for (let j = 0; j < it.refs!.length; j++) sum += cosineSimilarity(p[i], r[o++]);
        vals.push(sum / it.refs!.length);
      });
      return vals;
    },
    { needsGt: false, dispose: () => model.session.release(), weightFiles: model.files },
  );
}
