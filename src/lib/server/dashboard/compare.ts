/**
 * @file The compare page's data: several runs against a chosen baseline, over the samples they all share (same
 * sample id AND input hash, `ResultsDb.sharedSamples`). Per metric and run: the mean over the shared samples with
 * its 95% bootstrap CI, and against the baseline Δ = mean(run − baseline) with a paired bootstrap CI, the per-image
 * win rate (respecting the metric's direction) and the Wilcoxon signed-rank test (src/lib/eval/stats/paired.ts).
 * For the plotted metric: the per-image values of every run (distribution plot) and of the baseline against one
 * other run (scatter). Set metrics (FID, KID) are one value per run against a reference set: shown as values, with
 * their reference, never as per-image charts.
 *
 * Every identifier from the URL is checked (run ids by serve-file.ts's pattern and existence; metric ids against
 * the metrics the runs have) and reaches DuckDB only as a bound parameter.
 */
import { basename } from 'node:path';
import type { RunJson } from '../../eval/results/schema.ts';
import { TIME_METRIC } from '../../eval/results/schema.ts';
import { pairedComparison } from '../../eval/stats/paired.ts';
import type { ResultsDb, SharedSamples } from '../results/query.ts';
import { RunStore } from '../results/store.ts';
import { selectedRunsKey } from './cache.ts';
import type { ReadContext } from './context.ts';
import { metricCells, orderColumns, type MetricCell, type MetricColumn } from './metric-cells.ts';
import { describeSettings, runLabel, type RunLabel } from './run-page.ts';
import { DashboardError, dashboardRunDir, redactPaths } from './serve-file.ts';

export interface CompareRun extends RunLabel {
  readonly benchmark: string;
}

/** A run's value of one metric over the shared samples (per-image) or its set value. */
export type CompareValue = MetricCell;

/** One run against the baseline on one per-image metric. */
export interface CompareDelta {
  readonly n: number;
  readonly delta: number;
  readonly ci95: readonly [number, number] | null;
  readonly winRate: number;
  readonly wins: number;
  readonly ties: number;
  readonly losses: number;
  readonly pvalue: number | null;
  readonly test: string | null;
}

export interface Comparison {
  readonly runs: readonly CompareRun[];
  readonly baseline: string;
  readonly shared: SharedSamples;
  readonly columns: readonly MetricColumn[];
  /** runId → metric → value. */
  readonly values: Readonly<Record<string, Readonly<Record<string, CompareValue>>>>;
  /** runId (not the baseline) → metric → Δ against the baseline. */
  readonly deltas: Readonly<Record<string, Readonly<Record<string, CompareDelta>>>>;
  /** The plotted metric, or null when the URL named none the runs have (see `unknownMetric`). */
  readonly metric: MetricColumn | null;
  /** The metric the URL asked for when no run has it (the page says so and lists the ones there are). */
  readonly unknownMetric: string | null;
  /** The run plotted against the baseline in the scatter. */
  readonly vs: string | null;
  /** The shared sample ids and, per run, the plotted metric's value on each (null: no value there). */
  readonly plot: { readonly sampleIds: readonly string[]; readonly values: Readonly<Record<string, readonly (number | null)[]>> } | null;
  /** Set when the runs are of different benchmarks (their samples rarely match). */
  readonly warning: string | null;
  readonly testWeights: boolean;
}

/** The query of the compare page, as read from the URL (all optional but `runs`). */
export interface CompareQuery {
  readonly runs: readonly string[];
  readonly baseline?: string | null;
  readonly metric?: string | null;
  readonly vs?: string | null;
}

function benchmarkOf(run: RunJson): string {
  return `${run.dataset.id}${run.dataset.level && !run.dataset.id.includes(run.dataset.level) ? ` · ${run.dataset.level}` : ''} (v${run.dataset.version})`;
}

/**
 * Computes the comparison, cached until one of the compared runs' files changes (other runs do not matter).
 * @throws DashboardError 400 (no runs, baseline or vs not among the runs), 404 (unknown run), 422 (a run.json that cannot be read).
 */
export async function compare(ctx: ReadContext, q: CompareQuery): Promise<Comparison> {
  const ids = [...new Set(q.runs)];
  // Only known run ids reach the cache key (dashboardRunDir validates them; an unknown one throws as it would below).
  const key = ids.length > 0 && ids.length <= 12 ? selectedRunsKey(ctx.root, ids.map((id) => basename(dashboardRunDir(ctx.root, id)))) : null;
  return ctx.pages.get(`compare|${JSON.stringify([ids, q.baseline, q.metric, q.vs])}`, key, () => computeCompare(ctx, q));
}

/** The compared runs' ids, folders and run.json, the baseline and the scatter's other run, all checked. */
function openCompared(root: string, q: CompareQuery): { ids: string[]; dirs: string[]; runs: RunJson[]; baseline: string; vs: string | null } {
  const ids = [...new Set(q.runs)];
  if (ids.length === 0) throw new DashboardError(400, 'pass ?runs=<runId>,<runId> (pick runs on the leaderboard)');
  if (ids.length > 12) throw new DashboardError(400, `at most 12 runs can be compared at once, got ${ids.length}`);
  const dirs = ids.map((id) => dashboardRunDir(root, id));
  const runs = dirs.map((d, i) => {
    try {
      return new RunStore(d).readRunJson();
    } catch (err) {
      // NOTE: 422 as on the run page: the run exists but its run.json cannot be used; a server error it is not.
      throw new DashboardError(422, `run '${ids[i]}': ${redactPaths((err as Error).message, [[`${root}/`, '']])}`);
    }
  });
  const baseline = q.baseline || ids[0];
  if (!ids.includes(baseline)) throw new DashboardError(400, `baseline '${baseline}' is not one of the compared runs (${ids.join(', ')})`);
  const vs = q.vs || ids.find((id) => id !== baseline) || null;
  if (vs !== null && !ids.includes(vs)) throw new DashboardError(400, `vs '${vs}' is not one of the compared runs (${ids.join(', ')})`);
  return { ids, dirs, runs, baseline, vs };
}

/** One run against the baseline on one per-image metric: pairs are the shared samples where both have a value. */
function delta(base: readonly (number | null)[], other: readonly (number | null)[], higherIsBetter: boolean): CompareDelta | null {
  const a: number[] = [];
  const b: number[] = [];
  base.forEach((x, k) => {
    const y = other[k];
    if (x !== null && y !== null) (a.push(x), b.push(y));
  });
  if (!a.length) return null;
  const p = pairedComparison(a, b, higherIsBetter);
  return {
    n: p.n,
    delta: p.delta,
    ci95: p.ci95,
    winRate: p.winRate,
    wins: p.wins,
    ties: p.ties,
    losses: p.losses,
    pvalue: p.wilcoxon && Number.isFinite(p.wilcoxon.pvalue) ? p.wilcoxon.pvalue : null,
    test: p.wilcoxon ? `Wilcoxon signed-rank (${p.wilcoxon.method}${p.wilcoxon.zeros ? `, ${p.wilcoxon.zeros} zero differences` : ''})` : null,
  };
}

/** Δ of every run but the baseline on every per-image column. */
async function deltas(db: ResultsDb, c: { ids: string[]; dirs: string[]; bi: number; shared: string[] }, columns: readonly MetricColumn[]) {
  const out: Record<string, Record<string, CompareDelta>> = {};
  for (const col of columns.filter((x) => !x.set)) {
    const vals = await db.values(c.dirs, col.id, c.shared);
    const base = vals.get(c.dirs[c.bi])!;
    c.ids.forEach((id, i) => {
      const d = i === c.bi ? null : delta(base, vals.get(c.dirs[i])!, col.higherIsBetter);
      if (d) (out[id] ??= {})[col.id] = d;
    });
  }
  return out;
}

function compareRun(r: RunJson): CompareRun {
  return { ...runLabel(r, describeSettings(r)), benchmark: benchmarkOf(r) };
}

async function computeCompare(ctx: ReadContext, q: CompareQuery): Promise<Comparison> {
  const { ids, dirs, runs, baseline, vs } = openCompared(ctx.root, q);
  const db = await ctx.db();
  await db.sync(dirs);
  const shared = await db.sharedSamples(dirs);
  const perRun = (await db.aggregate(dirs, shared.ids)).map((a, i) => metricCells(runs[i], a, (n) => ctx.resamples(n)));
  const values = Object.fromEntries(ids.map((id, i) => [id, perRun[i].cells]));
  const columns = orderColumns(perRun, runs);
  const known = new Set(columns.map((c) => c.id));
  const asked = q.metric ?? null;
  const metric = asked !== null ? (columns.find((c) => c.id === asked) ?? null) : (columns.find((c) => !c.set && c.id !== TIME_METRIC.id) ?? columns[0] ?? null);
  let plot: Comparison['plot'] = null;
  if (metric && !metric.set) {
    const vals = await db.values(dirs, metric.id, shared.ids);
    plot = { sampleIds: shared.ids, values: Object.fromEntries(ids.map((id, i) => [id, vals.get(dirs[i])!])) };
  }
  const benches = new Set(runs.map(benchmarkOf));
  return {
    runs: runs.map(compareRun),
    baseline,
    shared,
    columns,
    values,
    deltas: await deltas(db, { ids, dirs, bi: ids.indexOf(baseline), shared: shared.ids }, columns),
    metric,
    unknownMetric: asked !== null && !known.has(asked) ? asked : null,
    vs,
    plot,
    warning: benches.size > 1 ? `These runs are of different benchmarks (${[...benches].join(' vs ')}): only samples with the same id and input are compared.` : null,
    testWeights: runs.some((r) => r.restorer.untrained || r.metrics.some((m) => m.weights === 'test-random-init')),
  };
}
