/**
 * @file `refbench eval`: metrics added to a finished (or partial) run. Computes them over the run's saved outputs
 * vs GT (set-metrics.ts), records their descriptions in run.json (direction and decimals for reports) and rewrites
 * summary.json.
 */
import { resolve } from 'node:path';
import type { Dataset } from '../../eval/datasets/types.ts';
import { TIME_METRIC, type RunJson, type Summary } from '../../eval/results/schema.ts';
import { parseRunSpec, type ResolvedRunSpec } from '../../eval/spec/run-spec.ts';
import { DATASETS } from '../datasets/index.ts';
import { loadImage } from '../datasets/load.ts';
import { featureCacheReport, featureCacheStats } from '../metrics/feature-cache.ts';
import { METRICS } from '../metrics/index.ts';
import { resolveRunDir, RunStore } from '../results/store.ts';
import { openComponents, type ComponentRequest } from './components.ts';
import { prefixError } from './errors.ts';
import { scoreSavedOutputs } from './set-metrics.ts';
import { buildSummary } from './summary.ts';

/** Options of `evalRun`. */
export interface EvalOptions {
  /** Results root (default `./results`) where a run id is looked up. */
  resultsDir?: string;
  signal?: AbortSignal;
  quiet?: boolean;
  /** Use this dataset object instead of the run's `spec.dataset` (tests). */
  dataset?: Dataset;
  log?: (m: string) => void;
  /** Options per metric id (default: the run spec's options for that metric, else none). */
  metricOptions?: Record<string, Record<string, unknown>>;
}

/** The requests for `metricIds`, checked against the registry (`--metrics[i]` names a bad one). */
function metricRequests(metricIds: readonly string[], spec: ResolvedRunSpec, metricOptions: EvalOptions['metricOptions']): ComponentRequest[] {
  metricIds.forEach((id, i) => {
    try {
      if (id !== TIME_METRIC.id) METRICS.get(id);
    } catch (err) {
      throw prefixError(err, `--metrics[${i}]: `);
    }
  });
  return metricIds
    .filter((id) => id !== TIME_METRIC.id)
    .map((id) => ({ id, options: metricOptions?.[id] ?? spec.metrics.find((m) => m.id === id)?.options ?? {} }));
}

/**
 * Computes `metricIds` over a run's outputs vs GT, appends to eval.jsonl (skipping pairs already present), adds the
 * metrics' info to run.json and rewrites summary.json.
 * @param runRef a run directory or run id (under `resultsDir`).
 * @throws after writing the summary, when a set metric could not be computed (it is recorded in eval.jsonl).
 */
export async function evalRun(runRef: string, metricIds: readonly string[], opts: EvalOptions = {}): Promise<{ runDir: string; summary: Summary; aborted: boolean }> {
  const log = opts.log ?? ((m: string) => (opts.quiet ? undefined : process.stderr.write(`${m}\n`)));
  const runDir = resolveRunDir(resolve(opts.resultsDir ?? 'results'), runRef);
  const store = new RunStore(runDir);
  const run = store.readRunJson();
  const spec = parseRunSpec(run.spec, store.runJsonPath);
  const requests = metricRequests(metricIds, spec, opts.metricOptions);
  const comps = await openComponents({ metrics: requests, device: spec.device, threads: spec.threads, file: '--metrics' });
  const featuresBefore = featureCacheStats();
  try {
    const dataset = opts.dataset ?? (await DATASETS.get(spec.dataset.adapter)(spec.dataset.options));
    const paths = new Map((await dataset.samples()).map((s) => [s.id, { gt: s.gt, refs: s.refs }]));
    const tookOver = store.lock();
    if (tookOver) log(tookOver);
    try {
      // Record the new metrics' descriptions in run.json (needed for direction/decimals in reports).
      const known = new Set(run.metrics.map((m) => m.id));
      const updated: RunJson = { ...run, metrics: [...run.metrics, ...[...comps.metrics.values()].map((m) => m.info).filter((m) => !known.has(m.id))] };
      store.writeRunJson(updated);
      const ctx = { signal: opts.signal, log, loader: loadImage, paths, retryFailed: true, saveStates: !!run.shard };
      const r = await scoreSavedOutputs(store, [...comps.metrics.keys()], comps.metrics, ctx);
      const summary = buildSummary(store, updated);
      store.writeSummary(summary);
      const cacheUse = featureCacheReport(featuresBefore);
      if (cacheUse) log(cacheUse);
      // Every requested metric was attempted and the summary written before a failure is reported.
      if (r.setFailures.length) throw new Error(`${r.setFailures.join('; ')} (recorded in ${store.evalPath})`);
      return { runDir, summary, aborted: r.aborted };
    } finally {
      store.unlock();
    }
  } finally {
    await comps.dispose();
  }
}
