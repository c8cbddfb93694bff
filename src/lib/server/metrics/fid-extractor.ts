/**
 * @file The FID-Inception feature extractor shared by FID, KID, `refbench fid` and the reference-statistics
 * builders: a preprocessing mode (fid-preprocess.ts) then batched onnxruntime runs of the pool3 network, with a
 * NaN check naming the image. Model: `models/weights/fid-inception/fid-inception.onnx` (manifest output), or an
 * explicit `modelPath`.
 */
import type { WeightsKind } from '../../eval/metrics/metric.ts';
import type { FeatureMatrix } from '../../eval/metrics/functional/kernel-distance.ts';
import type { GaussianStats } from '../../eval/metrics/functional/frechet-distance.ts';
import type { RgbImage, WeightFileRecord } from '../../eval/types.ts';
import { weightFile } from '../models/weights.ts';
import { requireModelFile } from '../models/paths.ts';
import { createSession, f32, runSession, type Session } from '../ort/session.ts';
import { FID_SIZE, preprocessClean, preprocessLegacyPytorch, type FidMode } from './fid-preprocess.ts';
import type { MetricFactoryOptions } from './index.ts';

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

/** The FID-Inception feature extractor: batched ORT runs, NaN check. */
export interface FidExtractor {
  readonly mode: FidMode;
  readonly modelPath: string;
  /** The ONNX file, checked against its pin before it was loaded. */
  readonly file: WeightFileRecord;
  /** The option, else `real` for the models folder, `test-random-init` for an explicit `modelPath`. */
  readonly weights: WeightsKind;
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
    weights: opts.weights ?? (opts.modelPath ? 'test-random-init' : 'real'),
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
 * A reference given as a path (read with `read`, its file checked and hashed first: run.json records it) or as the
 * values themselves.
 */
export async function referenceOption<T>(given: string | T | undefined, what: string, read: (path: string) => Promise<T>): Promise<{ value?: T; file?: WeightFileRecord }> {
  if (typeof given !== 'string') return { value: given };
  const file = await weightFile(given, what);
  return { value: await read(given), file };
}
