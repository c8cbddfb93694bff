/**
 * @file The results format (docs/results-format.md): zod schemas and types for run.json, samples.jsonl,
 * eval.jsonl and summary.json, shared by the store, the runner, `refbench report` and the dashboard.
 * Runtime-neutral. Readers reject an unknown `schemaVersion` with a clear message (docs/architecture.md §5).
 */
import { z } from 'zod';

/**
 * The file-format version. Bump the major when a reader of the old version would misread new files (a key
 * renamed or its meaning changed); adding optional keys keeps the version. Readers accept only these majors.
 */
export const RESULTS_SCHEMA_VERSION = '1.0';
export const SUPPORTED_SCHEMA_MAJORS: readonly number[] = [1];

const Num = z.number();
/**
 * A weight file a run used. `sha256` is the file's actual hash (computed by the runner, never copied from a
 * manifest); `path`, `sizeBytes`, `model` (manifest id) and `pinned` (checked against a pin) are present in runs
 * made since they were added.
 */
const FileHash = z.object({
  name: z.string(),
  sha256: z.string(),
  path: z.string().optional(),
  sizeBytes: z.number().optional(),
  model: z.string().optional(),
  pinned: z.boolean().optional(),
});

export const RestorerWeightsSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  z.object({ kind: z.literal('random-init'), seed: z.number(), files: z.array(FileHash) }),
  z.object({ kind: z.literal('checkpoint'), files: z.array(FileHash) }),
  /** Published outputs scored as they are (`precomputed`): `files` holds the folder's content hash. */
  z.object({ kind: z.literal('outputs'), files: z.array(FileHash) }),
]);

export const MetricInfoSchema = z.object({
  id: z.string(),
  version: z.string(),
  kind: z.enum(['paired', 'distribution', 'no-reference', 'reference-set']),
  higherIsBetter: z.boolean(),
  decimals: z.number().int(),
  weights: z.enum(['none', 'real', 'test-random-init']),
  description: z.string().optional(),
  options: z.record(z.string(), z.unknown()).default({}),
  /** Every weight/statistics file the metric read, with its actual sha256. */
  files: z.array(FileHash).optional(),
});
export type MetricInfo = z.infer<typeof MetricInfoSchema>;

export const RunJsonSchema = z.object({
  schemaVersion: z.string(),
  runId: z.string(),
  createdAt: z.string(),
  /** ISO times at which the run was resumed (appended on every resume). */
  resumedAt: z.array(z.string()).default([]),
  /** Canonical hash (sha256 hex) of the spec's identity (spec minus threads and dataset.limit). */
  specHash: z.string(),
  spec: z.record(z.string(), z.unknown()),
  specFile: z.string().nullable().default(null),
  dataset: z.object({
    adapter: z.string(),
    id: z.string(),
    version: z.string(),
    root: z.string(),
    split: z.string().optional(),
    level: z.string().optional(),
    /** Samples listed by the adapter, before `limit`. */
    available: z.number().int(),
    /** Samples this run covers (after `limit`): the M of coverage N/M. */
    size: z.number().int(),
    limited: z.boolean(),
    /** sha256 over the sorted per-sample input hashes (docs/architecture.md §5). */
    hash: z.string(),
    /** Max references over the samples (the "refs setting" column). */
    maxRefs: z.number().int(),
  }),
  restorer: z.object({
    id: z.string(),
    version: z.string(),
    weights: RestorerWeightsSchema,
    settings: z.record(z.string(), z.unknown()),
    /** True when the weights are random-init / test networks: every report marks such runs. */
    untrained: z.boolean(),
  }),
  metrics: z.array(MetricInfoSchema),
  code: z.object({ gitSha: z.string().nullable(), dirty: z.boolean().nullable(), packageVersion: z.string() }),
  packages: z.record(z.string(), z.string().nullable()),
  host: z.object({ os: z.string(), cpu: z.string(), cores: z.number(), memoryBytes: z.number(), node: z.string() }),
  /**
   * A shard run (`refbench run --shard index/count`): its samples are those at positions ≡ index (mod count) of the
   * full run's sample list; `of` and `sampleIds` (sha256 of that list's ids, one per line) identify the full run.
   */
  shard: z.object({ index: z.number().int(), count: z.number().int(), of: z.number().int(), sampleIds: z.string() }).optional(),
  /** A run built by `refbench merge` from shard runs (each with its own host and dates). */
  merged: z
    .object({
      at: z.string(),
      shards: z.array(z.object({ index: z.number().int(), count: z.number().int(), runId: z.string(), runDir: z.string(), createdAt: z.string(), host: z.string() })),
    })
    .optional(),
});
export type RunJson = z.infer<typeof RunJsonSchema>;

export const SampleLineSchema = z.object({
  /** Monotonic line number within the run (resumes continue it); the highest seq per sampleId wins. */
  seq: z.number().int(),
  sampleId: z.string(),
  status: z.enum(['ok', 'error']),
  error: z.string().optional(),
  /** sha256 over the sample's input files (LQ, refs in order, GT). */
  inputHash: z.string().optional(),
  /** sha256 of the encoded PNG output. */
  outputHash: z.string().optional(),
  /** Output path relative to the run directory (`outputs/<sampleId>.png`), when saved. */
  output: z.string().optional(),
  /** Per-sample metric values, keyed by metric id; `time-ms` is always present on ok lines. */
  metrics: z.record(z.string(), Num).default({}),
  /** Per-metric errors (the sample is still ok; the metric's coverage drops). */
  metricErrors: z.record(z.string(), z.string()).optional(),
  timingsMs: z.record(z.string(), Num).default({}),
  peakRssBytes: z.number().optional(),
  restorer: z.record(z.string(), z.unknown()).optional(),
  numRefs: z.number().int().optional(),
  finishedAt: z.string(),
});
export type SampleLine = z.infer<typeof SampleLineSchema>;

/**
 * thumbs.jsonl: which thumbnail (results/thumbs/<sha256>.webp, by the sha256 of the source image's bytes) belongs to
 * which image of a sample. Written by `run` as it processes each sample and by `refbench thumbs`; the last line per
 * sample wins, kind by kind. Read by the dashboard only.
 */
export const ThumbLineSchema = z.object({
  sampleId: z.string(),
  /** Image kind (`output`, `lq`, `gt`, `ref-<i>`) → sha256 hex of that image file's bytes. */
  images: z.record(z.string().regex(/^(output|lq|gt|ref-\d{1,3})$/, 'an image kind: output, lq, gt or ref-<i>'), z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex digest')),
  at: z.string(),
});
export type ThumbLine = z.infer<typeof ThumbLineSchema>;

/**
 * eval.jsonl: a per-sample value, a distribution metric's set value (no sampleId), or a set metric that could not
 * be computed over `n` samples (`error`, no value: e.g. a non-finite FID from degenerate reference statistics).
 */
export const EvalLineSchema = z.union([
  z.object({ sampleId: z.string(), metric: z.string(), value: Num, metricVersion: z.string().optional(), at: z.string().optional() }),
  z.object({ metric: z.string(), value: Num, n: z.number().int(), metricVersion: z.string().optional(), extra: z.record(z.string(), Num).optional(), at: z.string().optional() }),
  z.object({ metric: z.string(), error: z.string(), n: z.number().int(), metricVersion: z.string().optional(), at: z.string().optional() }),
]);
export type EvalLine = z.infer<typeof EvalLineSchema>;

export const MetricSummarySchema = z.object({
  value: z.number().nullable(),
  n: z.number().int(),
  /** Samples of the run (M in coverage N/M). */
  of: z.number().int(),
  coverage: z.string(),
  stderr: z.number().nullable(),
  ci95: z.tuple([z.number(), z.number()]).nullable(),
  higherIsBetter: z.boolean(),
  decimals: z.number().int(),
  weights: z.enum(['none', 'real', 'test-random-init']),
  kind: z.enum(['paired', 'distribution', 'no-reference', 'reference-set', 'timing']),
  source: z.enum(['run', 'eval']),
  /** Why a distribution metric has no value (its last eval.jsonl set line is an error). */
  error: z.string().optional(),
});
export type MetricSummary = z.infer<typeof MetricSummarySchema>;

export const SummarySchema = z.object({
  schemaVersion: z.string(),
  runId: z.string(),
  updatedAt: z.string(),
  samples: z.object({ total: z.number().int(), ok: z.number().int(), error: z.number().int(), pending: z.number().int() }),
  complete: z.boolean(),
  untrained: z.boolean(),
  bootstrap: z.object({ iterations: z.number().int(), seed: z.number().int() }),
  metrics: z.record(z.string(), MetricSummarySchema),
});
export type Summary = z.infer<typeof SummarySchema>;

/**
 * One line describing why a value failed a schema: `path: message` of the first issues (for a union, those of
 * the branch that came closest), so readers can report `file:line: <this>` instead of a raw ZodError.
 */
export function describeIssues(error: z.ZodError, max = 3): string {
  let issues: readonly z.core.$ZodIssue[] = error.issues;
  while (issues.length === 1 && issues[0].code === 'invalid_union' && issues[0].errors.length) {
    const u = issues[0];
    const best = [...u.errors].sort((a, b) => a.length - b.length)[0];
    issues = best.map((i) => ({ ...i, path: [...u.path, ...i.path] }));
  }
  const parts = issues.slice(0, max).map((i) => `${i.path.map(String).join('.') || '(value)'}: ${i.message}`);
  return parts.join('; ') + (issues.length > max ? `; and ${issues.length - max} more` : '');
}

/** Throws unless `v` is a supported schema version; `file` names the file in the message. */
export function assertSchemaVersion(v: unknown, file: string): void {
  const major = typeof v === 'string' ? Number(v.split('.')[0]) : Number.NaN;
  if (!SUPPORTED_SCHEMA_MAJORS.includes(major)) {
    throw new Error(
      `${file}: unsupported schemaVersion ${JSON.stringify(v)} (this refbench reads ${SUPPORTED_SCHEMA_MAJORS.map((m) => `${m}.x`).join(', ')}); ` +
        'upgrade refbench or re-run the evaluation',
    );
  }
}

/** The built-in per-sample timing metric: the restorer's `timings.total`. */
export const TIME_METRIC: MetricInfo = {
  id: 'time-ms',
  version: '1',
  kind: 'no-reference',
  higherIsBetter: false,
  decimals: 0,
  weights: 'none',
  description: "restorer wall time per image (the restorer's timings.total), milliseconds",
  options: {},
};
