/**
 * @file The leaderboard (the dashboard's index page): runs grouped per benchmark (dataset, level, protocol
 * version), every metric as the paper orders its columns, each value with its 95% bootstrap CI, the best value
 * of each column, badges for test-network numbers, and "n shared of N": by default every per-image mean of a
 * benchmark is over the samples all its runs share (same sample id AND input hash; `ResultsDb.sharedSamples`),
 * so the rows compare the same images. `over: 'own'` shows each run over its own samples instead, with a warning.
 *
 * All numbers come from the dashboard's long-lived `ResultsDb` (DuckDB over the rows the store validated).
 */
import { join } from 'node:path';
import type { RunJson } from '../../eval/results/schema.ts';
import { TIME_METRIC } from '../../eval/results/schema.ts';
import { BOOTSTRAP_DEFAULTS, bootstrapMean } from '../../eval/stats/bootstrap.ts';
import { columnMode, modeOf, type ColumnMode } from '../../eval/metrics/conventions.ts';
import { metricLabel, paperOrder } from '../../metric-columns.ts';
import { metricConventions } from '../metrics/index.ts';
import { ResultsDb, stampOf, type SharedSamples } from '../results/query.ts';
import { listRunIds, RunStore } from '../results/store.ts';
import { redactPaths } from './serve-file.ts';
import { describeSettings, resultsDir } from './data.ts';

/** One column of a benchmark's table. */
export interface LeaderColumn {
  readonly id: string;
  /** The paper's name (`LPIPS`, `FID (legacy-pytorch)`). */
  readonly label: string;
  readonly higherIsBetter: boolean;
  readonly decimals: number;
  /** A set metric (FID, KID): one value per run over its own samples, against a reference set. */
  readonly set: boolean;
  /** The reference set of a set metric (its statistics file's name), when recorded. */
  readonly reference?: string;
  /** The exact mode (implementation, input, resize/crop, weight files) of the column's runs, shown on its header. */
  readonly mode?: ColumnMode;
}

/** One value of one run. */
export interface LeaderCell {
  readonly value: number | null;
  readonly ci95: readonly [number, number] | null;
  readonly n: number;
  readonly testWeights: boolean;
  readonly error?: string;
}

export interface LeaderRow {
  readonly runId: string;
  readonly restorer: string;
  readonly settings: string;
  readonly tags: readonly string[];
  readonly untrained: boolean;
  readonly ok: number;
  readonly error: number;
  readonly total: number;
  readonly createdAt: string;
  readonly cells: Readonly<Record<string, LeaderCell>>;
  readonly problems: readonly string[];
}

export interface BenchmarkBoard {
  /** `synthfaces-ref|severe|1`: stable, for anchors and tests. */
  readonly key: string;
  /** `synthfaces-ref · severe`. */
  readonly name: string;
  readonly level: string | null;
  /** The dataset (protocol) version. */
  readonly version: string;
  /** The dataset content hashes of its runs (a tooltip: different limits give different hashes). */
  readonly hashes: readonly string[];
  readonly shared: SharedSamples;
  /** Whether per-image means are over the shared samples (the default) or each run's own. */
  readonly over: 'shared' | 'own';
  /** True when the runs cover different samples (then `own` compares different images). */
  readonly differs: boolean;
  readonly columns: readonly LeaderColumn[];
  readonly rows: readonly LeaderRow[];
  /** Column id → the run ids holding its best value (direction respected; ties all marked). */
  readonly best: Readonly<Record<string, readonly string[]>>;
  /** Whether any number here comes from random-init / test weights. */
  readonly testWeights: boolean;
}

export interface Leaderboard {
  readonly benchmarks: readonly BenchmarkBoard[];
  /** Runs left out (unreadable run.json), as `file: message` with paths relative to the results folder. */
  readonly problems: readonly string[];
  /**
   * Shard runs (`refbench run --shard`): parts of a run, left out of the tables (each covers a slice of the samples,
   * so it would shrink every benchmark's shared samples); `refbench merge` makes the whole run.
   */
  readonly shards: readonly string[];
  readonly testWeights: boolean;
}

let DB: Promise<ResultsDb> | null = null;

/**
 * The dashboard's one in-memory results database: runs are loaded on first use and reloaded only when their files
 * change, so a warm page does not re-read the JSONL files.
 */
export function dashboardDb(): Promise<ResultsDb> {
  DB ??= ResultsDb.open();
  return DB;
}

/**
 * A corrupt summary.json, as a problem to show (the leaderboard's numbers come from the JSONL files, but a summary
 * that `report` or a user would read is broken, and the run page ignores it).
 */
function summaryProblem(runDir: string): string[] {
  try {
    new RunStore(runDir).readSummary();
    return [];
  } catch (err) {
    return [`${(err as Error).message} (summary ignored; \`refbench eval\` or a re-run rewrites it)`];
  }
}

function benchmarkKey(run: RunJson): string {
  return `${run.dataset.id}|${run.dataset.level ?? ''}|${run.dataset.version}`;
}

function tagsOf(run: RunJson): string[] {
  const t = (run.spec as { tags?: unknown }).tags;
  return Array.isArray(t) ? t.map(String) : [];
}

/** The mode of metric `id` in each run that recorded it (`time-ms`: every run), grouped. */
export function modeOfColumn(id: string, runs: readonly RunJson[]): ColumnMode {
  const entries = runs.flatMap((run) => {
    const info = id === TIME_METRIC.id ? TIME_METRIC : run.metrics.find((m) => m.id === id);
    return info ? [{ runId: run.runId, mode: modeOf(id, info, metricConventions(id)) }] : [];
  });
  return columnMode(entries);
}

/** The file name of a set metric's reference (statistics or features file), never its absolute path. */
function referenceOf(run: RunJson, metric: string): string | undefined {
  const o = run.metrics.find((m) => m.id === metric)?.options ?? {};
  const ref = o.reference ?? o.referenceFeatures ?? o.refStats ?? o.dataset;
  return typeof ref === 'string' ? (ref.split(/[\\/]/).pop() ?? ref) : undefined;
}

/**
 * The leaderboard of every run under `root`.
 * @param opts.over `shared` (default): per-image means over the samples a benchmark's runs share; `own`: each
 *   run over its own samples.
 */
export async function leaderboard(root = resultsDir(), opts: { over?: 'shared' | 'own' } = {}): Promise<Leaderboard> {
  const over = opts.over ?? 'shared';
  return memoByRunFiles(`leaderboard|${root}|${over}`, runFilesKey(root), () => computeLeaderboard(root, over));
}

/**
 * The key of the state of every run under `root`: run ids and the stamps of their files (`stampOf`). Null when the
 * runs folder cannot be listed (nothing is cached then; the computation reports the problem).
 */
function runFilesKey(root: string, ids?: readonly string[]): string | null {
  try {
    const list = ids ?? listRunIds(root);
    return JSON.stringify(list.map((id) => [id, stampOf(join(root, 'runs', id))]));
  } catch {
    return null;
  }
}

const pageMemo = new Map<string, { key: string; value: unknown }>();

/**
 * In-memory cache of a derived page (leaderboard, comparison): the bootstrap CIs and paired statistics over
 * thousands of samples cost seconds, and they change only when a run's files change. `key` is the stamp of every
 * file the value was derived from (`stampOf`: mtime, size, inode); a changed key recomputes. Memory only: a read
 * never writes (docs/security.md). Errors are not cached.
 */
export async function memoByRunFiles<T>(slot: string, key: string | null, compute: () => Promise<T>): Promise<T> {
  const hit = key === null ? undefined : pageMemo.get(slot);
  if (hit && hit.key === key) return hit.value as T;
  const value = await compute();
  if (key !== null) {
    if (pageMemo.size >= 64) pageMemo.delete(pageMemo.keys().next().value as string);
    pageMemo.set(slot, { key, value });
  }
  return value;
}

/** The stamp key of the given runs (for `memoByRunFiles`); null when one cannot be stamped. */
export function runsFilesKey(root: string, ids: readonly string[]): string | null {
  return runFilesKey(root, ids);
}

async function computeLeaderboard(root: string, over: 'shared' | 'own'): Promise<Leaderboard> {
  const problems: string[] = [];
  const runs = new Map<string, RunJson>();
  const shards: string[] = [];
  let ids: string[];
  try {
    ids = listRunIds(root);
  } catch (err) {
    // A results root whose runs folder cannot be listed (a file, no permission) is a problem to show, not a 500.
    return { benchmarks: [], problems: [redactPaths((err as Error).message, [[`${root}/`, '']])], shards: [], testWeights: false };
  }
  for (const id of ids) {
    const dir = join(root, 'runs', id);
    try {
      const run = new RunStore(dir).readRunJson();
      if (run.shard) shards.push(`${run.runId} (shard ${run.shard.index + 1} of ${run.shard.count})`);
      else runs.set(dir, run);
    } catch (err) {
      problems.push(redactPaths(`${(err as Error).message} (run not shown)`, [[`${root}/`, '']]));
    }
  }
  const groups = new Map<string, string[]>();
  for (const [dir, run] of runs) groups.set(benchmarkKey(run), [...(groups.get(benchmarkKey(run)) ?? []), dir]);
  const db = await dashboardDb();
  const loaded = await db.sync([...runs.keys()]);
  const benchmarks: BenchmarkBoard[] = [];
  for (const [key, dirs] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const first = runs.get(dirs[0])!;
    const shared = await db.sharedSamples(dirs);
    const differs = dirs.some((d) => loaded.get(d)!.ok !== shared.ids.length);
    const aggs = await db.aggregate(dirs, over === 'shared' ? shared.ids : undefined);
    const info = new Map<string, LeaderColumn>();
    const rows: LeaderRow[] = aggs.map((a) => {
      const run = runs.get(a.runDir)!;
      const byId = new Map(run.metrics.map((m) => [m.id, m]));
      const cells: Record<string, LeaderCell> = {};
      for (const p of a.perSample) {
        const m = p.metric === TIME_METRIC.id ? TIME_METRIC : byId.get(p.metric);
        if (!info.has(p.metric)) info.set(p.metric, { id: p.metric, label: metricLabel(p.metric), higherIsBetter: m?.higherIsBetter ?? true, decimals: m?.decimals ?? 3, set: false });
        const b = bootstrapMean(p.values, BOOTSTRAP_DEFAULTS);
        cells[p.metric] = { value: p.n ? b.mean : null, ci95: b.ci95 ?? null, n: p.n, testWeights: m?.weights === 'test-random-init' };
      }
      for (const s of a.sets) {
        const m = byId.get(s.metric);
        if (!info.has(s.metric)) {
          const reference = referenceOf(run, s.metric);
          info.set(s.metric, { id: s.metric, label: metricLabel(s.metric), higherIsBetter: m?.higherIsBetter ?? false, decimals: m?.decimals ?? 3, set: true, ...(reference ? { reference } : {}) });
        }
        cells[s.metric] = { value: s.value, ci95: null, n: s.n, testWeights: m?.weights === 'test-random-init', ...(s.error ? { error: s.error } : {}) };
      }
      return {
        runId: run.runId,
        restorer: run.restorer.id,
        settings: describeSettings(run),
        tags: tagsOf(run),
        untrained: run.restorer.untrained,
        ok: a.ok,
        error: a.error,
        total: run.dataset.size,
        createdAt: run.createdAt,
        cells,
        problems: [...a.problems, ...summaryProblem(a.runDir)].map((p) => redactPaths(p, [[`${root}/`, '']])),
      };
    });
    const ids = paperOrder(info.keys()).filter((id) => id !== TIME_METRIC.id);
    if (info.has(TIME_METRIC.id)) ids.push(TIME_METRIC.id); // a cost, not a quality: last, as in the paper
    const columns = ids.map((id) => ({ ...info.get(id)!, mode: modeOfColumn(id, dirs.map((d) => runs.get(d)!)) }));
    const best: Record<string, string[]> = {};
    for (const c of columns) {
      const vals = rows.map((r) => ({ id: r.runId, v: r.cells[c.id]?.value })).filter((x): x is { id: string; v: number } => typeof x.v === 'number' && Number.isFinite(x.v));
      if (vals.length < 2) continue; // one run is not a ranking
      const top = c.higherIsBetter ? Math.max(...vals.map((x) => x.v)) : Math.min(...vals.map((x) => x.v));
      best[c.id] = vals.filter((x) => x.v === top).map((x) => x.id);
    }
    rows.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    benchmarks.push({
      key,
      name: [first.dataset.id, first.dataset.level && !first.dataset.id.includes(first.dataset.level) ? first.dataset.level : ''].filter(Boolean).join(' · '),
      level: first.dataset.level ?? null,
      version: first.dataset.version,
      hashes: [...new Set(dirs.map((d) => runs.get(d)!.dataset.hash))],
      shared,
      over,
      differs,
      columns,
      rows,
      best,
      testWeights: rows.some((r) => r.untrained || Object.values(r.cells).some((c) => c.testWeights)),
    });
  }
  return { benchmarks, problems, shards, testWeights: benchmarks.some((b) => b.testWeights) };
}
