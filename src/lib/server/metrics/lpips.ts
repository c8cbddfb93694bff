/**
 * @file LPIPS v0.1 metrics `lpips-vgg` and `lpips-alex` (pyiqa `lpips-vgg` convention: [0,1] input, which is the
 * `lpips` package on 2x − 1), as a thin shell over `eval/metrics/functional/lpips.ts`:
 *   u8 → trunk input (ScalingLayer/ImageNet normalisation) → ONNX trunk (5 relu maps) → per level normalise,
 *   squared difference, linear weights, spatial mean (float64) → sum.
 *
 * Model files: `models/weights/lpips-<net>/lpips-<net>.onnx` + `.lin.json` (from `refbench models convert`), or
 * explicit `onnx` / `lin` options (tests use narrow random-init fixtures that way).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Metric, MetricItem, MetricSpec, PerSampleState, WeightsKind } from '../../eval/metrics/metric.ts';
import { perSampleMetric } from '../../eval/metrics/metric.ts';
import { lpipsFromLevels, lpipsInput, parseLpipsLin, type LpipsLevel, type LpipsLin } from '../../eval/metrics/functional/lpips.ts';
import { to512Pil } from '../../eval/image/pil-resize.ts';
import type { RgbImage, WeightFileRecord } from '../../eval/types.ts';
import { weightFile } from '../models/weights.ts';
import { createSession, f32, runSession, type Session } from '../ort/session.ts';
import { requireModelFile } from '../models/paths.ts';
import type { MetricFactoryOptions } from './index.ts';
import { LpipsOptionsSchema } from './options.ts';
import { parseOptions } from '../../eval/spec/run-spec.ts';

export type LpipsNet = 'vgg' | 'alex';

/** How a non-512 image is handled: `none` rejects it; `pil-bicubic-512` resizes it as eval.py does (PIL bicubic). */
export type LpipsResizeMode = 'none' | 'pil-bicubic-512';

/** Options of the LPIPS metrics (on top of the common factory options). */
export interface LpipsOptions extends MetricFactoryOptions {
  /** Explicit trunk ONNX path (overrides the models folder). */
  readonly onnx?: string;
  /** Explicit `.lin.json` path (default: next to the ONNX). */
  readonly lin?: string;
  /** Provenance to report; defaults to `real` for the models folder, `test-random-init` must be stated. */
  readonly weights?: WeightsKind;
  readonly resize?: LpipsResizeMode;
  /** Image pairs per ONNX run (the trunk sees 2× this batch). Default 2. */
  readonly batchPairs?: number;
}

/** The resolved network of one LPIPS variant. */
export interface LpipsModel {
  readonly session: Session;
  readonly lin: LpipsLin;
  readonly onnxPath: string;
  /** The trunk and linear-weights files, checked against their pins before they were read. */
  readonly files: readonly WeightFileRecord[];
}

/**
 * Loads the trunk session and linear weights (both hashed and pin-checked first).
 * @throws ModelMissingError with the fetch command; WeightHashError for a pinned file whose hash changed.
 */
export async function loadLpipsModel(net: LpipsNet, opts: LpipsOptions, consumer: string): Promise<LpipsModel> {
  const id = `lpips-${net}`;
  const onnxPath = opts.onnx ?? requireModelFile(opts.modelsDir, id, `${id}.onnx`, consumer);
  const linPath = opts.lin ?? onnxPath.replace(/\.onnx$/, '') + '.lin.json';
  if (!existsSync(linPath)) throw new Error(`${consumer}: linear-weights file ${linPath} not found (written by refbench models convert ${id})`);
  const files = [await weightFile(onnxPath, 'trunk'), await weightFile(linPath, 'linear weights')];
  let linText: string;
  try {
    linText = await readFile(linPath, 'utf8');
  } catch {
    throw new Error(`${consumer}: linear-weights file ${linPath} not found (written by refbench models convert ${id})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(linText);
  } catch (err) {
    throw new Error(`${linPath}: invalid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const lin = parseLpipsLin(json, linPath);
  if (lin.net !== net) throw new Error(`${linPath}: field 'net' is '${lin.net}', expected '${net}'`);
  const session = await createSession(onnxPath, { device: opts.device, threads: opts.threads, graphOptimization: 'all', relaxOutputBatch: true });
  return { session, lin, onnxPath, files };
}

/**
 * LPIPS of each (a[i], b[i]) pair, batching `batchPairs` pairs per ONNX run.
 * @throws Error naming `names[i]` when the network output contains NaN.
 */
export async function lpipsPairs(
  model: LpipsModel,
  a: readonly RgbImage[],
  b: readonly RgbImage[],
  names: readonly string[],
  batchPairs = 2,
): Promise<number[]> {
  const out: number[] = [];
  for (let s = 0; s < a.length; s += batchPairs) {
    const k = Math.min(batchPairs, a.length - s);
    const { width: W, height: H } = a[s];
    for (let i = s; i < s + k; i++) {
      for (const img of [a[i], b[i]]) {
        if (img.width !== W || img.height !== H) throw new Error(`lpips: sample '${names[i]}' is ${img.width}×${img.height}, expected ${W}×${H} like the rest of its batch`);
      }
    }
    const n = 3 * H * W;
    const input = new Float32Array(2 * k * n);
    for (let i = 0; i < k; i++) {
      lpipsInput(a[s + i], input, i * n);
      lpipsInput(b[s + i], input, (k + i) * n);
    }
    const feeds = { [model.session.inputNames[0]]: f32(input, [2 * k, 3, H, W]) };
    const res = await runSession(model.session, feeds);
    const maps = model.session.outputNames.map((name) => res[name]);
    if (maps.length !== 5) throw new Error(`${model.onnxPath}: expected 5 feature outputs, got ${maps.length}`);
    for (let i = 0; i < k; i++) {
      const levels: LpipsLevel[] = maps.map((t) => {
        const [, C, h, w] = t.dims as number[];
        const data = t.data as Float32Array;
        const sz = C * h * w;
        return { a: data.subarray(i * sz, (i + 1) * sz), b: data.subarray((k + i) * sz, (k + i + 1) * sz), channels: C, height: h, width: w };
      });
      try {
        out.push(lpipsFromLevels(levels, model.lin.weights));
      } catch (err) {
        throw new Error(`sample '${names[s + i]}': ${err instanceof Error ? err.message : String(err)} (${model.onnxPath})`);
      }
    }
    for (const t of maps) t.dispose?.();
  }
  return out;
}

/** Applies the resize mode (eval.py: PIL bicubic to 512 only when not 512) or rejects a non-512 image. */
export function prepare512(img: RgbImage, mode: LpipsResizeMode, what: string): RgbImage {
  if (img.width === 512 && img.height === 512) return img;
  if (mode === 'pil-bicubic-512') return to512Pil(img);
  throw new Error(`${what} is ${img.width}×${img.height}, expected 512×512 (set option resize: 'pil-bicubic-512' to resize as ReF-LDM's eval.py does)`);
}

function lpipsSpec(net: LpipsNet, weights: WeightsKind, id = `lpips-${net}`, description?: string): MetricSpec {
  return {
    id,
    version: '1',
    kind: 'paired',
    higherIsBetter: false,
    range: [0, 1],
    decimals: 3,
    description:
      description ??
      `LPIPS v0.1, ${net === 'vgg' ? 'VGG16' : 'AlexNet'} trunk, [0,1] input (pyiqa '${id}' = lpips.LPIPS(net='${net}', version='0.1') on 2x−1)`,
    input: { size: [512, 512] },
    weights,
  };
}

/** Validates the options with the metric's strict schema (metrics/options.ts), applying its defaults. */
export function lpipsOptions(o: MetricFactoryOptions, id: string): LpipsOptions {
  return parseOptions(LpipsOptionsSchema, o, { file: `metric '${id}'`, path: ['options'] });
}

/**
 * Creates `lpips-vgg` / `lpips-alex`.
 * @example
 * const m = await createLpips('vgg', { modelsDir: 'models' });
 * let s = m.init(); s = await m.update(s, [{ sampleId: '00001', pred, gt }]);
 * m.compute(s).value; // e.g. 0.254
 */
export async function createLpips(net: LpipsNet, options: MetricFactoryOptions = {}): Promise<Metric<PerSampleState>> {
  const id = `lpips-${net}`;
  const opts = lpipsOptions(options, id);
  const model = await loadLpipsModel(net, opts, id);
  const spec0 = lpipsSpec(net, opts.weights ?? (opts.onnx ? 'test-random-init' : 'real'));
  const spec: MetricSpec = opts.resize === 'none' ? spec0 : { ...spec0, input: {} };
  return perSampleMetric(
    spec,
    async (items: readonly MetricItem[]) => {
      const preds = items.map((it) => prepare512(it.pred, opts.resize!, `${id}: sample '${it.sampleId}' prediction`));
      const gts = items.map((it) => prepare512(it.gt!, opts.resize!, `${id}: sample '${it.sampleId}' ground truth`));
      return lpipsPairs(model, preds, gts, items.map((it) => it.sampleId), opts.batchPairs);
    },
    { dispose: () => model.session.release(), weightFiles: model.files },
  );
}

export { lpipsSpec };
