/**
 * @file The restorer seam (lm-eval `LM` ABC, transformers.js pipeline composition): one LQ image plus 0..N
 * references in, the restored image and its timings out. Runtime-neutral types only.
 */
import type { RgbImage, WeightFileRecord } from '../types.ts';

/** How a restorer's weights were obtained; anything but `checkpoint`/`none` is labelled untrained everywhere. */
export type RestorerWeights =
  | { readonly kind: 'none' }
  | { readonly kind: 'random-init'; readonly seed: number; readonly files: readonly FileHash[] }
  | { readonly kind: 'checkpoint'; readonly files: readonly FileHash[] }
  /** A folder of images another program made (the `precomputed` restorer); `files` = the folder's content hash. */
  | { readonly kind: 'outputs'; readonly files: readonly FileHash[] };

export interface FileHash {
  readonly name: string;
  readonly sha256: string;
}

/** What a restorer says about itself; written into run.json. */
export interface RestorerInfo {
  readonly id: string;
  readonly version: string;
  readonly weights: RestorerWeights;
  /** The fully resolved restorer settings (steps, guidance, refs cap, ...). */
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface RestoreInput {
  readonly sampleId: string;
  readonly lq: RgbImage;
  /** References in dataset (CSV) order; a restorer applies its own cap. */
  readonly refs: readonly RgbImage[];
}

export interface RestoreOptions {
  readonly signal?: AbortSignal;
  /** Called after each unit of internal progress (e.g. a denoising step). */
  readonly onStep?: (i: number, n: number) => void;
}

export interface RestoreOutput {
  readonly image: RgbImage;
  /** Milliseconds by stage, e.g. { encode, refPass, steps: [..], decode, total }. `total` is required. */
  readonly timings: Readonly<Record<string, number | readonly number[]>> & { readonly total: number };
  /** Free-form facts about this sample's run (references used, EP, peak memory...). */
  readonly info?: Readonly<Record<string, unknown>>;
}

export interface Restorer {
  readonly info: RestorerInfo;
  /** Things the user should know about the options (e.g. a shell template); the runner prints each before any work. */
  readonly warnings?: readonly string[];
  /**
   * Every weight file the restorer loaded, checked before loading (`weightFile`); their actual hashes replace
   * `info.weights.files` in run.json.
   */
  readonly weightFiles?: readonly WeightFileRecord[];
  restore(input: RestoreInput, opts?: RestoreOptions): Promise<RestoreOutput>;
  dispose(): Promise<void>;
}

/** Factory registered under an id; `options` come from the run spec's `restorer.options` (validated there). */
export type RestorerFactory = (options: Readonly<Record<string, unknown>>) => Promise<Restorer>;

/** Per-sample failure that must be recorded (not thrown away) and counted as missing coverage. */
export class SampleFailure extends Error {
  constructor(
    message: string,
    readonly sampleId: string,
  ) {
    super(message);
    this.name = 'SampleFailure';
  }
}
