/**
 * @file What the dashboard shows, computed on the server from run directories: the runs index (aggregates through
 * DuckDB, facts from run.json), one run's samples with their input files, and cross-run comparisons. The routes
 * call only these functions (realworld's one-I/O-module rule); image bytes are served by `imageFile`.
 *
 * Serving is read-only: datasets are opened through the read-only registry (`DATASETS`, which can list samples
 * but never generate, write or delete), and every id and file goes through `serve-file.ts` (run ids are ids,
 * files must lie inside the results folder or the run's declared dataset folders, images by magic bytes).
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SampleRef } from '../../eval/datasets/types.ts';
import type { RunJson, SampleLine, Summary } from '../../eval/results/schema.ts';
import { DATASETS } from '../datasets/index.ts';
import { aggregateRuns } from '../results/query.ts';
import { listRunIds, problemText, RunStore } from '../results/store.ts';
import { DashboardError, dashboardRunDir, readServableImage, realRoots, redactPaths, type ServedImage } from './serve-file.ts';

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
  /** A set metric recorded as failed (eval.jsonl) instead of a value. */
  readonly error?: string;
}

export interface RunRow {
  readonly runId: string;
  readonly restorer: string;
  readonly settings: string;
  readonly dataset: string;
  /** `(dataset id, version, content hash)`: runs are comparable only within one group (docs/architecture.md §5). */
  readonly group: string;
  readonly datasetHash: string;
  readonly ok: number;
  readonly error: number;
  readonly total: number;
  readonly untrained: boolean;
  readonly createdAt: string;
  readonly metrics: MetricCell[];
  /** What could not be read for this run (bad lines, a corrupt summary.json), as `file[:line]: message`. */
  readonly problems: string[];
}

/**
 * A problem as the dashboard shows it: paths relative to the results folder (`runs/<id>/samples.jsonl:4: …`), any
 * other absolute path redacted (error bodies never reveal where files live; docs/security.md).
 */
function forDashboard(problem: string, root: string): string {
  return redactPaths(problem, [[`${resolve(root)}/`, '']]);
}

/** summary.json through the store (schema-checked); a missing file is null, a bad one a problem (never a 500). */
function readSummary(store: RunStore, problems: string[]): Summary | null {
  try {
    return store.readSummary();
  } catch (err) {
    problems.push(`${(err as Error).message} (summary ignored; \`refbench eval\` or a re-run rewrites it)`);
    return null;
  }
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

/** The runs index: every readable run, and what could not be read (runs skipped, with file and reason). */
export interface RunsIndex {
  readonly runs: RunRow[];
  /** Runs left out because their run.json is unreadable, as `file: message`. */
  readonly problems: string[];
}

/**
 * Every run under the results root, newest first, with DuckDB aggregates (coverage from the JSONL files, read
 * through the store's validation) and the CI / direction / weights facts of summary.json. A run whose files are
 * partly bad is shown with its problems; one whose run.json is unreadable is listed in `problems`.
 */
export async function runsIndex(root = resultsDir()): Promise<RunsIndex> {
  let ids: string[];
  try {
    ids = listRunIds(root);
  } catch (err) {
    return { runs: [], problems: [forDashboard((err as Error).message, root)] };
  }
  const dirs = ids.map((id) => join(root, 'runs', id));
  const aggs = await aggregateRuns(dirs);
  const rows: RunRow[] = [];
  const skipped: string[] = [];
  dirs.forEach((dir, i) => {
    const store = new RunStore(dir);
    let run: RunJson;
    try {
      run = store.readRunJson();
    } catch (err) {
      skipped.push(forDashboard(`${(err as Error).message} (run not shown)`, root));
      return;
    }
    const agg = aggs[i];
    const problems = [...agg.problems];
    const summary = readSummary(store, problems);
    problems.forEach((p, k) => (problems[k] = forDashboard(p, root)));
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
        ...(set?.error ? { error: set.error } : !ps && !set && sm?.error ? { error: sm.error } : {}),
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
      problems,
    });
  });
  return { runs: rows.sort((a, b) => b.createdAt.localeCompare(a.createdAt)), problems: skipped };
}

/** The readable runs of `runsIndex`, newest first. */
export async function listRuns(root = resultsDir()): Promise<RunRow[]> {
  return (await runsIndex(root)).runs;
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

/** A run's dataset as the dashboard sees it: its samples, the folders declared for it, or why it cannot be listed. */
interface DatasetView {
  readonly samples: Map<string, SampleRef>;
  /** run.json's dataset root plus the folders the adapter reads, as declared by run.json's spec options. */
  readonly roots: readonly string[];
  /** Why the samples could not be listed (paths redacted), or null. */
  readonly problem: string | null;
}

/** Recent dataset listings, keyed by run folder + run.json stamp: the ~100 image requests of one page share one. */
const VIEWS = new Map<string, { at: number; view: Promise<DatasetView> }>();
const VIEW_TTL_MS = 10_000;

/**
 * Lists the dataset's samples again from run.json's resolved spec (paths are not stored per line), through the
 * read-only dataset registry: nothing is ever generated or written here.
 */
async function datasetView(dir: string, run: RunJson): Promise<DatasetView> {
  const st = statSync(join(dir, 'run.json'), { throwIfNoEntry: false });
  const key = `${dir}|${st?.mtimeMs}|${st?.size}`;
  const now = Date.now();
  for (const [k, v] of VIEWS) if (now - v.at > VIEW_TTL_MS) VIEWS.delete(k);
  let hit = VIEWS.get(key);
  if (!hit) {
    hit = { at: now, view: listDataset(run) };
    VIEWS.set(key, hit);
  }
  return hit.view;
}

async function listDataset(run: RunJson): Promise<DatasetView> {
  const ds = (run.spec as { dataset?: { adapter?: string; options?: Record<string, unknown> } }).dataset;
  const declared = [run.dataset.root];
  const known: [string, string][] = [[run.dataset.root, `<${run.dataset.adapter} root>`]];
  if (!ds?.adapter || !DATASETS.has(ds.adapter)) {
    return { samples: new Map(), roots: declared, problem: `dataset adapter '${ds?.adapter ?? '?'}' is not available in this refbench; its images cannot be shown` };
  }
  try {
    const dataset = await DATASETS.get(ds.adapter)(ds.options ?? {});
    const samples = new Map((await dataset.samples()).map((s) => [s.id, s]));
    return { samples, roots: [...declared, ...(dataset.roots ?? [dataset.info.root])], problem: null };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return { samples: new Map(), roots: declared, problem: `dataset '${ds.adapter}' cannot be listed, so its images are not shown: ${redactPaths(msg, known)}` };
  }
}

/** Opens a run for the dashboard: the id must be an existing run id (serve-file.ts). */
function openRun(runId: string, root: string): { dir: string; store: RunStore; run: RunJson } {
  const dir = dashboardRunDir(root, runId);
  const store = new RunStore(dir);
  try {
    return { dir, store, run: store.readRunJson() };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // NOTE: 422, not 500: the server works, the run's own run.json is unusable, and the message says why.
    throw new DashboardError(422, `run '${runId}': ${redactPaths(msg, [[join(dir, 'run.json'), `runs/${runId}/run.json`]])}`);
  }
}

/** One run: run.json, summary.json and every sample's latest line. */
export async function runDetail(runId: string, root = resultsDir()): Promise<RunDetail> {
  const { dir, store, run } = openRun(runId, root);
  const state = store.readSamples();
  const view = await datasetView(dir, run);
  const refs = view.samples;
  const problems = state.problems.map(problemText);
  const summary = readSummary(store, problems);
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
  if (view.problem) problems.push(view.problem);
  return { run, summary, samples, problems: problems.map((p) => forDashboard(p, root)) };
}

/** Which image of a sample: the restored output, the LQ input, the ground truth or the i-th reference. */
export type ImageKind = 'output' | 'lq' | 'gt' | `ref-${number}`;

/**
 * Reads one image of one sample of one run for serving: the file must lie (after realpath) inside the results
 * folder or one of the dataset folders the run's run.json declares, and be an image by its magic bytes.
 * @throws DashboardError (404 unknown run/sample/image, 400 bad kind, 403 outside the allowed folders, 415 not
 *   an image); messages never hold a path.
 */
export async function imageFile(runId: string, sampleId: string, kind: string, root = resultsDir()): Promise<ServedImage> {
  const m = /^ref-(\d{1,3})$/.exec(kind);
  if (kind !== 'output' && kind !== 'lq' && kind !== 'gt' && !m) throw new DashboardError(400, `unknown image kind '${kind}' (output, lq, gt or ref-<i>)`);
  const { dir, store, run } = openRun(runId, root);
  const what = `run '${runId}': the ${kind} image of sample '${sampleId}'`;
  if (kind === 'output') {
    const line = store.readSamples().latest.get(sampleId);
    if (!line?.output) throw new DashboardError(404, `run '${runId}': sample '${sampleId}' has no output`);
    return readServableImage(join(dir, line.output), await realRoots([root]), what);
  }
  const view = await datasetView(dir, run);
  const s = view.samples.get(sampleId);
  if (!s) throw new DashboardError(404, view.problem ? `run '${runId}': its dataset cannot be listed (see the run page)` : `run '${runId}': sample '${sampleId}' is not in its dataset`);
  const path = kind === 'lq' ? s.lq : kind === 'gt' ? s.gt : s.refs[Number(m![1])];
  if (!path) throw new DashboardError(404, `run '${runId}': sample '${sampleId}' has no image '${kind}'`);
  return readServableImage(path, await realRoots([root, ...view.roots]), what);
}
