/**
 * @file The dataset seam. A dataset adapter turns a folder layout (FFHQ-Ref, CelebA-Test-Ref, a plain folder,
 * the embedded synthfaces-ref) into an ordered list of samples: file paths, not pixels. Images are decoded by
 * the runner, lazily, one sample at a time.
 */

export interface SampleRef {
  /** Stable id, unique in the dataset (e.g. the GT file stem). */
  readonly id: string;
  /** Ground-truth HQ image path (absent for data without GT). Resized to 512 with PIL bicubic when not 512. */
  readonly gt?: string;
  /** Low-quality input path. */
  readonly lq: string;
  /** Reference photo paths, in CSV order (farthest-point order for FFHQ-Ref). */
  readonly refs: readonly string[];
  /** Optional face-mask/semantic-map path (fLPIPS). */
  readonly mask?: string;
}

/** A problem found while listing or inspecting a dataset: always names the file and, where known, the line. */
export interface DatasetProblem {
  readonly file: string;
  readonly line?: number;
  readonly field?: string;
  readonly message: string;
}

export interface DatasetInfo {
  readonly adapter: string;
  /** e.g. `ffhq-ref-test-severe`. */
  readonly id: string;
  readonly version: string;
  readonly root: string;
  readonly split?: string;
  readonly level?: string;
}

export interface Dataset {
  readonly info: DatasetInfo;
  /**
   * Every folder the samples' files may live in (root, HQ/LQ/reference folders given as options), resolved.
   * The dashboard serves a dataset file only when its real path lies under one of these. Default `[info.root]`.
   */
  readonly roots?: readonly string[];
  /**
   * Lists the samples in a stable order. Throws `DatasetError` (listing every problem) if the index is malformed
   * (bad CSV line, duplicate ids); missing image files are reported by `inspect`, and per-sample at run time.
   */
  samples(): Promise<SampleRef[]>;
  /** Full validation: every file exists, decodes, has the expected size; returns all problems found. */
  inspect(onProgress?: (done: number, total: number) => void): Promise<DatasetProblem[]>;
}

/** An error carrying every problem found, each naming its file and line. */
export class DatasetError extends Error {
  constructor(readonly problems: readonly DatasetProblem[]) {
    super(
      `${problems.length} problem(s) in the dataset:\n` +
        problems
          .slice(0, 50)
          .map((p) => `  ${p.file}${p.line !== undefined ? `:${p.line}` : ''}${p.field ? ` [${p.field}]` : ''}: ${p.message}`)
          .join('\n') +
        (problems.length > 50 ? `\n  ... and ${problems.length - 50} more` : ''),
    );
    this.name = 'DatasetError';
  }
}
