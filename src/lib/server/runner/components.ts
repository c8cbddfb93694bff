/**
 * @file Step 2 of a run (evaluate.ts): the components. One `openComponents()` creates the restorer (when the
 * caller restores) and the metrics, for `runSpec`, `evalRun` (eval-run.ts) and `mergeShards` (merge.ts) alike.
 * A missing model file, or a pinned one whose hash changed, fails here, before any image: a whole-run error naming
 * the spec field. Each component's weight files (hashed and pin-checked before it read them) are recorded for
 * run.json.
 */
import type { Metric } from '../../eval/metrics/metric.ts';
import { TIME_METRIC, type MetricInfo } from '../../eval/results/schema.ts';
import type { Restorer } from '../../eval/restorers/restorer.ts';
import type { WeightFileRecord } from '../../eval/types.ts';
import { METRICS } from '../metrics/index.ts';
import { sha256Cache } from '../models/sha256-cache.ts';
import { RESTORERS } from '../restorers/index.ts';
import { prefixError } from './errors.ts';

/** A metric instance and the description run.json records for it. */
export interface MetricEntry {
  readonly metric: Metric<any>;
  readonly info: MetricInfo;
}

/** The metrics of a run by id, in the spec's order. */
export type Metrics = Map<string, MetricEntry>;

/** A component request as a resolved spec holds it. */
export interface ComponentRequest {
  readonly id: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** What `openComponents` opened; `dispose` releases all of it. */
export interface Components {
  readonly restorer: Restorer | null;
  /** The restorer's weight files as it hashed them (copies), for run.json. */
  readonly restorerFiles: WeightFileRecord[];
  readonly metrics: Metrics;
  dispose(): Promise<void>;
}

/**
 * Creates the metric instances; each one's weight files (hashed and pin-checked before it read them) go into
 * its `info.files`. Throws on a missing model file or a pinned one whose hash changed: a whole-run error.
 * @param ctx.file what the requests came from, for messages (the spec file, `--metrics`, `merge`).
 */
export async function createMetrics(requests: readonly ComponentRequest[], ctx: { device: 'cpu' | 'cuda'; threads?: number; file: string }): Promise<Metrics> {
  const out: Metrics = new Map();
  for (const [i, r] of requests.entries()) {
    if (r.id === TIME_METRIC.id) continue;
    let metric: Metric<any>;
    try {
      // The spec's device/threads reach only the metrics that declare them (a network); others have no such option.
      const accepts = new Set(METRICS.optionKeys(r.id));
      const context = { ...(accepts.has('device') ? { device: ctx.device } : {}), ...(ctx.threads && accepts.has('threads') ? { threads: ctx.threads } : {}) };
      metric = await METRICS.get(r.id)({ ...context, ...r.options });
    } catch (err) {
      for (const m of out.values()) await m.metric.dispose?.();
      throw prefixError(err, `${ctx.file}: metrics[${i}] '${r.id}': `);
    }
    out.set(r.id, { metric, info: metricInfo(metric, r) });
  }
  return out;
}

/** The run.json description of a metric instance created for request `r`. */
function metricInfo(metric: Metric<any>, r: ComponentRequest): MetricInfo {
  const files = metric.weightFiles ?? [];
  const s = metric.spec;
  return {
    id: s.id,
    version: s.version,
    kind: s.kind,
    higherIsBetter: s.higherIsBetter,
    decimals: s.decimals,
    weights: s.weights,
    description: s.description,
    options: { ...r.options },
    ...(files.length ? { files: files.map((f) => ({ ...f })) } : {}),
  };
}

/**
 * Opens the restorer (when `o.restorer` is given) and then the metrics; on a failure, disposes what was opened.
 * With `o.log`, logs the restorer's warnings and how many weight files were checked (and how many hashes came
 * from the sha256 cache).
 */
export async function openComponents(o: {
  restorer?: ComponentRequest;
  metrics: readonly ComponentRequest[];
  device: 'cpu' | 'cuda';
  threads?: number;
  /** What the requests came from, for messages (the spec file, `--metrics`, `merge`). */
  file: string;
  log?: (msg: string) => void;
}): Promise<Components> {
  const cache = sha256Cache();
  const hashedBefore = cache.hashed;
  let restorer: Restorer | null = null;
  if (o.restorer) {
    try {
      restorer = await RESTORERS.get(o.restorer.id)(o.restorer.options);
    } catch (err) {
      throw prefixError(err, `${o.file}: restorer '${o.restorer.id}': `);
    }
    for (const w of restorer.warnings ?? []) o.log?.(`warning: ${o.file}: ${w}`);
  }
  const restorerFiles = (restorer?.weightFiles ?? []).map((f) => ({ ...f }));
  const metrics = await createMetrics(o.metrics, { device: o.device, threads: o.threads, file: o.file }).catch(async (err) => {
    await restorer?.dispose();
    throw err;
  });
  const nFiles = restorerFiles.length + [...metrics.values()].reduce((n, m) => n + (m.info.files?.length ?? 0), 0);
  if (nFiles && o.log) {
    const hashed = cache.hashed - hashedBefore;
    o.log(`weights: ${nFiles} file(s) checked; sha256 ${hashed} computed, ${Math.max(0, nFiles - hashed)} from the cache (${cache.file})`);
  }
  return {
    restorer,
    restorerFiles,
    metrics,
    async dispose() {
      await restorer?.dispose();
      for (const { metric } of metrics.values()) await metric.dispose?.();
    },
  };
}
