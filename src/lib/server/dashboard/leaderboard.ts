/**
 * @file The leaderboard (the dashboard's index page): runs grouped per benchmark (dataset, level, protocol
 * version), every metric as the paper orders its columns, each value with its 95% bootstrap CI, the best value
 * of each column, badges for test-network numbers, and "n shared of N": by default every per-image mean of a
 * benchmark is over the samples all its runs share (same sample id AND input hash; `ResultsDb.sharedSamples`),
 * so the rows compare the same images. `over: 'own'` shows each run over its own samples instead, with a warning.
 *
 * All numbers come from the read model's `ResultsDb` (DuckDB over the rows the store validated), turned into cells by
 * metric-cells.ts. The table is cached until any run's files change (`resultsFolderKey`); each run's row is cached
 * under its own files' stamp, so a run being written recomputes only its row.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { RunJson } from '../../eval/results/schema.ts';
import type { RunAggregate, SharedSamples } from '../results/query.ts';
import { listRunIds, RunStore } from '../results/store.ts';
import { resultsFolderKey } from './cache.ts';
import type { ReadContext } from './context.ts';
import { metricCells, orderColumns, type MetricCell, type MetricColumn, type RunCells } from './metric-cells.ts';
import { describeSettings } from './run-page.ts';
import { redactPaths } from './serve-file.ts';

/** One column of a benchmark's table. */
export type LeaderColumn = MetricColumn;

/** One value of one run. */
export type LeaderCell = MetricCell;

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

/**
 * The leaderboard of every run of the results folder, cached until any run's files change.
 * @param over `shared` (default): per-image means over the samples a benchmark's runs share; `own`: each run over
 *   its own samples.
 */
export async function leaderboard(ctx: ReadContext, over: 'shared' | 'own' = 'shared'): Promise<Leaderboard> {
  return ctx.pages.get(`leaderboard|${over}`, resultsFolderKey(ctx.root), () => computeLeaderboard(ctx, over));
}

/** The runs of the results folder by directory (shards apart), and what could not be read. */
function readRuns(root: string): { runs: Map<string, RunJson>; shards: string[]; problems: string[] } {
  const runs = new Map<string, RunJson>();
  const shards: string[] = [];
  const problems: string[] = [];
  for (const id of listRunIds(root)) {
    const dir = join(root, 'runs', id);
    try {
      const run = new RunStore(dir).readRunJson();
      if (run.shard) shards.push(`${run.runId} (shard ${run.shard.index + 1} of ${run.shard.count})`);
      else runs.set(dir, run);
    } catch (err) {
      problems.push(redactPaths(`${(err as Error).message} (run not shown)`, [[`${root}/`, '']]));
    }
  }
  return { runs, shards, problems };
}

async function computeLeaderboard(ctx: ReadContext, over: 'shared' | 'own'): Promise<Leaderboard> {
  let read: ReturnType<typeof readRuns>;
  try {
    read = readRuns(ctx.root);
  } catch (err) {
    // A results root whose runs folder cannot be listed (a file, no permission) is a problem to show, not a 500.
    return { benchmarks: [], problems: [redactPaths((err as Error).message, [[`${ctx.root}/`, '']])], shards: [], testWeights: false };
  }
  const { runs, shards, problems } = read;
  const groups = new Map<string, string[]>();
  for (const [dir, run] of runs) groups.set(benchmarkKey(run), [...(groups.get(benchmarkKey(run)) ?? []), dir]);
  const db = await ctx.db();
  const loaded = await db.sync([...runs.keys()]);
  const benchmarks: BenchmarkBoard[] = [];
  for (const [key, dirs] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const shared = await db.sharedSamples(dirs);
    const differs = dirs.some((d) => loaded.get(d)!.ok !== shared.ids.length);
    const overIds = over === 'shared' ? shared.ids : undefined;
    // Each run's row is cached under its own stamp and the samples it is over: a run being written recomputes only
    // its own row (and every row of its benchmark only when the shared samples change).
    const overKey = overIds ? createHash('sha256').update(overIds.join('\n')).digest('hex') : 'own';
    const rows: RunRow[] = [];
    for (const d of dirs) {
      const compute = async () => runRow(ctx, runs.get(d)!, (await db.aggregate([d], overIds))[0]);
      rows.push(await ctx.runRows.get(`${d}|${over}`, `${loaded.get(d)!.stamp}|${overKey}`, compute) as RunRow);
    }
    benchmarks.push(board(key, dirs.map((d) => runs.get(d)!), rows, { shared, over, differs }));
  }
  return { benchmarks, problems, shards, testWeights: benchmarks.some((b) => b.testWeights) };
}

/** One run's row and its cells (with the columns as this run describes them). */
interface RunRow {
  readonly row: LeaderRow;
  readonly cells: RunCells;
}

function runRow(ctx: ReadContext, run: RunJson, a: RunAggregate): RunRow {
  const cells = metricCells(run, a, (n) => ctx.resamples(n));
  const row: LeaderRow = {
    runId: run.runId,
    restorer: run.restorer.id,
    settings: describeSettings(run),
    tags: tagsOf(run),
    untrained: run.restorer.untrained,
    ok: a.ok,
    error: a.error,
    total: run.dataset.size,
    createdAt: run.createdAt,
    cells: cells.cells,
    problems: [...a.problems, ...summaryProblem(a.runDir)].map((p) => redactPaths(p, [[`${ctx.root}/`, '']])),
  };
  return { row, cells };
}

/** One benchmark's table from its runs and their rows (both in `dirs` order). */
function board(key: string, runs: readonly RunJson[], perRun: readonly RunRow[], o: Pick<BenchmarkBoard, 'shared' | 'over' | 'differs'>): BenchmarkBoard {
  const rows = perRun.map((r) => r.row);
  const columns = orderColumns(perRun.map((r) => r.cells), runs);
  const best = bestOf(columns, rows);
  rows.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const first = runs[0];
  return {
    key,
    name: [first.dataset.id, first.dataset.level && !first.dataset.id.includes(first.dataset.level) ? first.dataset.level : ''].filter(Boolean).join(' · '),
    level: first.dataset.level ?? null,
    version: first.dataset.version,
    hashes: [...new Set(runs.map((r) => r.dataset.hash))],
    ...o,
    columns,
    rows,
    best,
    testWeights: rows.some((r) => r.untrained || Object.values(r.cells).some((c) => c.testWeights)),
  };
}

/** Column id → the runs holding its best value (direction respected; ties all marked; one run is no ranking). */
export function bestOf(columns: readonly MetricColumn[], rows: readonly Pick<LeaderRow, 'runId' | 'cells'>[]): Record<string, string[]> {
  const best: Record<string, string[]> = {};
  for (const c of columns) {
    const vals = rows.map((r) => ({ id: r.runId, v: r.cells[c.id]?.value })).filter((x): x is { id: string; v: number } => typeof x.v === 'number' && Number.isFinite(x.v));
    if (vals.length < 2) continue;
    const top = c.higherIsBetter ? Math.max(...vals.map((x) => x.v)) : Math.min(...vals.map((x) => x.v));
    best[c.id] = vals.filter((x) => x.v === top).map((x) => x.id);
  }
  return best;
}
