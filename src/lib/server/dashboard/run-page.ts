/**
 * @file The run page's data (route `/runs/<id>`): run.json, summary.json and every sample's latest line, a page of
 * them with the thumbnails that are missing, and the image files behind each pane (`imageFile`). Routes reach it
 * through read-model.ts.
 *
 * Serving is read-only: datasets are opened through the read-only registry (`DATASETS`, which can list samples
 * but never generate, write or delete), and every id and file goes through `serve-file.ts` (run ids are ids,
 * files must lie inside the results folder or the run's declared dataset folders, images by magic bytes).
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SampleRef } from '../../eval/datasets/types.ts';
import type { RunJson, SampleLine, Summary } from '../../eval/results/schema.ts';
import type { ColumnMode } from '../../eval/metrics/conventions.ts';
import { DATASETS } from '../datasets/index.ts';
import { problemText, RunStore } from '../results/store.ts';
import type { ReadContext } from './context.ts';
import { modeOfColumn } from './metric-cells.ts';
import { DashboardError, dashboardRunDir, readServableImage, realRoots, redactPaths, type ServedImage } from './serve-file.ts';

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

/** How a table of runs names a run (compare, and the static snapshot's compare and browser). */
export interface RunLabel {
  readonly runId: string;
  /** The spec's name (the run id without its hash): the run's label in tables and plots. */
  readonly name: string;
  readonly restorer: string;
  readonly settings: string;
  readonly tags: readonly string[];
  readonly untrained: boolean;
}

/** A run's label, its settings as the caller describes them (`describeSettings`, or every setting). */
export function runLabel(run: RunJson, settings: string): RunLabel {
  return {
    runId: run.runId,
    name: typeof run.spec.name === 'string' ? run.spec.name : run.runId,
    restorer: run.restorer.id,
    settings,
    tags: Array.isArray((run.spec as { tags?: unknown }).tags) ? (run.spec as { tags: unknown[] }).tags.map(String) : [],
    untrained: run.restorer.untrained,
  };
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

/**
 * Lists the dataset's samples again from run.json's resolved spec (paths are not stored per line), through the
 * read-only dataset registry: nothing is ever generated or written here. Recent listings are shared (keyed by run
 * folder + run.json stamp): the ~100 image requests of one page list the dataset once.
 */
function datasetView(ctx: ReadContext, dir: string, run: RunJson): Promise<DatasetView> {
  const st = statSync(join(dir, 'run.json'), { throwIfNoEntry: false });
  return ctx.datasets.get(`${dir}|${st?.mtimeMs}|${st?.size}`, () => listDataset(run)) as Promise<DatasetView>;
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
export async function runDetail(ctx: ReadContext, runId: string): Promise<RunDetail> {
  const root = ctx.root;
  const { dir, store, run } = openRun(runId, root);
  const state = store.readSamples();
  const view = await datasetView(ctx, dir, run);
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
export async function imageFile(ctx: ReadContext, runId: string, sampleId: string, kind: string): Promise<ServedImage> {
  const root = ctx.root;
  const m = /^ref-(\d{1,3})$/.exec(kind);
  if (kind !== 'output' && kind !== 'lq' && kind !== 'gt' && !m) throw new DashboardError(400, `unknown image kind '${kind}' (output, lq, gt or ref-<i>)`);
  const { dir, store, run } = openRun(runId, root);
  const what = `run '${runId}': the ${kind} image of sample '${sampleId}'`;
  if (kind === 'output') {
    const line = store.readSamples().latest.get(sampleId);
    if (!line?.output) throw new DashboardError(404, `run '${runId}': sample '${sampleId}' has no output`);
    return readServableImage(join(dir, line.output), await realRoots([root]), what);
  }
  const view = await datasetView(ctx, dir, run);
  const s = view.samples.get(sampleId);
  if (!s) throw new DashboardError(404, view.problem ? `run '${runId}': its dataset cannot be listed (see the run page)` : `run '${runId}': sample '${sampleId}' is not in its dataset`);
  const path = kind === 'lq' ? s.lq : kind === 'gt' ? s.gt : s.refs[Number(m![1])];
  if (!path) throw new DashboardError(404, `run '${runId}': sample '${sampleId}' has no image '${kind}'`);
  return readServableImage(path, await realRoots([root, ...view.roots]), what);
}

/** Samples per page of the run page. */
export const RUN_PAGE_SIZE = 24;

/** The run page: the run, one page of its samples (`?page=`, or the page holding `?sample=`), and the modes. */
export interface RunPage extends RunDetail {
  readonly page: number;
  readonly pages: number;
  readonly totalSamples: number;
  /** Thumbnails missing among this page's images (the page then says so). */
  readonly missingThumbs: number;
  readonly testWeights: boolean;
  /** The exact mode of each metric of the summary table (shown on its name). */
  readonly modes: Record<string, ColumnMode>;
}

/**
 * The run page for the URL's query. `countMissingThumbs` counts the images of a page without a thumbnail
 * (browse.ts `missingThumbs`, passed in by the read model).
 */
export async function runPage(
  ctx: ReadContext,
  runId: string,
  params: URLSearchParams,
  countMissingThumbs: (images: readonly (readonly [string, readonly string[]])[]) => number,
): Promise<RunPage> {
  const detail = await runDetail(ctx, runId);
  // ?sample=<id> (a link from a plot or a table) opens the page that holds that sample.
  const sample = params.get('sample');
  const at = sample !== null && !params.has('page') ? detail.samples.findIndex((s) => s.sampleId === sample) : -1;
  const page = at >= 0 ? Math.floor(at / RUN_PAGE_SIZE) : Math.max(0, Number(params.get('page') ?? 0) || 0);
  const samples = detail.samples.slice(page * RUN_PAGE_SIZE, (page + 1) * RUN_PAGE_SIZE);
  const kinds = (s: SampleView) => ['lq', ...(s.status === 'ok' ? ['output'] : []), ...(s.hasGt ? ['gt'] : []), ...Array.from({ length: s.numRefs }, (_, i) => `ref-${i}`)];
  return {
    ...detail,
    samples,
    page,
    pages: Math.max(1, Math.ceil(detail.samples.length / RUN_PAGE_SIZE)),
    totalSamples: detail.samples.length,
    missingThumbs: countMissingThumbs(samples.map((s) => [s.sampleId, kinds(s)] as const)),
    testWeights: detail.run.restorer.untrained || detail.run.metrics.some((m) => m.weights === 'test-random-init'),
    modes: Object.fromEntries(Object.keys(detail.summary?.metrics ?? {}).map((id) => [id, modeOfColumn(id, [detail.run])])),
  };
}
