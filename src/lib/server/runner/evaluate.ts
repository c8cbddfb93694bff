/**
 * @file The evaluation runner: spec → dataset → for each sample not yet done: decode → restore → save PNG →
 * per-sample metrics → append one samples.jsonl line. Resumable (same spec → same run directory), crash-safe
 * (see results/store.ts), interruptible (AbortSignal; stops after the image in flight).
 *
 * Whole-run problems (bad spec, unknown id, dataset index errors, a metric's missing model file) abort BEFORE any
 * work. Per-image problems (unreadable file, missing reference, restorer or metric error) become status 'error'
 * lines naming the file, and show up as coverage N/M; nothing is dropped silently.
 *
 * Public API (used by the CLI and `refbench demo`): `runSpec`, `evalRun`, and `report` (in ./report.ts).
 */
import { join, resolve } from 'node:path';
import { sampleIdProblem } from '../../eval/datasets/sample-id.ts';
import { DatasetError, type Dataset, type DatasetProblem, type SampleRef } from '../../eval/datasets/types.ts';
import type { Metric, MetricItem } from '../../eval/metrics/metric.ts';
import { RESULTS_SCHEMA_VERSION, TIME_METRIC, type MetricInfo, type RunJson, type SampleLine, type Summary } from '../../eval/results/schema.ts';
import type { Restorer } from '../../eval/restorers/restorer.ts';
import { canonicalJson, identityOfSpec, parseRunSpec, applyOverrides, type ResolvedRunSpec, type SpecOverrides } from '../../eval/spec/run-spec.ts';
import type { RgbImage } from '../../eval/types.ts';
import { DATASETS } from '../datasets/index.ts';
import { materialiseDataset } from '../datasets/materialise.ts';
import { HQ_SIZE, loadImage, type ImageRole } from '../datasets/load.ts';
import { encodePng, readRgb } from '../image/io.ts';
import { METRICS } from '../metrics/index.ts';
import { RESTORERS } from '../restorers/index.ts';
import { readRegularFile } from '../fs/read-regular.ts';
import { problemText, resolveRunDir, RunStore, runsRoot, sha256Hex } from '../results/store.ts';
import { writeSampleThumbs } from '../results/thumbs-write.ts';
import { listWithMore } from '../../format.ts';
import { createProgress } from './progress.ts';
import { validateSpec } from './validate-spec.ts';
import { sha256Cache } from '../models/sha256-cache.ts';
import { codeVersion, hostInfo, packageVersions } from './provenance.ts';
import { loadSpecFile } from './spec-file.ts';
import { buildSummary } from './summary.ts';
import { featureCacheReport, featureCacheStats } from '../metrics/feature-cache.ts';
import { hasSetState, sampleIdsHash, selectShard, shardLabel, shardRunId, writeSetState, type Shard } from './shard.ts';

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

/**
 * The image loader for LQ/GT/refs: datasets/load.ts `loadImage`, the same size rule as `data inspect` (LQ 512²;
 * GT and refs 512², or 1024² resized with PIL bicubic; anything else a per-sample error).
 */
type ImageLoader = (path: string, role: ImageRole) => Promise<RgbImage>;

function prefixError(err: unknown, prefix: string): Error {
  const msg = err instanceof Error ? err.message : String(err);
  const e = new Error(`${prefix}${msg}`);
  e.name = err instanceof Error ? err.name : 'Error';
  return e;
}

/** Resolves a spec argument (path, raw object or resolved spec) with overrides. */
export function resolveSpec(spec: string | unknown, overrides: SpecOverrides = {}): { spec: ResolvedRunSpec; file: string | null } {
  if (typeof spec === 'string') return { spec: loadSpecFile(spec, overrides), file: resolve(spec) };
  return { spec: parseRunSpec(applyOverrides(spec, overrides), 'spec'), file: null };
}

/**
 * Looks up every id in the registries and checks every options object against its component's strict schema
 * (validate-spec.ts); throws one SpecError listing every problem with its field path and a "did you mean".
 */
export function validateIds(spec: ResolvedRunSpec, file: string, opts: { skipDataset?: boolean } = {}): void {
  validateSpec(spec, file, opts);
}

/**
 * Creates the metric instances; each one's weight files (hashed and pin-checked before it read them) go into
 * its `info.files`. Throws on a missing model file or a pinned one whose hash changed: a whole-run error.
 */
export async function createMetrics(
  requests: readonly { id: string; options: Readonly<Record<string, unknown>> }[],
  ctx: { device: 'cpu' | 'cuda'; threads?: number; file: string },
): Promise<Map<string, { metric: Metric<any>; info: MetricInfo }>> {
  const out = new Map<string, { metric: Metric<any>; info: MetricInfo }>();
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
    const files = metric.weightFiles ?? [];
    const s = metric.spec;
    out.set(r.id, {
      metric,
      info: {
        id: s.id,
        version: s.version,
        kind: s.kind,
        higherIsBetter: s.higherIsBetter,
        decimals: s.decimals,
        weights: s.weights,
        description: s.description,
        options: { ...r.options },
        ...(files.length ? { files: files.map((f) => ({ ...f })) } : {}),
      },
    });
  }
  return out;
}

/** `name: recorded → now` for every weight file recorded before (by path, else by name) whose hash differs now. */
function weightChanges(before: readonly { name: string; sha256: string; path?: string }[], now: readonly { name: string; sha256: string; path?: string }[]): string[] {
  const out: string[] = [];
  for (const b of before) {
    const n = now.find((x) => (b.path ? x.path === b.path : x.name === b.name));
    if (n && n.sha256 !== b.sha256) out.push(`${b.path ?? b.name}: sha256 ${b.sha256.slice(0, 12)}… → ${n.sha256.slice(0, 12)}…`);
  }
  return out;
}

/** sha256 of a file, or a marker naming the problem (the run still starts; the sample fails later). */
async function fileHash(path: string): Promise<string> {
  try {
    return sha256Hex(await readRegularFile(path));
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}

/** Per-sample input hash: sha256 over the role-tagged hashes of LQ, refs (in order) and GT. */
export async function sampleInputHash(s: SampleRef): Promise<string> {
  const parts = [`lq:${await fileHash(s.lq)}`];
  for (const [i, r] of s.refs.entries()) parts.push(`ref${i}:${await fileHash(r)}`);
  if (s.gt) parts.push(`gt:${await fileHash(s.gt)}`);
  return sha256Hex(parts.join('\n'));
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

function utcStamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * A metric value that can be stored: finite. NaN/±Inf (JSON cannot even encode them) become an error that says
 * what was computed, so they are recorded per metric instead of failing the write of the whole line.
 */
function finiteValue(v: number, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what} is ${String(v)}, not a finite number`);
  return v;
}

/** Score one image with one per-sample metric (fresh state, so no cross-sample leakage). */
async function scoreOne(metric: Metric<any>, item: MetricItem): Promise<number> {
  const st = await metric.update(metric.init(), [item]);
  const v = metric.compute(st);
  const ps = v.perSample?.[item.sampleId];
  return finiteValue(ps ?? v.value, `the value on sample '${item.sampleId}'`);
}

/**
 * Runs (or resumes) an evaluation.
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
  validateIds(spec, fileLabel, { skipDataset: !!opts.dataset });

  // 1. Dataset (index errors are whole-run errors, surfaced whole). `run` is one of the commands allowed to
  //    generate a benchmark refbench makes itself (synthfaces-ref); opening it afterwards is a pure read.
  let dataset: Dataset;
  try {
    if (!opts.dataset) {
      const m = await materialiseDataset(spec.dataset.adapter, spec.dataset.options, (msg) => log(`  ${msg}`));
      if (m?.generated) log(`generated ${spec.dataset.adapter} in ${m.root}`);
    }
    dataset = opts.dataset ?? (await DATASETS.get(spec.dataset.adapter)(spec.dataset.options));
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw prefixError(err, `${fileLabel}: dataset '${spec.dataset.adapter}': `);
  }
  const all = await dataset.samples();
  // Every adapter: an empty sample list is an error, never an empty "0/0 ok" run.
  if (!all.length) throw new DatasetError([{ file: dataset.info.root, message: `dataset '${dataset.info.id}' (adapter ${dataset.info.adapter}) lists no samples` }]);
  const ids = new Set<string>();
  const badIds: DatasetProblem[] = [];
  for (const s of all) {
    // The adapters reject bad ids with the file/line that made them; this backstop covers datasets registered
    // from elsewhere (plugins, tests), because an id becomes file names downstream.
    const why = sampleIdProblem(s.id);
    if (why) badIds.push({ file: s.lq, message: why });
    if (ids.has(s.id)) throw new DatasetError([{ file: dataset.info.root, message: `duplicate sample id '${s.id}'` }]);
    ids.add(s.id);
  }
  if (badIds.length) throw new DatasetError(badIds);
  const listed = spec.dataset.limit !== undefined ? all.slice(0, spec.dataset.limit) : all;
  const samples = opts.shard ? selectShard(listed, opts.shard) : listed;

  // 2. Restorer and metrics (missing model files, or pinned ones whose hash changed, fail here, before any image).
  const cache = sha256Cache();
  const hashedBefore = cache.hashed;
  const featuresBefore = featureCacheStats();
  let restorer: Restorer;
  try {
    restorer = await RESTORERS.get(spec.restorer.id)(spec.restorer.options);
  } catch (err) {
    throw prefixError(err, `${fileLabel}: restorer '${spec.restorer.id}': `);
  }
  for (const w of restorer.warnings ?? []) log(`warning: ${fileLabel}: ${w}`);
  const restorerFiles = (restorer.weightFiles ?? []).map((f) => ({ ...f }));
  const metrics = await createMetrics(spec.metrics, { device: spec.device, threads: spec.threads, file: fileLabel }).catch(async (err) => {
    await restorer.dispose();
    throw err;
  });
  const nFiles = restorerFiles.length + [...metrics.values()].reduce((n, m) => n + (m.info.files?.length ?? 0), 0);
  if (nFiles) {
    const hashed = cache.hashed - hashedBefore;
    log(`weights: ${nFiles} file(s) checked; sha256 ${hashed} computed, ${Math.max(0, nFiles - hashed)} from the cache (${cache.file})`);
  }
  const disposeAll = async () => {
    await restorer.dispose();
    for (const { metric } of metrics.values()) await metric.dispose?.();
  };

  try {
    // 3. Input hashes → dataset hash (comparability across runs, docs/architecture.md §5).
    const inputHashes = await mapLimit(samples, 4, sampleInputHash);
    const datasetHash = sha256Hex([...inputHashes].sort().join('\n'));

    // 4. Run directory: same spec identity → same directory (resume) unless --fresh.
    const specHash = sha256Hex(canonicalJson(identityOfSpec(spec)));
    const resultsDir = resolve(opts.resultsDir ?? 'results');
    const fullRunId = `${spec.name}-${specHash.slice(0, 10)}${opts.fresh ? `-${utcStamp()}` : ''}`;
    const runId = opts.shard ? shardRunId(fullRunId, opts.shard) : fullRunId;
    const shard = opts.shard ? { ...opts.shard, of: listed.length, sampleIds: sampleIdsHash(listed.map((s) => s.id)) } : undefined;
    const runDir = join(runsRoot(resultsDir), runId);
    const store = RunStore.create(runDir);
    const resumed = store.exists();
    // run.json records the hashes of the files actually loaded, never values copied from a manifest/bundle.json.
    const restorerWeights =
      restorer.info.weights.kind === 'none' || !restorerFiles.length ? restorer.info.weights : { ...restorer.info.weights, files: restorerFiles };
    const metricInfos = [...metrics.values()].map((m) => m.info);
    const now = new Date().toISOString();
    let run: RunJson;
    if (resumed) {
      const prev = store.readRunJson();
      // Resuming must not mix weights either: a file recorded by the run must still have the same hash.
      const changedWeights = weightChanges(
        [...(prev.restorer.weights.kind === 'none' ? [] : prev.restorer.weights.files), ...prev.metrics.flatMap((m) => m.files ?? [])],
        [...restorerFiles, ...metricInfos.flatMap((m) => m.files ?? [])],
      );
      if (changedWeights.length) {
        throw new Error(
          `${runDir}: weight file(s) changed since this run started (${changedWeights.join('; ')}); resuming would mix weights. Use --fresh to start a new run.`,
        );
      }
      const currentFiles = new Map(metricInfos.map((m) => [m.id, m.files]));
      run = {
        ...prev,
        restorer: { ...prev.restorer, weights: structuredClone(restorerWeights) as RunJson['restorer']['weights'] },
        metrics: prev.metrics.map((m) => (currentFiles.get(m.id) ? { ...m, files: currentFiles.get(m.id) } : m)),
        resumedAt: [...prev.resumedAt, now],
        spec: { ...(spec as unknown as Record<string, unknown>) },
        dataset: { ...prev.dataset, size: samples.length, limited: listed.length < all.length, hash: datasetHash, available: all.length },
        ...(shard ? { shard } : {}),
      };
    } else {
      run = {
        schemaVersion: RESULTS_SCHEMA_VERSION,
        runId,
        createdAt: now,
        resumedAt: [],
        specHash,
        spec: { ...(spec as unknown as Record<string, unknown>) },
        specFile: file,
        dataset: {
          ...dataset.info,
          available: all.length,
          size: samples.length,
          limited: listed.length < all.length,
          hash: datasetHash,
          maxRefs: samples.reduce((m, s) => Math.max(m, s.refs.length), 0),
        },
        restorer: {
          id: restorer.info.id,
          version: restorer.info.version,
          weights: structuredClone(restorerWeights) as RunJson['restorer']['weights'],
          settings: { ...restorer.info.settings },
          untrained: restorerWeights.kind === 'random-init',
        },
        metrics: [TIME_METRIC, ...metricInfos],
        code: codeVersion(),
        packages: packageVersions(),
        host: hostInfo(),
        ...(shard ? { shard } : {}),
      };
    }
    const tookOver = store.lock();
    if (tookOver) log(tookOver);
    try {
      store.writeRunJson(run);
      const cut = store.prepareAppend();
      if (cut.samples) log(`${store.samplesPath}: removed a torn final line (${cut.samples} bytes) left by an interrupted run`);
      const state = store.readSamples();
      for (const p of state.problems) log(`warning: ${problemText(p)} (${p.line !== undefined ? 'line' : 'file'} ignored)`);
      // Resuming must not mix inputs: every sample already scored 'ok' must still have the same input files.
      // (Inputs of failed samples may change: fixing a broken file and --retry-failed is a normal workflow.)
      const changed = samples.filter((s, i) => {
        const last = state.latest.get(s.id);
        return last?.status === 'ok' && last.inputHash !== undefined && last.inputHash !== inputHashes[i];
      });
      if (changed.length) {
        throw new Error(
          `${runDir}: the input files of ${changed.length} already-scored sample(s) changed since this run started ` +
            `(${listWithMore(changed.map((s) => s.id))}); resuming would mix inputs. Use --fresh to start a new run.`,
        );
      }
      const todo = samples
        .map((s, i) => ({ s, inputHash: inputHashes[i] }))
        .filter(({ s }) => {
          const last = state.latest.get(s.id);
          return !last || (last.status === 'error' && opts.retryFailed);
        });
      const already = samples.length - todo.length;
      if (resumed) log(`resuming ${runId}: ${already}/${samples.length} done, ${todo.length} to do`);
      else log(`run ${runId}: ${samples.length} samples${opts.shard ? ` (shard ${shardLabel(opts.shard)} of ${listed.length})` : ''} → ${runDir}`);

      // 5. The loop.
      const load: ImageLoader = loadImage;
      const perSampleMetrics = [...metrics.values()].filter((m) => m.info.kind !== 'distribution');
      const progress = createProgress(todo.length, already, { quiet: opts.quiet, mode: opts.progress, label: spec.name });
      let seq = state.maxSeq + 1;
      let processed = 0;
      let failed = 0;
      let aborted = false;
      try {
        for (const { s, inputHash } of todo) {
          if (opts.signal?.aborted) {
            aborted = true;
            break;
          }
          const line = await processSample(s, inputHash, { restorer, perSampleMetrics, load, store, spec, signal: opts.signal });
          if (line === 'aborted') {
            aborted = true;
            break;
          }
          store.appendSample({ ...line, seq: seq++ });
          // Thumbnails for the dashboard's grids, made here by the writer (the dashboard never writes): the
          // inputs' by content (shared by every run on this benchmark), the output's from the file just saved.
          const out = line.output ? { png: await readRegularFile(store.outputPath(line.output)), sha: line.outputHash } : undefined;
          const th = await writeSampleThumbs(resultsDir, store, s, out);
          for (const p of th.problems) log(`warning: thumbnail of sample '${s.id}' ${p} (the dashboard shows the full image)`);
          processed++;
          if (line.status === 'error') failed++;
          progress.tick(line.status);
        }
      } finally {
        progress.stop();
      }

      // 6. Distribution metrics listed in the spec run over the saved outputs once every sample is done.
      const distIds = [...metrics.values()].filter((m) => m.info.kind === 'distribution').map((m) => m.info.id);
      if (!aborted && distIds.length) {
        // NOTE: a set metric that cannot be computed here (FID over fewer than 2 images, a non-finite value from
        // degenerate reference statistics) is recorded as that metric's error and logged, not thrown: the samples
        // are already saved, a re-run does not fail on it again, and `refbench eval` retries it and fails loudly.
        const setRes = await evalInto(store, distIds, metrics, {
          signal: opts.signal,
          log,
          loader: load,
          paths: new Map(samples.map((s) => [s.id, { gt: s.gt, refs: s.refs }])),
          retryFailed: opts.retryFailed,
          saveStates: !!run.shard,
        });
        for (const f of setRes.setFailures) log(`warning: ${f} (recorded in ${store.evalPath}; \`refbench eval ${runId} --metrics <id>\` retries it)`);
      }
      const summary = buildSummary(store, run);
      store.writeSummary(summary);
      const cacheUse = featureCacheReport(featuresBefore);
      if (cacheUse) log(cacheUse);
      if (aborted) log(`interrupted: ${summary.samples.ok + summary.samples.error}/${summary.samples.total} samples saved in ${runDir}`);
      return { runDir, runId, summary, aborted, resumed, processed, failed };
    } finally {
      store.unlock();
    }
  } finally {
    await disposeAll();
  }
}

interface SampleCtx {
  readonly restorer: Restorer;
  readonly perSampleMetrics: readonly { metric: Metric<any>; info: MetricInfo }[];
  readonly load: ImageLoader;
  readonly store: RunStore;
  readonly spec: ResolvedRunSpec;
  readonly signal?: AbortSignal;
}

/** One sample end to end; returns its line (without seq), or 'aborted' if the signal fired during restore. */
async function processSample(s: SampleRef, inputHash: string, c: SampleCtx): Promise<Omit<SampleLine, 'seq'> | 'aborted'> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const base = { sampleId: s.id, inputHash, numRefs: s.refs.length };
  const fail = (error: string, extra: Partial<SampleLine> = {}): Omit<SampleLine, 'seq'> => ({
    ...base,
    status: 'error',
    error,
    metrics: {},
    timingsMs: { ...timings, total: performance.now() - t0 },
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    finishedAt: new Date().toISOString(),
    ...extra,
  });

  // Decode inputs with the shared size rule (datasets/load.ts): a corrupt file or a size the rule does not accept
  // fails this sample, naming the file; GT and refs of 1024² are resized with PIL bicubic as the reference loaders do.
  let lq: RgbImage;
  let refs: RgbImage[];
  let gt: RgbImage | undefined;
  const td = performance.now();
  try {
    lq = await c.load(s.lq, 'lq');
    refs = [];
    for (const r of s.refs) refs.push(await c.load(r, 'ref'));
    if (s.gt) gt = await c.load(s.gt, 'gt');
  } catch (err) {
    return fail(`input: ${(err as Error).message}`);
  }
  timings.decode = performance.now() - td;

  // Restore.
  let out;
  try {
    out = await c.restorer.restore({ sampleId: s.id, lq, refs }, { signal: c.signal });
  } catch (err) {
    if (c.signal?.aborted) return 'aborted';
    return fail(`restorer ${c.restorer.info.id} on ${s.lq}: ${(err as Error).message}`);
  }
  timings.restore = out.timings.total;
  const img = out.image;
  // The restorer contract: a 512×512 8-bit RGB image (HQ_SIZE), whatever the restorer (a program's file is
  // decoded and checked for bit depth and finiteness by the restorer itself).
  if (img.width !== HQ_SIZE || img.height !== HQ_SIZE || !(img.data instanceof Uint8Array) || img.data.length !== img.width * img.height * 3) {
    return fail(`restorer ${c.restorer.info.id}: output for ${s.lq} is ${img.width}×${img.height}, expected ${HQ_SIZE}×${HQ_SIZE} 8-bit RGB`);
  }

  // Save the PNG atomically BEFORE the line is appended.
  const te = performance.now();
  const png = await encodePng(img);
  const outputHash = sha256Hex(png);
  const output = c.spec.outputs.saveImages ? c.store.writeOutput(s.id, png) : undefined;
  timings.encode = performance.now() - te;

  // Per-sample metrics on the uint8 output (PNG is lossless, so this is exactly the saved file).
  const values: Record<string, number> = Number.isFinite(out.timings.total) ? { [TIME_METRIC.id]: out.timings.total } : {};
  const metricErrors: Record<string, string> = {};
  for (const { metric, info } of c.perSampleMetrics) {
    const tm = performance.now();
    try {
      values[info.id] = await scoreOne(metric, { sampleId: s.id, pred: img, gt, refs });
    } catch (err) {
      metricErrors[info.id] = (err as Error).message;
    }
    timings[`metric:${info.id}`] = performance.now() - tm;
  }
  const restorerFacts = { ...(out.info ?? {}), timings: out.timings };
  const common = { outputHash, ...(output ? { output } : {}), restorer: restorerFacts };
  const errs = Object.entries(metricErrors);
  if (errs.length) {
    return fail(errs.map(([id, m]) => `metric ${id}: ${m}`).join('; '), { ...common, metrics: values, metricErrors });
  }
  return {
    ...base,
    ...common,
    status: 'ok',
    metrics: values,
    timingsMs: { ...timings, total: performance.now() - t0 },
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    finishedAt: new Date().toISOString(),
  };
}

/**
 * Computes metrics over a run's saved outputs vs GT and appends to eval.jsonl, skipping (sample, metric) pairs
 * already there (resumable). Distribution metrics get one set line (recomputed only if absent).
 */
async function evalInto(
  store: RunStore,
  metricIds: readonly string[],
  metrics: Map<string, { metric: Metric<any>; info: MetricInfo }>,
  ctx: {
    signal?: AbortSignal;
    log: (m: string) => void;
    loader: ImageLoader;
    paths: ReadonlyMap<string, { gt?: string; refs: readonly string[] }>;
    /** Retry a set metric whose last line is an error over the same samples (`eval`, `run --retry-failed`). */
    retryFailed?: boolean;
    /** Save each set metric's state for `refbench merge` (shard runs; shard.ts). */
    saveStates?: boolean;
  },
): Promise<{ aborted: boolean; setFailures: string[] }> {
  store.prepareAppend();
  const samples = store.readSamples();
  const ev = store.readEval();
  const havePair = new Set<string>();
  /** Per set metric: n of its last line, and whether that line is an error. */
  const haveSet = new Map<string, { n: number; failed: boolean }>();
  for (const { value: e } of ev.records) {
    if ('sampleId' in e) havePair.add(`${e.metric}\u0000${e.sampleId}`);
    else haveSet.set(e.metric, { n: e.n, failed: 'error' in e });
  }
  const setFailures: string[] = [];
  const ok = [...samples.latest.values()].filter((l) => l.status === 'ok').sort((a, b) => a.sampleId.localeCompare(b.sampleId));
  for (const id of metricIds) {
    const m = metrics.get(id);
    if (!m) continue;
    const isDist = m.info.kind === 'distribution';
    // A set value is recomputed only when more samples are ok now than when it was computed (run extended); a
    // recorded failure over the same samples only on request (degenerate reference statistics fail the same way).
    const prev = haveSet.get(id);
    const stateMissing = isDist && ctx.saveStates && !hasSetState(store.dir, id);
    if (isDist && prev?.n === ok.length && (!prev.failed || !ctx.retryFailed) && !stateMissing) continue;
    let state = m.metric.init();
    let n = 0;
    for (const line of ok) {
      if (ctx.signal?.aborted) return { aborted: true, setFailures };
      if (!isDist && havePair.has(`${id}\u0000${line.sampleId}`)) continue;
      if (!line.output) throw new Error(`${store.samplesPath}: sample '${line.sampleId}' has no saved output (outputs.saveImages was false); cannot evaluate ${id}`);
      const pred = await readRgb(store.outputPath(line.output));
      const paths = ctx.paths.get(line.sampleId);
      const gt = paths?.gt ? await ctx.loader(paths.gt, 'gt') : undefined;
      const refs = m.info.kind === 'reference-set' && paths ? await Promise.all(paths.refs.map((r) => ctx.loader(r, 'ref'))) : undefined;
      const item: MetricItem = { sampleId: line.sampleId, pred, ...(gt ? { gt } : {}), ...(refs ? { refs } : {}) };
      if (isDist) {
        state = await m.metric.update(state, [item]);
        n++;
      } else {
        try {
          const v = await scoreOne(m.metric, item);
          store.appendEval({ sampleId: line.sampleId, metric: id, value: v, metricVersion: m.info.version, at: new Date().toISOString() });
        } catch (err) {
          ctx.log(`warning: ${id} on sample '${line.sampleId}': ${(err as Error).message}`);
        }
      }
    }
    if (isDist) {
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
      } catch (err) {
        // Recorded as this metric's result (summary, report and dashboard show it); the run's samples stay.
        const error = (err as Error).message;
        store.appendEval({ metric: id, error, n, metricVersion: m.info.version, at });
        setFailures.push(`${id} not computed over ${n} sample(s): ${error}`);
      }
    }
  }
  return { aborted: false, setFailures };
}

/**
 * `refbench eval`: computes `metricIds` over a finished (or partial) run's outputs vs GT, appends to eval.jsonl
 * (skipping pairs already present), adds the metrics' info to run.json and rewrites summary.json.
 * @param runRef a run directory or run id (under `resultsDir`).
 */
export async function evalRun(
  runRef: string,
  metricIds: readonly string[],
  opts: { resultsDir?: string; signal?: AbortSignal; quiet?: boolean; dataset?: Dataset; log?: (m: string) => void; metricOptions?: Record<string, Record<string, unknown>> } = {},
): Promise<{ runDir: string; summary: Summary; aborted: boolean }> {
  const log = opts.log ?? ((m: string) => (opts.quiet ? undefined : process.stderr.write(`${m}\n`)));
  const runDir = resolveRunDir(resolve(opts.resultsDir ?? 'results'), runRef);
  const store = new RunStore(runDir);
  const run = store.readRunJson();
  const spec = parseRunSpec(run.spec, store.runJsonPath);
  metricIds.forEach((id, i) => {
    try {
      if (id !== TIME_METRIC.id) METRICS.get(id);
    } catch (err) {
      throw prefixError(err, `--metrics[${i}]: `);
    }
  });
  const requests = metricIds
    .filter((id) => id !== TIME_METRIC.id)
    .map((id) => ({ id, options: opts.metricOptions?.[id] ?? spec.metrics.find((m) => m.id === id)?.options ?? {} }));
  const metrics = await createMetrics(requests, { device: spec.device, threads: spec.threads, file: '--metrics' });
  const featuresBefore = featureCacheStats();
  try {
    const dataset = opts.dataset ?? (await DATASETS.get(spec.dataset.adapter)(spec.dataset.options));
    const paths = new Map((await dataset.samples()).map((s) => [s.id, { gt: s.gt, refs: s.refs }]));
    const loader: ImageLoader = loadImage;
    const tookOver = store.lock();
    if (tookOver) log(tookOver);
    try {
      // Record the new metrics' descriptions in run.json (needed for direction/decimals in reports).
      const known = new Set(run.metrics.map((m) => m.id));
      const updated: RunJson = { ...run, metrics: [...run.metrics, ...[...metrics.values()].map((m) => m.info).filter((m) => !known.has(m.id))] };
      store.writeRunJson(updated);
      const r = await evalInto(store, [...metrics.keys()], metrics, { signal: opts.signal, log, loader, paths, retryFailed: true, saveStates: !!run.shard });
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
    for (const { metric } of metrics.values()) await metric.dispose?.();
  }
}
