/**
 * @file The per-sample data of a static snapshot (`refbench dashboard --static`): for each benchmark, every run's
 * samples (id, status, input hash), its per-sample metric values (the value that wins in the store, eval.jsonl over
 * samples.jsonl, as `ResultsDb` resolves it) and its set metrics, plus each metric's label, direction and decimals.
 * The snapshot's script computes compare from these in the browser with src/lib/eval/stats (the code the server
 * uses). Read through src/lib/server/results; columns and run labels are described by the live pages' own code
 * (metric-cells.ts `metricColumn`, run-page.ts `runLabel`), so the snapshot cannot disagree with them.
 */
import { join } from 'node:path';
import type { RunJson } from '../../../eval/results/schema.ts';
import { TIME_METRIC } from '../../../eval/results/schema.ts';
import { modeOf, type MetricMode } from '../../../eval/metrics/conventions.ts';
import { paperOrder } from '../../../metric-columns.ts';
import { metricConventions } from '../../metrics/index.ts';
import { ResultsDb } from '../../results/query.ts';
import { RunStore, runsRoot } from '../../results/store.ts';
import { metricColumn, type MetricColumn } from '../metric-cells.ts';
import { runLabel, type RunLabel } from '../run-page.ts';

/** A metric's column as the snapshot shows it: the live tables' column (metric-cells.ts), without its mode. */
export type StaticMetric = Omit<MetricColumn, 'mode'>;

/** A run: its label as the live compare page has it (settings: every one), then its samples and values. */
export interface StaticRun extends RunLabel {
  /** Metric ids whose values come from test (random-init) weights. */
  readonly testWeights: readonly string[];
  /** [sampleId, status, inputHash | null], by sample id. */
  readonly samples: readonly (readonly [string, string, string | null])[];
  /** metric → value per entry of `samples` (null: none there). */
  readonly values: Readonly<Record<string, readonly (number | null)[]>>;
  readonly sets: Readonly<Record<string, { readonly value: number | null; readonly n: number; readonly error?: string }>>;
  /**
   * metric → its exact mode in this run (eval/metrics/conventions.ts `modeOf`, as the live dashboard computes it):
   * the snapshot's compare groups the compared runs' modes into each header's mode.
   */
  readonly modes: Readonly<Record<string, MetricMode>>;
}

export interface StaticBenchmark {
  readonly key: string;
  readonly name: string;
  /** Every metric of these runs, in the dashboard's column order (paper order, time last). */
  readonly metrics: readonly StaticMetric[];
  readonly runs: readonly StaticRun[];
}

/** The benchmark a run belongs to, as the compare page names it (dataset id, level, protocol version). */
export function benchmarkName(run: RunJson): string {
  return `${run.dataset.id}${run.dataset.level && !run.dataset.id.includes(run.dataset.level) ? ` · ${run.dataset.level}` : ''} (v${run.dataset.version})`;
}

function settingsOf(run: RunJson): string {
  return Object.entries(run.restorer.settings ?? {})
    .map(([k, v]) => `${k}:${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}

/**
 * Reads the runs (ids under `resultsDir`/runs) and groups them by benchmark.
 * @throws Error naming the run whose run.json cannot be read.
 */
export async function readStaticData(resultsDir: string, runIds: readonly string[]): Promise<StaticBenchmark[]> {
  const db = await ResultsDb.open();
  try {
    const groups = new Map<string, { name: string; runs: StaticRun[]; metrics: Map<string, StaticMetric> }>();
    for (const runId of runIds) {
      const dir = join(runsRoot(resultsDir), runId);
      const store = new RunStore(dir);
      let run: RunJson;
      try {
        run = store.readRunJson();
      } catch (err) {
        throw new Error(`run '${runId}': ${(err as Error).message}`);
      }
      await db.sync([dir]);
      const latest = [...store.readSamples().latest.values()].sort((a, b) => (a.sampleId < b.sampleId ? -1 : a.sampleId > b.sampleId ? 1 : 0));
      const ids = latest.map((l) => l.sampleId);
      const values: Record<string, (number | null)[]> = {};
      for (const m of await db.metricsOf([dir])) values[m] = (await db.values([dir], m, ids)).get(dir)!;
      const [agg] = await db.aggregate([dir]);
      const sets: Record<string, { value: number | null; n: number; error?: string }> = {};
      for (const s of agg.sets) sets[s.metric] = { value: s.value, n: s.n, ...(s.error ? { error: s.error } : {}) };
      const name = benchmarkName(run);
      const g = groups.get(name) ?? { name, runs: [], metrics: new Map<string, StaticMetric>() };
      groups.set(name, g);
      const byId = new Map(run.metrics.map((m) => [m.id, m]));
      for (const id of Object.keys(values)) {
        if (!g.metrics.has(id)) g.metrics.set(id, metricColumn(id, id === TIME_METRIC.id ? TIME_METRIC : byId.get(id), false));
      }
      for (const id of Object.keys(sets)) if (!g.metrics.has(id)) g.metrics.set(id, metricColumn(id, byId.get(id), true));
      g.runs.push({
        ...runLabel(run, settingsOf(run)),
        // The folder's id (run.json's runId names the same run).
        runId,
        testWeights: run.metrics.filter((m) => m.weights === 'test-random-init').map((m) => m.id),
        samples: latest.map((l) => [l.sampleId, l.status, l.inputHash ?? null] as const),
        values,
        sets,
        // Every metric the run recorded, and time (every run has it), as src/lib/server/dashboard/leaderboard.ts
        // `modeOfColumn` takes them.
        modes: Object.fromEntries([...run.metrics.filter((m) => m.id !== TIME_METRIC.id), TIME_METRIC].map((m) => [m.id, modeOf(m.id, m, metricConventions(m.id))])),
      });
    }
    return [...groups.values()].map((g, i) => {
      const order = paperOrder(g.metrics.keys()).filter((id) => id !== TIME_METRIC.id);
      if (g.metrics.has(TIME_METRIC.id)) order.push(TIME_METRIC.id);
      return { key: `b${i}`, name: g.name, metrics: order.map((id) => g.metrics.get(id)!), runs: g.runs };
    });
  } finally {
    db.close();
  }
}
