/**
 * @file Metrics over a run's saved outputs: step 7 of a run (evaluate.ts: the distribution metrics, FID and KID,
 * once every sample is done) and the work of `refbench eval` (eval-run.ts: any metric added later). Appends to
 * eval.jsonl and is resumable: a (sample, metric) pair already there is skipped; a set metric gets one set line,
 * recomputed only when more samples are ok than when it was computed (or, with `retryFailed`, when its last line
 * is an error).
 *
 * NOTE: a set metric that cannot be computed (FID over fewer than 2 images, a non-finite value from degenerate
 * reference statistics) is recorded as that metric's error line and returned in `setFailures`, not thrown: the
 * samples are already saved, and the caller decides (a run logs it; `refbench eval` fails loudly).
 */
import type { MetricItem } from '../../eval/metrics/metric.ts';
import type { SampleLine } from '../../eval/results/schema.ts';
import { readRgb } from '../image/io.ts';
import type { RunStore } from '../results/store.ts';
import type { MetricEntry, Metrics } from './components.ts';
import { finiteValue, scoreOne, type ImageLoader } from './sample.ts';
import { hasSetState, writeSetState } from '../results/set-states.ts';

/** How to find and load the inputs behind the saved outputs. */
export interface OutputsCtx {
  signal?: AbortSignal;
  log: (m: string) => void;
  loader: ImageLoader;
  /** GT and reference paths per sample id (from the run's dataset). */
  paths: ReadonlyMap<string, { gt?: string; refs: readonly string[] }>;
  /** Retry a set metric whose last line is an error over the same samples (`eval`, `run --retry-failed`). */
  retryFailed?: boolean;
  /** Save each set metric's state for `refbench merge` (shard runs; shard.ts). */
  saveStates?: boolean;
}

/** What eval.jsonl holds already: the (metric, sample) pairs, and per set metric the n of its last line and whether it failed. */
function recorded(store: RunStore): { pairs: Set<string>; sets: Map<string, { n: number; failed: boolean }> } {
  const pairs = new Set<string>();
  const sets = new Map<string, { n: number; failed: boolean }>();
  for (const { value: e } of store.readEval().records) {
    if ('sampleId' in e) pairs.add(`${e.metric}\u0000${e.sampleId}`);
    else sets.set(e.metric, { n: e.n, failed: 'error' in e });
  }
  return { pairs, sets };
}

/** The metric item of one saved output: its PNG, its GT, and for a reference-set metric its references. */
async function itemOf(line: SampleLine, m: MetricEntry, store: RunStore, ctx: OutputsCtx, id: string): Promise<MetricItem> {
  if (!line.output) throw new Error(`${store.samplesPath}: sample '${line.sampleId}' has no saved output (outputs.saveImages was false); cannot evaluate ${id}`);
  const pred = await readRgb(store.outputPath(line.output));
  const paths = ctx.paths.get(line.sampleId);
  const gt = paths?.gt ? await ctx.loader(paths.gt, 'gt') : undefined;
  const refs = m.info.kind === 'reference-set' && paths ? await Promise.all(paths.refs.map((r) => ctx.loader(r, 'ref'))) : undefined;
  return { sampleId: line.sampleId, pred, ...(gt ? { gt } : {}), ...(refs ? { refs } : {}) };
}

/** A per-sample metric over the ok samples it has no line for; a failure on one sample is a warning. Returns false when aborted. */
async function pairedMetric(store: RunStore, id: string, m: MetricEntry, ok: readonly SampleLine[], done: ReadonlySet<string>, ctx: OutputsCtx): Promise<boolean> {
  for (const line of ok) {
    if (ctx.signal?.aborted) return false;
    if (done.has(`${id}\u0000${line.sampleId}`)) continue;
    const item = await itemOf(line, m, store, ctx, id);
    try {
      const v = await scoreOne(m.metric, item);
      store.appendEval({ sampleId: line.sampleId, metric: id, value: v, metricVersion: m.info.version, at: new Date().toISOString() });
    } catch (err) {
      ctx.log(`warning: ${id} on sample '${line.sampleId}': ${(err as Error).message}`);
    }
  }
  return true;
}

/**
 * A set metric over all ok samples: one value line, or one error line (returned as the failure's text). Returns
 * 'aborted' when the signal fired.
 */
async function setMetric(store: RunStore, id: string, m: MetricEntry, ok: readonly SampleLine[], ctx: OutputsCtx): Promise<'aborted' | string | null> {
  let state = m.metric.init();
  let n = 0;
  for (const line of ok) {
    if (ctx.signal?.aborted) return 'aborted';
    state = await m.metric.update(state, [await itemOf(line, m, store, ctx, id)]);
    n++;
  }
  const at = new Date().toISOString();
  // Saved before compute: a shard too small for its own FID (one image) still contributes to the merged one.
  if (ctx.saveStates) {
    if (!m.metric.exportState) throw new Error(`${id}: this set metric cannot save its state, so a sharded run cannot be merged; run it unsharded`);
    writeSetState(store.dir, id, m.info.version, m.metric.exportState(state));
  }
  try {
    const v = m.metric.compute(state);
    const value = finiteValue(v.value, `the value over ${n} sample(s)`);
    // NOTE: a non-finite auxiliary number (e.g. KID's std over one subset) is left out, not an error.
    const extra = v.extra ? Object.fromEntries(Object.entries(v.extra).filter(([, x]) => Number.isFinite(x))) : undefined;
    store.appendEval({ metric: id, value, n, metricVersion: m.info.version, ...(extra ? { extra } : {}), at });
    return null;
  } catch (err) {
    // Recorded as this metric's result (summary, report and dashboard show it); the run's samples stay.
    const error = (err as Error).message;
    store.appendEval({ metric: id, error, n, metricVersion: m.info.version, at });
    return `${id} not computed over ${n} sample(s): ${error}`;
  }
}

/**
 * Computes `metricIds` (those of `metrics`) over a run's saved outputs vs GT and appends to eval.jsonl, skipping
 * what is recorded already (see the file header).
 */
export async function scoreSavedOutputs(store: RunStore, metricIds: readonly string[], metrics: Metrics, ctx: OutputsCtx): Promise<{ aborted: boolean; setFailures: string[] }> {
  store.prepareAppend();
  const ok = [...store.readSamples().latest.values()].filter((l) => l.status === 'ok').sort((a, b) => a.sampleId.localeCompare(b.sampleId));
  const done = recorded(store);
  const setFailures: string[] = [];
  for (const id of metricIds) {
    const m = metrics.get(id);
    if (!m) continue;
    if (m.info.kind !== 'distribution') {
      if (!(await pairedMetric(store, id, m, ok, done.pairs, ctx))) return { aborted: true, setFailures };
      continue;
    }
    const prev = done.sets.get(id);
    const stateMissing = ctx.saveStates && !hasSetState(store.dir, id);
    if (prev?.n === ok.length && (!prev.failed || !ctx.retryFailed) && !stateMissing) continue;
    const r = await setMetric(store, id, m, ok, ctx);
    if (r === 'aborted') return { aborted: true, setFailures };
    if (r) setFailures.push(r);
  }
  return { aborted: false, setFailures };
}
