/**
 * @file The one Restorer wrapper of both `ref-ldm` engines: an engine that samples one image (the onnx
 * `RefLdmSampler`, or the torch `TorchRefLdm`) plus the run's x_T and provenance become a `Restorer`. Per-sample
 * timings are rounded to 0.01 ms and each sample's info gains the engine's load time and the weights' kind, the
 * same for both engines, so their samples.jsonl records have one format.
 */
import type { Restorer, RestorerInfo, RestoreInput, RestoreOptions, RestoreOutput } from '../../../eval/restorers/restorer.ts';
import type { RgbImage, WeightFileRecord } from '../../../eval/types.ts';
import { ms2 } from './instrumentation.ts';

/** One sample as an engine returns it (milliseconds unrounded). */
export interface EngineSample {
  readonly image: RgbImage;
  /** Final latent x₀ [1, C, S, S] (before the codebook snap). */
  readonly latent: Float32Array;
  readonly timings: { readonly preprocess: number; readonly encode: number; readonly refPass: number; readonly steps: readonly number[]; readonly decode: number; readonly total: number };
  readonly info: Readonly<Record<string, unknown>>;
}

/** What the wrapper needs of an engine (both engines have it; tests call `sample` and `decode` directly). */
export interface RefLdmEngine {
  /** Milliseconds the engine took to load its models (reported apart from per-image timings). */
  readonly loadMs: number;
  /** Restores one image. @param xT initial noise [1, C, S, S] (not modified). */
  sample(lq: RgbImage, refs: readonly RgbImage[], xT: Float32Array, onStep?: (i: number, n: number) => void): Promise<EngineSample>;
  /** The VAE decoder (codebook snap included) on a latent [1, C, S, S]: raw output, CHW float32. */
  decode(latent: Float32Array): Promise<Float32Array>;
}

/** The `ref-ldm` restorer of either engine, with the engine and x_T exposed for tests and benchmarks. */
export type RefLdmRestorer<E extends RefLdmEngine> = Restorer & { readonly engine: E; readonly xT: Float32Array };

/**
 * Wraps an engine as a Restorer. `dispose` frees what the engine holds (the onnx sessions, or the torch worker);
 * it is called once by the runner when the run ends.
 */
export function engineRestorer<E extends RefLdmEngine>(
  engine: E,
  run: { readonly info: RestorerInfo; readonly weightFiles: readonly WeightFileRecord[]; readonly xT: Float32Array; readonly dispose: () => Promise<void> },
): RefLdmRestorer<E> {
  const { info, weightFiles, xT } = run;
  const weights = info.weights.kind;
  return {
    info,
    weightFiles,
    engine,
    xT,
    async restore(input: RestoreInput, opts?: RestoreOptions): Promise<RestoreOutput> {
      if (opts?.signal?.aborted) throw new Error(`${input.sampleId}: aborted`);
      const r = await engine.sample(input.lq, input.refs, xT, opts?.onStep);
      const t = r.timings;
      return {
        image: r.image,
        timings: { preprocess: ms2(t.preprocess), encode: ms2(t.encode), refPass: ms2(t.refPass), steps: t.steps.map(ms2), decode: ms2(t.decode), total: ms2(t.total) },
        info: { ...r.info, modelLoadMs: ms2(engine.loadMs), weights },
      };
    },
    dispose: run.dispose,
  };
}
