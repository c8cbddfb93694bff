/**
 * @file The evaluation runner: `runSpec` runs (or resumes) one run spec as numbered steps, each in its module:
 *   1. inputs.ts      open the dataset, check its sample ids, select the run's samples
 *   2. components.ts  the restorer and metrics (weight files hashed and pin-checked)
 *   3. inputs.ts      hash every sample's inputs → the dataset hash
 *   4. run-record.ts  the run id (same spec → same directory) and run.json, new or resumed (pure)
 *   5. resume.ts      under the lock: cut a torn tail, refuse changed inputs, list the samples left to do
 *   6. sample.ts      the sample loop: decode → restore → save PNG → per-sample metrics → one samples.jsonl line
 *   7. set-metrics.ts the distribution metrics (FID, KID) over the saved outputs
 *   8. summary.ts     summary.json
 * Resumable (same spec → same run directory), crash-safe (see results/store.ts), interruptible (AbortSignal;
 * stops after the image in flight).
 *
 * Whole-run problems (bad spec, unknown id, dataset index errors, a metric's missing model file) abort BEFORE any
 * work. Per-image problems (unreadable file, missing reference, restorer or metric error) become status 'error'
 * lines naming the file, and show up as coverage N/M; nothing is dropped silently.
 *
 * Public API (used by the CLI, `refbench demo`, `refbench reproduce` and merge.ts): `runSpec` and `resolveSpec`
 * here; `evalRun` (eval-run.ts), `createMetrics` and `openComponents` (components.ts) and `sampleInputHash`
 * (inputs.ts), re-exported; `report` is in ./report.ts.
 */
import { join, resolve } from 'node:path';
import type { Dataset } from '../../eval/datasets/types.ts';
import type { Summary } from '../../eval/results/schema.ts';
import { applyOverrides, parseRunSpec, type ResolvedRunSpec, type SpecOverrides } from '../../eval/spec/run-spec.ts';
import { loadImage } from '../datasets/load.ts';
import { featureCacheReport, featureCacheStats } from '../metrics/feature-cache.ts';
import { RunStore, runsRoot } from '../results/store.ts';
import { openComponents, type Components } from './components.ts';
import { hashInputs, openInputs, type RunInputs } from './inputs.ts';
import { createProgress } from './progress.ts';
import { codeVersion, hostInfo, packageVersions } from './provenance.ts';
import { planResume } from './resume.ts';
import { datasetFacts, newRunRecord, resumedRunRecord, runIdentity, type RunFacts } from './run-record.ts';
import { evaluateSamples } from './sample.ts';
import { scoreSavedOutputs, type OutputsCtx } from './set-metrics.ts';
import { shardLabel, type Shard } from './shard.ts';
import { loadSpecFile } from './spec-file.ts';
import { buildSummary } from './summary.ts';
import { validateSpec } from './validate-spec.ts';

export { createMetrics, openComponents } from './components.ts';
export { evalRun } from './eval-run.ts';
export { sampleInputHash } from './inputs.ts';

/** Options of `runSpec`. */
export interface RunOptions {
  /** Results root (default `./results`); runs go to `<resultsDir>/runs/<runId>/`. */
  readonly resultsDir?: string;
  /** Start a new timestamped run instead of resuming the spec's run. */
  readonly fresh?: boolean;
  /** Re-run samples whose last line has status 'error'. */
  readonly retryFailed?: boolean;
  /** Abort: the runner stops after the image in flight; the result has `aborted: true`. */
  readonly signal?: AbortSignal;
  /** No progress output. */
  readonly quiet?: boolean;
  readonly progress?: 'auto' | 'bar' | 'lines';
  /** CLI overrides (flags > file > defaults). */
  readonly overrides?: SpecOverrides;
  /** Use this dataset object instead of creating `spec.dataset.adapter` from the registry (tests, demo). */
  readonly dataset?: Dataset;
  /** Informational messages (default: stderr unless quiet). */
  readonly log?: (msg: string) => void;
  /** Evaluate only this shard of the run's samples (shard.ts); the run directory is the shard's own. */
  readonly shard?: Shard;
}

export interface RunResult {
  readonly runDir: string;
  readonly runId: string;
  readonly summary: Summary;
  /** True when stopped by the signal before finishing. */
  readonly aborted: boolean;
  /** True when an existing run directory was continued. */
  readonly resumed: boolean;
  /** Samples processed in this invocation, and how many of them failed. */
  readonly processed: number;
  readonly failed: number;
}

/** Resolves a spec argument (path, raw object or resolved spec) with overrides. */
export function resolveSpec(spec: string | unknown, overrides: SpecOverrides = {}): { spec: ResolvedRunSpec; file: string | null } {
  if (typeof spec === 'string') return { spec: loadSpecFile(spec, overrides), file: resolve(spec) };
  return { spec: parseRunSpec(applyOverrides(spec, overrides), 'spec'), file: null };
}

/** Step 4: the run's directory and its record, new or resumed (run-record.ts); not yet written. */
function openRunRecord(spec: ResolvedRunSpec, file: string | null, inputs: RunInputs, comps: Components, datasetHash: string, opts: RunOptions) {
  const now = new Date();
  const identity = runIdentity(spec, { fresh: opts.fresh, shard: opts.shard, listedIds: inputs.listed.map((s) => s.id), now });
  const resultsDir = resolve(opts.resultsDir ?? 'results');
  const store = RunStore.create(join(runsRoot(resultsDir), identity.runId));
  const resumed = store.exists();
  const facts: RunFacts = {
    identity,
    spec,
    specFile: file,
    runDir: store.dir,
    dataset: datasetFacts(inputs.dataset.info, inputs.all, inputs.listed, inputs.samples, datasetHash),
    restorer: comps.restorer!.info,
    restorerFiles: comps.restorerFiles,
    metrics: [...comps.metrics.values()].map((m) => m.info),
    now: now.toISOString(),
  };
  const run = resumed ? resumedRunRecord(store.readRunJson(), facts) : newRunRecord(facts, { code: codeVersion(), packages: packageVersions(), host: hostInfo() });
  return { identity, resultsDir, store, resumed, run };
}

/** Step 7: the distribution metrics over the saved outputs; a value that cannot be computed is logged (set-metrics.ts). */
async function setMetricsStep(store: RunStore, runId: string, comps: Components, samples: RunInputs['samples'], ctx: Omit<OutputsCtx, 'loader' | 'paths'>): Promise<void> {
  const distIds = [...comps.metrics.values()].filter((m) => m.info.kind === 'distribution').map((m) => m.info.id);
  if (!distIds.length) return;
  const paths = new Map(samples.map((s) => [s.id, { gt: s.gt, refs: s.refs }]));
  const r = await scoreSavedOutputs(store, distIds, comps.metrics, { ...ctx, loader: loadImage, paths });
  for (const f of r.setFailures) ctx.log(`warning: ${f} (recorded in ${store.evalPath}; \`refbench eval ${runId} --metrics <id>\` retries it)`);
}

/**
 * Runs (or resumes) an evaluation: the numbered steps of the file header.
 * @param specArg a spec file path, a raw spec object, or a resolved spec.
 * @throws SpecError / UnknownIdError-derived errors / DatasetError before any work; never for per-image problems.
 * @example
 * const { runDir, summary } = await runSpec('examples/specs/synthfaces-lq.yaml', { resultsDir: 'results' });
 * summary.metrics['time-ms'].coverage; // '4/4'
 */
export async function runSpec(specArg: string | unknown, opts: RunOptions = {}): Promise<RunResult> {
  const log = opts.log ?? ((m: string) => (opts.quiet ? undefined : process.stderr.write(`${m}\n`)));
  const { spec, file } = resolveSpec(specArg, opts.overrides);
  const fileLabel = file ?? 'spec';
  validateSpec(spec, fileLabel, { skipDataset: !!opts.dataset });
  const inputs = await openInputs(spec, fileLabel, { dataset: opts.dataset, shard: opts.shard, log }); // 1
  const featuresBefore = featureCacheStats();
  const comps = await openComponents({ restorer: spec.restorer, metrics: spec.metrics, device: spec.device, threads: spec.threads, file: fileLabel, log }); // 2
  try {
    const { inputHashes, datasetHash } = await hashInputs(inputs.samples); // 3
    const { identity, resultsDir, store, resumed, run } = openRunRecord(spec, file, inputs, comps, datasetHash, opts); // 4
    const tookOver = store.lock();
    if (tookOver) log(tookOver);
    try {
      store.writeRunJson(run);
      const plan = planResume(store, inputs.samples, inputHashes, { retryFailed: opts.retryFailed, log }); // 5
      const n = inputs.samples.length;
      if (resumed) log(`resuming ${identity.runId}: ${plan.already}/${n} done, ${plan.todo.length} to do`);
      else log(`run ${identity.runId}: ${n} samples${opts.shard ? ` (shard ${shardLabel(opts.shard)} of ${inputs.listed.length})` : ''} → ${store.dir}`);
      const loop = await evaluateSamples(plan.todo, {
        restorer: comps.restorer!,
        perSampleMetrics: [...comps.metrics.values()].filter((m) => m.info.kind !== 'distribution'),
        load: loadImage,
        store,
        spec,
        signal: opts.signal,
        resultsDir,
        nextSeq: plan.nextSeq,
        progress: createProgress(plan.todo.length, plan.already, { quiet: opts.quiet, mode: opts.progress, label: spec.name }),
        log,
      }); // 6
      if (!loop.aborted) await setMetricsStep(store, identity.runId, comps, inputs.samples, { signal: opts.signal, log, retryFailed: opts.retryFailed, saveStates: !!run.shard }); // 7
      const summary = buildSummary(store, run); // 8
      store.writeSummary(summary);
      const cacheUse = featureCacheReport(featuresBefore);
      if (cacheUse) log(cacheUse);
      if (loop.aborted) log(`interrupted: ${summary.samples.ok + summary.samples.error}/${summary.samples.total} samples saved in ${store.dir}`);
      return { runDir: store.dir, runId: identity.runId, summary, aborted: loop.aborted, resumed, processed: loop.processed, failed: loop.failed };
    } finally {
      store.unlock();
    }
  } finally {
    await comps.dispose();
  }
}
