/**
 * @file Run aggregates → metric cells and columns: the ONE place where the dashboard turns what a run recorded
 * (DuckDB aggregates of samples.jsonl / eval.jsonl, and run.json's metric facts) into the numbers a table shows.
 * The leaderboard and the compare page both call `metricCells` (they used to carry two copies, and the run
 * index a third, which disagreed; docs/dashboard-read-model.md).
 *
 * Conventions decided here:
 * - direction: run.json's `higherIsBetter`; when run.json does not describe the metric, a per-image metric defaults
 *   to higher-is-better and a set metric (FID, KID: metrics/fid.ts creates both with `higherIsBetter: false`) to
 *   lower-is-better;
 * - a set metric's reference is the file name of the option its schema defines (metrics/options.ts:
 *   `reference` for FID, `referenceFeatures` for KID), never a path; other option names are not references.
 */
import type { MetricInfo, RunJson } from '../../eval/results/schema.ts';
import { TIME_METRIC } from '../../eval/results/schema.ts';
import { BOOTSTRAP_DEFAULTS, bootstrapMean, bootstrapMeanWith } from '../../eval/stats/bootstrap.ts';
import { columnMode, modeOf, type ColumnMode } from '../../eval/metrics/conventions.ts';
import { metricLabel, paperOrder } from '../../metric-columns.ts';
import { metricConventions } from '../metrics/index.ts';
import type { RunAggregate } from '../results/query.ts';

/** One column of a table of runs. */
export interface MetricColumn {
  readonly id: string;
  /** The paper's name (`LPIPS`, `FID (legacy-pytorch)`). */
  readonly label: string;
  readonly higherIsBetter: boolean;
  readonly decimals: number;
  /** A set metric (FID, KID): one value per run over its own samples, against a reference set. */
  readonly set: boolean;
  /** The reference set of a set metric (its statistics or features file's name), when recorded. */
  readonly reference?: string;
  /** The exact mode (implementation, input, resize/crop, weight files) of the column's runs, shown on its header. */
  readonly mode?: ColumnMode;
}

/** One value of one run: a per-image mean with its 95% bootstrap CI, or a set metric's value. */
export interface MetricCell {
  readonly value: number | null;
  readonly ci95: readonly [number, number] | null;
  readonly n: number;
  readonly testWeights: boolean;
  /** A set metric recorded as failed (eval.jsonl) instead of a value. */
  readonly error?: string;
}

/** What `metricCells` makes of one run. */
export interface RunCells {
  /** Metric id → the column as this run describes it (no mode yet: see `orderColumns`). */
  readonly columns: ReadonlyMap<string, MetricColumn>;
  readonly cells: Readonly<Record<string, MetricCell>>;
}

/** The option of each set metric's schema that names its reference (metrics/options.ts). */
const REFERENCE_OPTIONS = ['reference', 'referenceFeatures'] as const;

/** The file name of a set metric's reference as run.json records it, never its absolute path. */
export function referenceOf(info: MetricInfo | undefined): string | undefined {
  const o = info?.options ?? {};
  for (const k of REFERENCE_OPTIONS) {
    const ref = o[k];
    if (typeof ref === 'string') return ref.split(/[\\/]/).pop() ?? ref;
  }
  return undefined;
}

/**
 * The column of metric `id` as one run describes it (`info`: its run.json facts, TIME_METRIC for time; no mode yet):
 * the direction and decimals recorded, else this file's defaults, and a set metric's reference file name.
 */
export function metricColumn(id: string, info: MetricInfo | undefined, set: boolean): MetricColumn {
  const reference = set ? referenceOf(info) : undefined;
  return { id, label: metricLabel(id), higherIsBetter: info?.higherIsBetter ?? !set, decimals: info?.decimals ?? 3, set, ...(reference ? { reference } : {}) };
}

/**
 * A run's metric cells and columns from its aggregates (`agg`, over the samples the caller chose) and run.json's
 * metric facts: per-image metrics as the mean with a 95% bootstrap CI, set metrics as their value (or error).
 * `resamples(n)`, when given, supplies resample indices drawn once (`bootstrapIndices` with the defaults): the same
 * CIs, without drawing them again for every run and metric.
 */
export function metricCells(run: RunJson, agg: Pick<RunAggregate, 'perSample' | 'sets'>, resamples?: (n: number) => Uint32Array | null): RunCells {
  const byId = new Map(run.metrics.map((m) => [m.id, m]));
  const columns = new Map<string, MetricColumn>();
  const cells: Record<string, MetricCell> = {};
  for (const p of agg.perSample) {
    const m = p.metric === TIME_METRIC.id ? TIME_METRIC : byId.get(p.metric);
    columns.set(p.metric, metricColumn(p.metric, m, false));
    const b = resamples ? bootstrapMeanWith(p.values, resamples(p.values.length)) : bootstrapMean(p.values, BOOTSTRAP_DEFAULTS);
    cells[p.metric] = { value: p.n ? b.mean : null, ci95: b.ci95 ?? null, n: p.n, testWeights: m?.weights === 'test-random-init' };
  }
  for (const s of agg.sets) {
    const m = byId.get(s.metric);
    columns.set(s.metric, metricColumn(s.metric, m, true));
    cells[s.metric] = { value: s.value, ci95: null, n: s.n, testWeights: m?.weights === 'test-random-init', ...(s.error ? { error: s.error } : {}) };
  }
  return { columns, cells };
}

/** The mode of metric `id` in each run that recorded it (`time-ms`: every run), grouped. */
export function modeOfColumn(id: string, runs: readonly RunJson[]): ColumnMode {
  const entries = runs.flatMap((run) => {
    const info = id === TIME_METRIC.id ? TIME_METRIC : run.metrics.find((m) => m.id === id);
    return info ? [{ runId: run.runId, mode: modeOf(id, info, metricConventions(id)) }] : [];
  });
  return columnMode(entries);
}

/**
 * The columns of a table of runs: each metric as the first run (in `perRun` order) that has it describes it, in the
 * paper's column order with time last (a cost, not a quality), each with its mode over `runs`.
 */
export function orderColumns(perRun: readonly RunCells[], runs: readonly RunJson[]): MetricColumn[] {
  const info = new Map<string, MetricColumn>();
  for (const r of perRun) for (const [id, c] of r.columns) if (!info.has(id)) info.set(id, c);
  const ids = paperOrder(info.keys()).filter((id) => id !== TIME_METRIC.id);
  if (info.has(TIME_METRIC.id)) ids.push(TIME_METRIC.id);
  return ids.map((id) => ({ ...info.get(id)!, mode: modeOfColumn(id, runs) }));
}
