/**
 * @file The image browser's data (route `/browse`): one sample of several runs, the samples they share, sorted and
 * filtered by a metric or by its Δ against a baseline run, and each image's thumbnail. Pure reads: run files are
 * read through the store and cached in the read model's memory by file mtime + size (nothing is ever written;
 * thumbnails are made by `run` / `refbench thumbs`, `results/thumbs-write.ts`).
 *
 * NOTE: the shared-samples rule (same sample id AND same input hash, status ok in every run) is a local helper
 * here (`sharedSamples`); the compare page's own version lives with the compare page. Both follow issue 8's
 * definition, so the two pages agree on "n shared of N".
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricInfo, RunJson, SampleLine } from '../../eval/results/schema.ts';
import { listRunIds, problemText, RunStore, runsRoot, type JsonlProblem } from '../results/store.ts';
import { thumbFile, thumbIndex, type ThumbIndex } from '../results/thumbs.ts';
import type { ReadContext } from './context.ts';
import { DashboardError, dashboardRunDir, readServableImage, realRoots, redactPaths, type ServedImage } from './serve-file.ts';

/** What one run's files say, parsed once per (file, mtime, size). */
interface RunFacts {
  readonly run: RunJson;
  /** sampleId → latest line. */
  readonly latest: ReadonlyMap<string, SampleLine>;
  /** sampleId → metric → value: samples.jsonl's values, overridden by later eval.jsonl per-sample values. */
  readonly values: ReadonlyMap<string, Readonly<Record<string, number>>>;
  readonly thumbs: ThumbIndex;
  /** Bad lines, as `file:line: message` (paths relative to the results folder). */
  readonly problems: readonly string[];
}

function stamp(path: string): string {
  // NOTE: lstat, as the store reads no file through a link: a link loop must not throw here (it was a 500).
  const st = lstatSync(path, { throwIfNoEntry: false });
  return st ? `${st.mtimeMs}:${st.size}` : '-';
}

/** A run's parsed files, from the cache when none of run.json, samples.jsonl, eval.jsonl, thumbs.jsonl changed. */
function runFacts(ctx: ReadContext, runId: string): RunFacts {
  const dir = dashboardRunDir(ctx.root, runId);
  const store = new RunStore(dir);
  const key = [store.runJsonPath, store.samplesPath, store.evalPath, store.thumbsPath].map(stamp).join('|');
  return ctx.runFiles.getSync(dir, key, () => parseRunFacts(ctx.root, runId, dir, store)) as RunFacts;
}

function parseRunFacts(root: string, runId: string, dir: string, store: RunStore): RunFacts {
  let run: RunJson;
  try {
    run = store.readRunJson();
  } catch (err) {
    throw new DashboardError(500, `run '${runId}': ${redactPaths((err as Error).message, [[join(dir, 'run.json'), `runs/${runId}/run.json`]])}`);
  }
  const s = store.readSamples();
  const ev = store.readEval();
  const thumbs = thumbIndex(store);
  const values = new Map<string, Record<string, number>>();
  for (const l of s.latest.values()) if (l.status === 'ok') values.set(l.sampleId, { ...l.metrics });
  for (const { value: e } of ev.records) {
    if (!('sampleId' in e) || !('value' in e)) continue;
    const v = values.get(e.sampleId);
    if (v) v[e.metric] = e.value;
  }
  const rel = (p: JsonlProblem) => redactPaths(problemText(p), [[`${root}/`, '']]);
  return { run, latest: s.latest, values, thumbs, problems: [...s.problems, ...ev.problems, ...thumbs.problems].map(rel) };
}

/** One run as the browser lists it. */
export interface BrowseRun {
  readonly runId: string;
  readonly restorer: string;
  readonly settings: string;
  readonly group: string;
  readonly untrained: boolean;
}

/** A per-sample metric all selected runs have, with what the browser needs to sort and colour it. */
export interface BrowseMetric {
  readonly id: string;
  readonly higherIsBetter: boolean;
  readonly decimals: number;
  readonly testWeights: boolean;
}

/** One image pane: where its thumbnail and full image are, and whether the thumbnail exists. */
export interface PaneImage {
  readonly kind: string;
  readonly runId: string;
  readonly full: string;
  readonly thumb: string;
  readonly hasThumb: boolean;
}

/** One sample of the sorted, filtered list. */
export interface ListedSample {
  readonly sampleId: string;
  /** The sort key's value (metric of `sortRun`, or its Δ against the baseline); null when a run lacks it. */
  readonly key: number | null;
}

/** The image browser's whole state, as the URL holds it (see `parseBrowseQuery`). */
export interface BrowseQuery {
  readonly runs: readonly string[];
  readonly sample: string | null;
  readonly base: string;
  readonly metric: string | null;
  /** `value`: the metric of `sortRun`; `delta`: sortRun − base; `id`: by sample id. */
  readonly sort: 'value' | 'delta' | 'id';
  readonly sortRun: string;
  /** `worst` first (respecting the metric's direction) or `best` first. */
  readonly order: 'worst' | 'best';
  /** Keep only the first N after sorting ("worst N"); 0 = all. */
  readonly n: number;
  readonly min: number | null;
  readonly max: number | null;
}

export interface BrowseData {
  readonly query: BrowseQuery;
  readonly runs: BrowseRun[];
  readonly metrics: BrowseMetric[];
  /** Sample ids any run has a line for; `shared` of them are ok in every run with the same input hash. */
  readonly total: number;
  readonly shared: number;
  /** The sorted, filtered list (before "worst N": `listed`; after: `samples`). */
  readonly listed: number;
  readonly samples: ListedSample[];
  /** The sample shown (null when nothing is shared). */
  readonly current: {
    readonly sampleId: string;
    readonly index: number;
    readonly lq: PaneImage;
    readonly gt: PaneImage | null;
    readonly refs: PaneImage[];
    /** One output per run, in `runs` order. */
    readonly outputs: PaneImage[];
    /** metric → runId → value on this sample. */
    readonly values: Record<string, Record<string, number | null>>;
  } | null;
  /** Thumbnails missing for the images of this view (the browser shows the full image instead). */
  readonly missingThumbs: number;
  readonly warnings: string[];
  readonly problems: string[];
}

const KIND_RE = /^(output|lq|gt|ref-\d{1,3})$/;

function num(v: string | null, what: string): number | null {
  if (v === null || v === '') return null;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new DashboardError(400, `${what}: '${v}' is not a number`);
  return n;
}

/** The run ids of `runs` (comma-separated, and/or repeated as the run picker's checkboxes send them). */
export function selectedRuns(params: URLSearchParams): string[] {
  return params.getAll('runs').flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
}

/** A run the picker offers (run.json only; unreadable runs are left out, the index page names them). */
export interface PickableRun extends BrowseRun {
  readonly createdAt: string;
  readonly size: number;
}

/** Every readable run, grouped by benchmark then newest first, for the picker shown when no run is selected. */
export function pickableRuns(root: string): PickableRun[] {
  const out: PickableRun[] = [];
  for (const id of listRunIds(root)) {
    try {
      const run = new RunStore(join(runsRoot(root), id)).readRunJson();
      out.push({ runId: id, restorer: run.restorer.id, settings: describe(run), group: `${run.dataset.id}@${run.dataset.version}`, untrained: run.restorer.untrained, createdAt: run.createdAt, size: run.dataset.size });
    } catch {
      /* shown as a problem on the index page */
    }
  }
  return out.sort((a, b) => a.group.localeCompare(b.group) || b.createdAt.localeCompare(a.createdAt));
}

/**
 * Reads the browser's state from the query string. Every parameter is checked; a bad one is a 400 naming it.
 * `runs` is required (comma-separated run ids); everything else has a default.
 */
export function parseBrowseQuery(params: URLSearchParams): BrowseQuery {
  const runs = selectedRuns(params);
  if (!runs.length) throw new DashboardError(400, 'runs: give at least one run id (/browse?runs=<id>,<id>)');
  if (new Set(runs).size !== runs.length) throw new DashboardError(400, `runs: a run is listed twice (${runs.join(',')})`);
  const pick = (name: string, fallback: string): string => {
    const v = params.get(name) ?? fallback;
    if (!runs.includes(v)) throw new DashboardError(400, `${name}: '${v}' is not one of the selected runs (${runs.join(', ')})`);
    return v;
  };
  const sort = params.get('sort') ?? 'value';
  if (sort !== 'value' && sort !== 'delta' && sort !== 'id') throw new DashboardError(400, `sort: '${sort}' is not value, delta or id`);
  const order = params.get('order') ?? 'worst';
  if (order !== 'worst' && order !== 'best') throw new DashboardError(400, `order: '${order}' is not worst or best`);
  const n = num(params.get('n'), 'n') ?? 0;
  if (!Number.isInteger(n) || n < 0) throw new DashboardError(400, `n: '${params.get('n')}' is not a whole number ≥ 0`);
  const base = pick('base', runs[0]);
  return {
    runs,
    sample: params.get('sample') || null,
    base,
    metric: params.get('metric') || null,
    sort,
    sortRun: pick('sortRun', runs.find((r) => r !== base) ?? runs[0]),
    order,
    n,
    min: num(params.get('min'), 'min'),
    max: num(params.get('max'), 'max'),
  };
}

/**
 * The samples every run has finished ok on the same inputs: same sample id and same recorded input hash in every
 * run (a line without an input hash cannot be verified, so it is not shared), sorted by id.
 */
export function sharedSamples(facts: readonly RunFacts[]): string[] {
  const [first, ...rest] = facts;
  const out: string[] = [];
  for (const [id, line] of first.latest) {
    if (line.status !== 'ok') continue;
    if (line.inputHash === undefined) continue;
    const same = rest.every((f) => {
      const o = f.latest.get(id);
      return o?.status === 'ok' && line.inputHash !== undefined && o.inputHash === line.inputHash;
    });
    if (same) out.push(id);
  }
  return out.sort();
}

function describe(run: RunJson): string {
  const s = run.restorer.settings;
  return ['design', 'maxRefs', 'zeroRefs', 'steps', 'schedule', 'cfg']
    .filter((k) => s[k] !== undefined && s[k] !== null)
    .map((k) => `${k}=${String(s[k])}`)
    .join(' ');
}

function pane(root: string, f: RunFacts, runId: string, sampleId: string, kind: string): PaneImage {
  const path = `/api/runs/${encodeURIComponent(runId)}`;
  const s = encodeURIComponent(sampleId);
  return { kind, runId, full: `${path}/images/${s}/${kind}`, thumb: `${path}/thumbs/${s}/${kind}`, hasThumb: thumbFile(root, f.thumbs, sampleId, kind) !== null };
}

/** The per-sample metrics every run recorded (time-ms included), with the first run's direction and decimals. */
function commonMetrics(facts: readonly RunFacts[]): Map<string, MetricInfo> {
  const infos = new Map<string, MetricInfo>();
  for (const m of facts[0].run.metrics) if (m.kind !== 'distribution' && facts.every((f) => f.run.metrics.some((x) => x.id === m.id))) infos.set(m.id, m);
  return infos;
}

/** The shared samples with their sort key, filtered (min/max), sorted and cut to "worst N"; `listed` before the cut. */
function sortedSamples(q: BrowseQuery, shared: readonly string[], byRun: ReadonlyMap<string, RunFacts>, higherIsBetter: boolean): { list: ListedSample[]; listed: number } {
  const value = (run: string, id: string): number | null => (q.metric ? (byRun.get(run)!.values.get(id)?.[q.metric] ?? null) : null);
  const keyOf = (id: string): number | null => {
    if (q.sort === 'id') return null;
    const v = value(q.sortRun, id);
    if (q.sort === 'value' || v === null) return v;
    const b = value(q.base, id);
    return b === null ? null : v - b;
  };
  let list: ListedSample[] = shared.map((sampleId) => ({ sampleId, key: keyOf(sampleId) }));
  if (q.min !== null || q.max !== null) list = list.filter((s) => s.key !== null && (q.min === null || s.key >= q.min) && (q.max === null || s.key <= q.max));
  if (q.sort !== 'id') {
    // worst first: the lowest values of a higher-is-better metric, the highest of a lower-is-better one.
    const sign = (q.order === 'worst') === higherIsBetter ? 1 : -1;
    list.sort((a, b) => (a.key === null ? 1 : b.key === null ? -1 : sign * (a.key - b.key)) || a.sampleId.localeCompare(b.sampleId));
  }
  const listed = list.length;
  return { list: q.n > 0 ? list.slice(0, q.n) : list, listed };
}

/** The shown sample's panes and per-run values. */
function currentSample(root: string, query: BrowseQuery, facts: readonly RunFacts[], byRun: ReadonlyMap<string, RunFacts>, metrics: readonly BrowseMetric[], sampleId: string, list: readonly ListedSample[]): NonNullable<BrowseData['current']> {
  const f0 = facts[0];
  const line = f0.latest.get(sampleId)!;
  // The inputs are the same in every run (same input hash), so the first run's images stand for all. Whether the
  // sample has a GT: its thumbnails line says; without one (an older run) the GT pane is tried and says if absent.
  const numRefs = line.numRefs ?? 0;
  const th = f0.thumbs.bySample.get(sampleId);
  const gtKnown = th === undefined || th.gt !== undefined;
  const values: Record<string, Record<string, number | null>> = {};
  for (const m of metrics) values[m.id] = Object.fromEntries(query.runs.map((r) => [r, byRun.get(r)!.values.get(sampleId)?.[m.id] ?? null]));
  return {
    sampleId,
    index: list.findIndex((s) => s.sampleId === sampleId),
    lq: pane(root, f0, f0.run.runId, sampleId, 'lq'),
    gt: gtKnown ? pane(root, f0, f0.run.runId, sampleId, 'gt') : null,
    refs: Array.from({ length: numRefs }, (_, i) => pane(root, f0, f0.run.runId, sampleId, `ref-${i}`)),
    outputs: query.runs.map((r) => pane(root, byRun.get(r)!, r, sampleId, 'output')),
    values,
  };
}

function warningsOf(facts: readonly RunFacts[]): string[] {
  const warnings: string[] = [];
  const groups = new Set(facts.map((f) => `${f.run.dataset.id}@${f.run.dataset.version}`));
  if (groups.size > 1) warnings.push(`these runs are on different benchmarks (${[...groups].join(', ')}): only samples with the same id and the same input files are compared`);
  if (facts.some((f) => f.run.restorer.untrained)) warnings.push('some runs use untrained (test-network) weights: their images and numbers mean nothing about the method');
  return warnings;
}

/**
 * Everything the image browser shows for `query`: the runs, the metrics they all have, the shared samples sorted
 * and filtered, and the current sample's panes and per-run values.
 * @throws DashboardError 404 unknown run / sample, 400 unknown metric or a sample that is not shared.
 */
export function browse(ctx: ReadContext, query: BrowseQuery): BrowseData {
  const facts = query.runs.map((id) => runFacts(ctx, id));
  const byRun = new Map(query.runs.map((id, i) => [id, facts[i]]));
  const runs: BrowseRun[] = facts.map(({ run }) => ({ runId: run.runId, restorer: run.restorer.id, settings: describe(run), group: `${run.dataset.id}@${run.dataset.version}`, untrained: run.restorer.untrained }));
  const warnings = warningsOf(facts);
  const infos = commonMetrics(facts);
  const metrics: BrowseMetric[] = [...infos.values()].map((m) => ({ id: m.id, higherIsBetter: m.higherIsBetter, decimals: m.decimals, testWeights: facts.some((f) => f.run.metrics.find((x) => x.id === m.id)?.weights === 'test-random-init') }));
  const metricId = query.metric ?? metrics.find((m) => m.id !== 'time-ms')?.id ?? metrics[0]?.id ?? null;
  if (metricId !== null && !infos.has(metricId)) {
    throw new DashboardError(400, `metric: '${metricId}' is not a per-sample metric of every selected run (${metrics.map((m) => m.id).join(', ') || 'none'})`);
  }
  const q: BrowseQuery = { ...query, metric: metricId };
  const shared = sharedSamples(facts);
  // N of "n shared of N": every sample id any of the runs has a line for.
  const total = new Set(facts.flatMap((f) => [...f.latest.keys()])).size;
  if (shared.length < total) warnings.push(`${shared.length} shared of ${total} samples: only samples every run finished ok on the same (recorded) input files are browsed`);
  const { list, listed } = sortedSamples(q, shared, byRun, infos.get(metricId ?? '')?.higherIsBetter ?? true);

  // The current sample: the one asked for (it must be shared), else the first listed.
  if (q.sample !== null && !shared.includes(q.sample)) {
    const known = facts.some((f) => f.latest.has(q.sample!));
    throw new DashboardError(known ? 400 : 404, known ? `sample '${q.sample}' is not shared by the selected runs (not ok in every run, or its input files differ)` : `sample '${q.sample}' is in none of the selected runs`);
  }
  const sampleId = q.sample ?? list[0]?.sampleId ?? null;
  const current = sampleId === null ? null : currentSample(ctx.root, query, facts, byRun, metrics, sampleId, list);
  const missing = current ? [current.lq, ...(current.gt ? [current.gt] : []), ...current.refs, ...current.outputs].filter((p) => !p.hasThumb).length : 0;
  return { query: q, runs, metrics, total, shared: shared.length, listed, samples: list, current, missingThumbs: missing, warnings, problems: facts.flatMap((f) => f.problems) };
}

/** What the /browse route answers: the run picker (no run chosen), a redirect to the canonical URL, or the browser. */
export type BrowsePage = { readonly redirect: string } | { readonly picker: PickableRun[] } | ({ readonly picker: null } & BrowseData);

export function browsePage(ctx: ReadContext, params: URLSearchParams): BrowsePage {
  // No run selected: a picker (its checkboxes come back as repeated `runs`, folded into one list below).
  if (!selectedRuns(params).length) return { picker: pickableRuns(ctx.root) };
  if (params.getAll('runs').length > 1) {
    const p = new URLSearchParams(params);
    p.set('runs', selectedRuns(params).join(','));
    return { redirect: `/browse?${p}` };
  }
  return { picker: null, ...browse(ctx, parseBrowseQuery(params)) };
}

/**
 * How many of these images of a run have no thumbnail (the page then says so; the thumbnail route serves the full
 * image instead). Pure read.
 */
export function missingThumbs(ctx: ReadContext, runId: string, images: readonly (readonly [sampleId: string, kinds: readonly string[]])[]): number {
  const root = ctx.root;
  const f = runFacts(ctx, runId);
  let n = 0;
  for (const [sampleId, kinds] of images) for (const k of kinds) if (thumbFile(root, f.thumbs, sampleId, k) === null) n++;
  return n;
}

/**
 * The thumbnail of one image of one sample of one run, or null when it was never made (the route then redirects
 * to the full image). Served only from inside the results folder, and only if it is an image by its bytes.
 * @throws DashboardError 400 bad kind, 404 unknown run.
 */
export async function thumbImage(ctx: ReadContext, runId: string, sampleId: string, kind: string): Promise<ServedImage | null> {
  if (!KIND_RE.test(kind)) throw new DashboardError(400, `unknown image kind '${kind}' (output, lq, gt or ref-<i>)`);
  const root = ctx.root;
  const f = runFacts(ctx, runId);
  const path = thumbFile(root, f.thumbs, sampleId, kind);
  if (!path) return null;
  return readServableImage(path, await realRoots([root]), `run '${runId}': the ${kind} thumbnail of sample '${sampleId}'`);
}
