/**
 * @file Builds summary.json from a run's files: per metric the mean over ok samples, coverage N/M, bootstrap
 * stderr and 95% CI (fixed seed), direction, decimals and weights kind. Distribution metrics (FID) come from
 * eval.jsonl set lines. The last line per sampleId (samples.jsonl) and per (sampleId, metric) (eval.jsonl) wins.
 */
import { RESULTS_SCHEMA_VERSION, TIME_METRIC, type MetricInfo, type MetricSummary, type RunJson, type Summary } from '../../eval/results/schema.ts';
import { BOOTSTRAP_DEFAULTS, bootstrapMean } from '../../eval/stats/bootstrap.ts';
import { problemText, type RunStore } from '../results/store.ts';

/** Per-sample values per metric (ok samples only), merged from samples.jsonl and eval.jsonl. */
export function collectValues(store: RunStore): {
  perSample: Map<string, Map<string, number>>;
  /** Set metrics (last eval.jsonl line per metric): a value, or the error that was recorded instead. */
  sets: Map<string, { value: number | null; n: number; error?: string }>;
  ok: Set<string>;
  errors: number;
  problems: string[];
} {
  const s = store.readSamples();
  const ev = store.readEval();
  const ok = new Set<string>();
  let errors = 0;
  const perSample = new Map<string, Map<string, number>>();
  const put = (metric: string, sampleId: string, v: number) => {
    let m = perSample.get(metric);
    if (!m) perSample.set(metric, (m = new Map()));
    m.set(sampleId, v);
  };
  for (const line of s.latest.values()) {
    if (line.status !== 'ok') {
      errors++;
      continue;
    }
    ok.add(line.sampleId);
    for (const [k, v] of Object.entries(line.metrics)) put(k, line.sampleId, v);
  }
  const sets = new Map<string, { value: number | null; n: number; error?: string }>();
  for (const { value: e } of ev.records) {
    if ('sampleId' in e) {
      if (ok.has(e.sampleId)) put(e.metric, e.sampleId, e.value);
    } else sets.set(e.metric, 'error' in e ? { value: null, n: e.n, error: e.error } : { value: e.value, n: e.n });
  }
  const problems = [...s.problems, ...ev.problems].map(problemText);
  return { perSample, sets, ok, errors, problems };
}

/** True when any weights in the run are not real (random-init restorer or test-network metric). */
export function runIsUntrained(run: RunJson): boolean {
  return run.restorer.untrained || run.metrics.some((m) => m.weights === 'test-random-init');
}

/** Computes (does not write) the summary of a run. */
export function buildSummary(store: RunStore, run: RunJson): Summary {
  const { perSample, sets, ok, errors } = collectValues(store);
  const total = run.dataset.size;
  const metrics: Record<string, MetricSummary> = {};
  const infos: MetricInfo[] = [TIME_METRIC, ...run.metrics.filter((m) => m.id !== TIME_METRIC.id)];
  for (const info of infos) {
    const base = { higherIsBetter: info.higherIsBetter, decimals: info.decimals, weights: info.weights, of: total };
    if (info.kind === 'distribution') {
      const set = sets.get(info.id);
      const n = set && !set.error ? set.n : 0; // a recorded error covers no sample
      metrics[info.id] = {
        ...base,
        value: set?.value ?? null,
        n,
        coverage: `${n}/${total}`,
        stderr: null,
        ci95: null,
        kind: 'distribution',
        source: 'eval',
        ...(set?.error ? { error: set.error } : {}),
      };
      continue;
    }
    const vals = perSample.get(info.id) ?? new Map<string, number>();
    const ids = [...vals.keys()].sort();
    const b = bootstrapMean(ids.map((id) => vals.get(id)!), BOOTSTRAP_DEFAULTS);
    metrics[info.id] = {
      ...base,
      value: b.n ? b.mean : null,
      n: b.n,
      coverage: `${b.n}/${total}`,
      stderr: b.stderr,
      ci95: b.ci95 ? [b.ci95[0], b.ci95[1]] : null,
      kind: info.id === TIME_METRIC.id ? 'timing' : info.kind,
      source: run.spec && (run.spec as { metrics?: { id: string }[] }).metrics?.some((m) => m.id === info.id) ? 'run' : info.id === TIME_METRIC.id ? 'run' : 'eval',
    };
  }
  const done = ok.size + errors;
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId: run.runId,
    updatedAt: new Date().toISOString(),
    samples: { total, ok: ok.size, error: errors, pending: Math.max(0, total - done) },
    complete: done >= total,
    untrained: runIsUntrained(run),
    bootstrap: { ...BOOTSTRAP_DEFAULTS },
    metrics,
  };
}

/** One line of a metric's summary for the CLI: `value (coverage)`, or the recorded error, plus the test mark. */
export function formatMetricSummary(id: string, m: MetricSummary): string {
  const v = m.error ? `error: ${m.error}` : m.value === null ? 'n/a' : m.value.toFixed(m.decimals);
  return `${id}: ${v} (${m.coverage})${m.weights === 'test-random-init' ? ' [test network]' : ''}`;
}

/**
 * What `refbench run` and `refbench merge` print when a run is done: `<runId>: ok/total ok, n failed → <dir>`, one
 * `formatMetricSummary` line per metric, and a warning when the numbers come from untrained weights.
 */
export function formatRunSummary(runId: string, runDir: string, s: Summary): string {
  return (
    `${runId}: ${s.samples.ok}/${s.samples.total} ok, ${s.samples.error} failed → ${runDir}\n` +
    Object.entries(s.metrics)
      .map(([id, m]) => `  ${formatMetricSummary(id, m)}`)
      .join('\n') +
    '\n' +
    (s.untrained ? '  WARNING: UNTRAINED WEIGHTS (random-init / test networks): numbers are not meaningful\n' : '')
  );
}
