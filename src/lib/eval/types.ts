/**
 * @file Core value types shared by the engine, the CLI and the dashboard. Runtime-neutral: no node:*, no
 * onnxruntime, no sharp (docs/architecture.md §1).
 */

/**
 * A decoded 8-bit RGB image, row-major HWC (`data[(y * width + x) * 3 + c]`, c = R, G, B).
 * This is the currency between datasets, restorers, metrics and the store: every file on disk is 8-bit, so a
 * metric that starts from u8 sees exactly what the reference implementation sees after `PIL.Image.open`.
 */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Named pixel ranges; never a boolean `normalize` flag (docs/architecture.md §5). */
export type PixelRange = 'uint8' | 'zero-one' | 'minus-one-one';

/**
 * A float image tensor, NCHW with N = 1 unless stated.
 * @property shape e.g. [1, 3, 512, 512]
 */
export interface FloatTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/**
 * A file of weights, parameters or reference statistics that a restorer or metric read, as checked before it was
 * read (server/models/weights.ts `weightFile`: actual sha256 from the hash cache, pin checked). Components expose
 * them (`Restorer.weightFiles`, `Metric.weightFiles`) and the runner records them in run.json.
 */
export interface WeightFileRecord {
  /** A short name for run.json (e.g. `unet.onnx`, `trunk`, `reference statistics`). */
  readonly name: string;
  /** Absolute, symlink-resolved path. */
  readonly path: string;
  /** The file's actual sha256 (never a value copied from a manifest or bundle.json). */
  readonly sha256: string;
  readonly sizeBytes: number;
  /** The manifest model id when the file belongs to a models root. */
  readonly model?: string;
  /** Whether the hash was checked against a pin (published, recorded at first fetch, or at conversion). */
  readonly pinned: boolean;
}
