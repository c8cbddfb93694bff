/**
 * @file What the dashboard shows, computed on the server from run directories: the runs index (aggregates through
 * DuckDB, facts from run.json), one run's samples with their input files, and cross-run comparisons. The routes
 * call only these functions (realworld's one-I/O-module rule); image bytes are served by `imageFile`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SampleRef } from '../../eval/datasets/types.ts';
import { SummarySchema, type RunJson, type SampleLine, type Summary } from '../../eval/results/schema.ts';
import { DATASETS } from '../datasets/index.ts';
import { aggregateRuns } from '../results/query.ts';
import { listRunIds, resolveRunDir, RunStore } from '../results/store.ts';

/** The results root the dashboard reads: `REFBENCH_RESULTS_DIR` or `./results`. */
export function resultsDir(): string {
  return resolve(process.env.REFBENCH_RESULTS_DIR ?? 'results');
}

export interface MetricCell {
  readonly id: string;
  readonly value: number | null;
  readonly n: number;
  readonly ci95: readonly [number, number] | null;
  readonly decimals: number;
  readonly higherIsBetter: boolean;
  readonly testWeights: boolean;
}

export interface RunRow {
  readonly runId: string;
  readonly restorer: string;
  readonly settings: string;
  readonly dataset: string;
  /** `(dataset id, version, content hash)`: runs are comparable only within one group (STYLE.md 2.6). */
  readonly group: string;
  readonly datasetHash: string;
  readonly ok: number;
  readonly error: number;
  readonly total: number;
  readonly untrained: boolean;
  readonly createdAt: string;
  readonly metrics: MetricCell[];
}

function readSummary(dir: string): Summary | null {
  const p = join(dir, 'summary.json');
  if (!existsSync(p)) return null;
  const r = SummarySchema.safeParse(JSON.parse(readFileSync(p, 'utf8')));
  return r.success ? r.data : null;
}

/** A short human description of a restorer's settings (refs, steps, design...). */
export function describeSettings(run: RunJson): string {
  const s = run.restorer.settings;
  const keys = ['design', 'maxRefs', 'zeroRefs', 'steps', 'schedule', 'cfg', 'config'];
  return keys
    .filter((k) => s[k] !== undefined && s[k] !== null)
    .map((k) => `${k}=${String(s[k])}`)
    .join(' ');
}

/**
 * Every run under the results root, newest first, with DuckDB aggregates (coverage from the JSONL files) and
 * the CI / direction / weights facts of summary.json.
 */
export async function listRuns(root = resultsDir()): Promise<RunRow[]> {
  const ids = listRunIds(root);
  const dirs = ids.map((id) => join(root, 'runs', id));
  const aggs = await aggregateRuns(dirs);
  const rows: RunRow[] = [];
  dirs.forEach((dir, i) => {
    const store = new RunStore(dir);
    let run: RunJson;
    try {
      run = store.readRunJson();
    } catch {
      return; // unreadable run.json: `refbench ls` reports it; the dashboard skips it
    }
    const summary = readSummary(dir);
    const agg = aggs[i];
    const byId = new Map(run.metrics.map((m) => [m.id, m]));
    const ids = new Set([...agg.perSample.map((m) => m.metric), ...agg.sets.map((m) => m.metric), ...Object.keys(summary?.metrics ?? {})]);
    const metrics: MetricCell[] = [...ids].sort().map((id) => {
      const ps = agg.perSample.find((m) => m.metric === id);
      const set = agg.sets.find((m) => m.metric === id);
      const sm = summary?.metrics[id];
      const info = byId.get(id);
      return {
        id,
        value: ps ? ps.mean : set ? set.value : (sm?.value ?? null),
        n: ps ? ps.n : set ? set.n : (sm?.n ?? 0),
        ci95: sm?.ci95 ?? null,
        decimals: sm?.decimals ?? info?.decimals ?? 3,
        higherIsBetter: sm?.higherIsBetter ?? info?.higherIsBetter ?? true,
        testWeights: (sm?.weights ?? info?.weights) === 'test-random-init',
      };
    });
    rows.push({
      runId: run.runId,
      restorer: run.restorer.id,
      settings: describeSettings(run),
      dataset: run.dataset.id,
      group: `${run.dataset.id}@${run.dataset.version}#${run.dataset.hash.slice(0, 8)}`,
      datasetHash: run.dataset.hash,
      ok: agg.ok,
      error: agg.error,
      total: run.dataset.size,
      untrained: run.restorer.untrained,
      createdAt: run.createdAt,
      metrics,
    });
  });
  return rows.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export interface SampleView {
  readonly sampleId: string;
  readonly status: SampleLine['status'];
  readonly error?: string;
  readonly metrics: Record<string, number>;
  readonly timeMs?: number;
  readonly numRefs: number;
  readonly hasGt: boolean;
}

export interface RunDetail {
  readonly run: RunJson;
  readonly summary: Summary | null;
  readonly samples: SampleView[];
  readonly problems: string[];
}

/** Lists the dataset's samples again from run.json's resolved spec (paths are not stored per line). */
async function datasetSamples(run: RunJson): Promise<Map<string, SampleRef>> {
  const ds = (run.spec as { dataset?: { adapter?: string; options?: Record<string, unknown> } }).dataset;
  if (!ds?.adapter || !DATASETS.has(ds.adapter)) return new Map();
  try {
    const dataset = await (DATASETS.get(ds.adapter))(ds.options ?? {});
    return new Map((await dataset.samples()).map((s) => [s.id, s]));
  } catch {
    return new Map();
  }
}

/** One run: run.json, summary.json and every sample's latest line. */
export async function runDetail(runId: string, root = resultsDir()): Promise<RunDetail> {
  const dir = resolveRunDir(root, runId);
  const store = new RunStore(dir);
  const run = store.readRunJson();
  const state = store.readSamples();
  const refs = await datasetSamples(run);
  const samples = [...state.latest.values()]
    .sort((a, b) => a.sampleId.localeCompare(b.sampleId))
    .map((l) => ({
      sampleId: l.sampleId,
      status: l.status,
      error: l.error,
      metrics: l.metrics,
      timeMs: l.metrics['time-ms'],
      numRefs: l.numRefs ?? refs.get(l.sampleId)?.refs.length ?? 0,
      hasGt: Boolean(refs.get(l.sampleId)?.gt),
    }));
  return { run, summary: readSummary(dir), samples, problems: state.problems.map((p) => `${p.file}:${p.line}: ${p.message}`) };
}

/** Which image of a sample: the restored output, the LQ input, the ground truth or the i-th reference. */
export type ImageKind = 'output' | 'lq' | 'gt' | `ref-${number}`;

/**
 * Resolves the file behind one image of one sample of one run.
 * @throws Error (→ 404) when the run, sample or image does not exist.
 */
export async function imageFile(runId: string, sampleId: string, kind: string, root = resultsDir()): Promise<string> {
  const dir = resolveRunDir(root, runId);
  const store = new RunStore(dir);
  if (kind === 'output') {
    const line = store.readSamples().latest.get(sampleId);
    if (!line?.output) throw new Error(`run ${runId}: sample '${sampleId}' has no output`);
    return store.outputPath(line.output);
  }
  const s = (await datasetSamples(store.readRunJson())).get(sampleId);
  if (!s) throw new Error(`run ${runId}: sample '${sampleId}' is not in its dataset`);
  const m = /^ref-(\d+)$/.exec(kind);
  const path = kind === 'lq' ? s.lq : kind === 'gt' ? s.gt : m ? s.refs[Number(m[1])] : undefined;
  if (!path) throw new Error(`run ${runId}: sample '${sampleId}' has no image '${kind}'`);
  return path;
}

export interface Comparison {
  readonly runs: RunRow[];
  readonly sampleIds: string[];
  /** runId → sampleId → metric value of `metric`. */
  readonly values: Record<string, Record<string, number>>;
  /** Set when the runs come from different (dataset, version, content hash) groups. */
  readonly warning: string | null;
}

/** Side-by-side data for several runs and one metric. */
export async function compareRuns(runIds: readonly string[], metric: string, root = resultsDir()): Promise<Comparison> {
  const all = await listRuns(root);
  const runs = runIds.map((id) => {
    const r = all.find((x) => x.runId === id);
    if (!r) throw new Error(`unknown run '${id}'`);
    return r;
  });
  const values: Record<string, Record<string, number>> = {};
  const ids = new Set<string>();
  for (const r of runs) {
    const state = new RunStore(join(root, 'runs', r.runId)).readSamples();
    values[r.runId] = {};
    for (const l of state.latest.values()) {
      if (l.status !== 'ok') continue;
      ids.add(l.sampleId);
      const v = l.metrics[metric];
      if (typeof v === 'number') values[r.runId][l.sampleId] = v;
    }
  }
  const groups = new Set(runs.map((r) => r.group));
  return {
    runs,
    sampleIds: [...ids].sort(),
    values,
    warning: groups.size > 1 ? `These runs use different inputs (${[...groups].join(' vs ')}): their numbers are not comparable.` : null,
  };
}
