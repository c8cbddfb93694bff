/**
 * @file `refbench merge <shard runs...>`: one run built from the shard runs of `refbench run --shard i/n`
 * (shard.ts), equal to the run the spec would have made unsharded:
 * - samples.jsonl: every shard's latest line per sample (values, hashes, timings as the shard measured them),
 *   sorted by sample id and renumbered; the output PNGs copied;
 * - eval.jsonl: the shards' per-sample eval lines; each distribution metric (FID, KID) computed once from the
 *   shards' saved states merged (`Metric.merge`: FID moments added, KID features in sample-id order), never from
 *   the shards' own set values;
 * - run.json: the shards' common spec, dataset, restorer, metrics and code; `dataset.size`/`hash` over all samples
 *   (the hash an unsharded run computes); `merged` lists the shards with their hosts and dates;
 * - summary.json as for any run.
 *
 * Refused, before anything is written, naming the runs: a run that is not a shard, a shard whose recorded spec does
 * not hash to the `specHash` it carries (an edited run.json: the hash is recomputed, never trusted), shards of different specs,
 * datasets (sample lists), code, weights or metric versions, mixed shard counts, a shard given twice, a missing
 * shard (which), an incomplete shard or one being written (run.lock), a missing saved state, and an existing target.
 *
 * NOTE: the inputs are only read: no lock is taken in them (a lock file would be a write), no torn tail is cut;
 * the merged run is assembled in a temporary folder next to the target and renamed into place when complete.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { TIME_METRIC, type EvalLine, type MetricInfo, type RunJson, type SampleLine, type Summary } from '../../eval/results/schema.ts';
import { canonicalJson, identityOfSpec, parseRunSpec } from '../../eval/spec/run-spec.ts';
import { listWithMore } from '../../format.ts';
import { readSetState, statePaths } from '../results/set-states.ts';
import { resolveRunDir, RunStore, runsRoot, sha256Hex, stageRun } from '../results/store.ts';
import { carryThumbs } from '../results/thumbs-write.ts';
import type { ExportedState } from '../../eval/metrics/metric.ts';
import { openComponents, type Metrics } from './components.ts';
import { finiteValue } from './sample.ts';
import { hostInfo } from './provenance.ts';
import { shardLabel, type Shard } from './shard.ts';
import { buildSummary } from './summary.ts';

/** Options of `mergeShards`. */
export interface MergeOptions {
  /** Results root of the merged run (default `./results`); shard run ids are also looked up here. */
  readonly resultsDir?: string;
  /** Informational messages (default: stderr unless quiet). */
  readonly log?: (msg: string) => void;
  readonly quiet?: boolean;
}

/** What `mergeShards` built. */
export interface MergeResult {
  readonly runDir: string;
  readonly runId: string;
  readonly summary: Summary;
}

interface ShardRun {
  readonly dir: string;
  readonly run: RunJson;
  readonly shard: Shard;
  readonly latest: Map<string, SampleLine>;
  readonly evalLines: EvalLine[];
}

/** `<dir> (shard i/n)`, for messages. */
const label = (s: ShardRun) => `${s.dir} (shard ${shardLabel(s.shard)})`;

/** sha256 list of the weight files a run recorded, for comparing shards. */
function weightsOf(run: RunJson): string {
  const files = [...(run.restorer.weights.kind === 'none' ? [] : run.restorer.weights.files), ...run.metrics.flatMap((m) => m.files ?? [])];
  return files.map((f) => `${f.name}:${f.sha256}`).sort().join(',');
}

/** Throws unless `key(shard)` is the same for every shard, listing which shard has which value. */
function same(shards: readonly ShardRun[], what: string, key: (s: ShardRun) => string): void {
  const first = key(shards[0]);
  const odd = shards.filter((s) => key(s) !== first);
  if (!odd.length) return;
  const show = (v: string) => (v.length > 80 ? `${v.slice(0, 77)}…` : v);
  throw new Error(
    `refbench merge: the shards differ in ${what}: ${label(shards[0])} has ${show(first)}, ` +
      `${odd.map((s) => `${label(s)} has ${show(key(s))}`).join(', ')}. Only shards of one run (same spec, dataset, code and weights) can be merged.`,
  );
}

/** Reads one shard run (a pure read) and checks it is a complete shard that no process is writing. */
function readShard(dir: string): ShardRun {
  const store = new RunStore(dir);
  const run = store.readRunJson();
  if (!run.shard) throw new Error(`refbench merge: ${dir} is not a shard run (its run.json has no 'shard'; it was not made by \`refbench run --shard i/n\`)`);
  if (existsSync(store.lockPath)) {
    throw new Error(`refbench merge: ${dir} (shard ${run.shard.index}/${run.shard.count}) is locked (${store.lockPath}): it is being written, or its run was killed; let it finish or resume it, then merge`);
  }
  const samples = store.readSamples();
  const ev = store.readEval();
  const problems = [...samples.problems, ...ev.problems];
  if (problems.length) {
    throw new Error(`refbench merge: ${dir}: unreadable line(s): ${problems.slice(0, 3).map((p) => `${p.file}:${p.line}: ${p.message}`).join('; ')}`);
  }
  const shard = { index: run.shard.index, count: run.shard.count };
  // The spec hash decides which shards belong together and names the merged run: recompute it from the spec the
  // shard records (as `runSpec` in evaluate.ts derives it), so an edited spec cannot pass under another run's id.
  let recomputed: string;
  try {
    recomputed = sha256Hex(canonicalJson(identityOfSpec(parseRunSpec(run.spec, join(dir, 'run.json')))));
  } catch (err) {
    throw new Error(`refbench merge: ${dir} (shard ${shardLabel(shard)}): the spec its run.json records is not a valid run spec: ${(err as Error).message}`);
  }
  if (recomputed !== run.specHash) {
    throw new Error(
      `refbench merge: ${dir} (shard ${shardLabel(shard)}): the spec it records hashes to ${recomputed.slice(0, 12)}, not the specHash ` +
        `${run.specHash.slice(0, 12)} it carries: its run.json was edited after the run (or written by a refbench whose spec format differs ` +
        `from this one's). Re-run the shard, or merge with the refbench that made the shards.`,
    );
  }
  if (samples.latest.size < run.dataset.size) {
    throw new Error(
      `refbench merge: ${dir} (shard ${shardLabel(shard)}) is incomplete: ${samples.latest.size}/${run.dataset.size} samples done; ` +
        `resume it with \`refbench run <spec> --shard ${shardLabel(shard)}\` (same spec and flags), then merge`,
    );
  }
  return { dir, run, shard, latest: samples.latest, evalLines: ev.records.map((r) => r.value) };
}

/** The checks that the shards are all the shards of one run. */
function checkShards(shards: readonly ShardRun[]): void {
  same(shards, 'the number of shards', (s) => String(s.shard.count));
  const byIndex = new Map<number, ShardRun>();
  for (const s of shards) {
    const prev = byIndex.get(s.shard.index);
    if (prev) throw new Error(`refbench merge: shard ${shardLabel(s.shard)} is given twice: ${prev.dir} and ${s.dir}`);
    byIndex.set(s.shard.index, s);
  }
  const n = shards[0].shard.count;
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length) {
    throw new Error(
      `refbench merge: missing shard(s) ${missing.map((i) => `${i}/${n}`).join(', ')} (given: ${[...byIndex.keys()].sort((a, b) => a - b).map((i) => `${i}/${n}`).join(', ')}); ` +
        `run them with \`refbench run <spec> --shard i/${n}\` and pass all ${n} shard runs`,
    );
  }
  same(shards, 'spec (spec hash)', (s) => s.run.specHash);
  same(shards, 'dataset', (s) => {
    const d = s.run.dataset;
    return `${d.adapter} ${d.id} v${d.version}${d.split ? ` split ${d.split}` : ''}${d.level ? ` level ${d.level}` : ''}, ${s.run.shard!.of} samples, ids sha256 ${s.run.shard!.sampleIds.slice(0, 12)}`;
  });
  same(shards, 'code', (s) => `git ${s.run.code.gitSha ?? 'none'}${s.run.code.dirty ? ' (dirty)' : ''}, refbench ${s.run.code.packageVersion}`);
  same(shards, 'packages', (s) => JSON.stringify(s.run.packages));
  same(shards, 'restorer', (s) => `${s.run.restorer.id} v${s.run.restorer.version}`);
  same(shards, 'weight files (sha256)', (s) => weightsOf(s.run));
  same(shards, 'metrics (id@version)', (s) => s.run.metrics.map((m) => `${m.id}@${m.version}`).sort().join(', '));
  // Disjoint samples covering the full run (implied by the checks above for shards this refbench made; a copied or
  // edited run directory is caught here).
  const owner = new Map<string, ShardRun>();
  for (const s of shards) {
    for (const id of s.latest.keys()) {
      const o = owner.get(id);
      if (o) throw new Error(`refbench merge: sample '${id}' is in two shards: ${label(o)} and ${label(s)}`);
      owner.set(id, s);
    }
  }
  const of = shards[0].run.shard!.of;
  if (owner.size !== of) throw new Error(`refbench merge: the shards hold ${owner.size} samples, their run has ${of}`);
}

/**
 * Every shard's saved state of each distribution metric, loaded and checked before anything is written: a state
 * must cover exactly the shard's ok samples (not an older set of them).
 */
function loadSavedStates(shards: readonly ShardRun[], distInfos: readonly MetricInfo[]): Map<string, ExportedState[]> {
  return new Map(
    distInfos.map((info) => [
      info.id,
      shards.map((s) => {
        try {
          const st = readSetState(s.dir, info.id, info.version);
          const ok = [...s.latest.values()].filter((l) => l.status === 'ok').map((l) => l.sampleId).sort();
          const have = [...st.ids].sort();
          if (have.length !== ok.length || have.some((id, i) => id !== ok[i])) {
            throw new Error(`it covers ${have.length} sample(s), the shard has ${ok.length} ok (a stale state)`);
          }
          return st;
        } catch (err) {
          throw new Error(
            `refbench merge: ${label(s)} has no usable saved state of ${info.id}: ${(err as Error).message}; ` +
              `compute it with \`refbench eval ${s.dir} --metrics ${info.id}\``,
          );
        }
      }),
    ]),
  );
}

/** The merge machine must compute with the same files the shards used (reference statistics, network). */
function checkSameMetrics(distInfos: readonly MetricInfo[], metrics: Metrics): void {
  for (const info of distInfos) {
    const now = metrics.get(info.id)!.info;
    const a = (info.files ?? []).map((f) => f.sha256).sort().join(',');
    const b = (now.files ?? []).map((f) => f.sha256).sort().join(',');
    if (a !== b || now.version !== info.version) {
      throw new Error(`refbench merge: ${info.id} here (version ${now.version}, files ${b || 'none'}) differs from the shards' (version ${info.version}, files ${a || 'none'})`);
    }
  }
}

/** samples.jsonl (+ outputs, + the dashboard's thumbnails), sorted by sample id and renumbered; returns the lines. */
function writeSamples(store: RunStore, shards: readonly ShardRun[], resultsDir: string): SampleLine[] {
  const lines = shards.flatMap((s) => [...s.latest.values()].map((l) => ({ l, s }))).sort((x, y) => x.l.sampleId.localeCompare(y.l.sampleId));
  lines.forEach(({ l, s }, seq) => {
    if (l.output) store.copyOutputFrom(s.dir, l.output);
    store.appendSample({ ...l, seq });
  });
  // The dashboard's thumbnails of those samples (thumbs.jsonl and the files, from each shard's results folder).
  for (const s of shards) carryThumbs(s.dir, dirname(dirname(s.dir)), store, resultsDir, new Set(s.latest.keys()));
  return lines.map(({ l }) => l);
}

/** eval.jsonl: per-sample lines (latest per sample and metric), then each set metric from the merged states. */
function writeEval(store: RunStore, shards: readonly ShardRun[], distInfos: readonly MetricInfo[], metrics: Metrics, saved: Map<string, ExportedState[]>, log: (m: string) => void): void {
  const pairs = new Map<string, EvalLine>();
  for (const s of shards) for (const e of s.evalLines) if ('sampleId' in e) pairs.set(`${e.metric}\u0000${e.sampleId}`, e);
  for (const e of [...pairs.values()].sort((a, b) => ('sampleId' in a && 'sampleId' in b ? a.sampleId.localeCompare(b.sampleId) || a.metric.localeCompare(b.metric) : 0))) {
    store.appendEval(e);
  }
  for (const info of distInfos) {
    const { metric } = metrics.get(info.id)!;
    const states = saved.get(info.id)!.map((x, i) => metric.importState!(x, statePaths(shards[i].dir, info.id).npz));
    const state = states.reduce((a, b) => metric.merge(a, b));
    const at = new Date().toISOString();
    const n = saved.get(info.id)!.reduce((k, x) => k + x.ids.length, 0);
    try {
      const v = metric.compute(state);
      const value = finiteValue(v.value, `the value over ${n} sample(s)`);
      const extra: Record<string, number> | undefined = v.extra ? Object.fromEntries(Object.entries(v.extra).filter(([, x]) => Number.isFinite(x))) : undefined;
      store.appendEval({ metric: info.id, value, n, metricVersion: info.version, ...(extra ? { extra } : {}), at });
    } catch (err) {
      store.appendEval({ metric: info.id, error: (err as Error).message, n, metricVersion: info.version, at });
      log(`warning: ${info.id} not computed over ${n} merged sample(s): ${(err as Error).message}`);
    }
  }
}

/** run.json: the shards' common description over all samples (`lines`: the merged samples.jsonl). */
function mergedRunJson(shards: readonly ShardRun[], runId: string, lines: readonly SampleLine[]): RunJson {
  const base = shards[0].run;
  const inputHashes = lines.map((l) => l.inputHash ?? '');
  const { shard: _shard, ...rest } = base;
  return {
    ...rest,
    runId,
    createdAt: new Date().toISOString(),
    resumedAt: [],
    dataset: {
      ...base.dataset,
      size: base.shard!.of,
      hash: sha256Hex([...inputHashes].sort().join('\n')),
      maxRefs: Math.max(...shards.map((s) => s.run.dataset.maxRefs)),
    },
    metrics: [TIME_METRIC, ...base.metrics.filter((m) => m.id !== TIME_METRIC.id)],
    host: hostInfo(),
    merged: {
      at: new Date().toISOString(),
      shards: shards.map((s) => ({ ...s.shard, runId: s.run.runId, runDir: s.dir, createdAt: s.run.createdAt, host: `${s.run.host.cpu}, ${s.run.host.cores} cores, ${s.run.host.os}` })),
    },
  };
}

/**
 * Merges the shard runs `refs` (run directories or ids under `resultsDir`) into one run under `resultsDir`.
 * @throws before writing anything when the shards are not all the complete shards of one run (see the file header).
 */
export async function mergeShards(refs: readonly string[], opts: MergeOptions = {}): Promise<MergeResult> {
  const log = opts.log ?? ((m: string) => (opts.quiet ? undefined : process.stderr.write(`${m}\n`)));
  if (!refs.length) throw new Error('refbench merge: no shard runs given');
  const resultsDir = resolve(opts.resultsDir ?? 'results');
  const shards = refs.map((r) => readShard(resolveRunDir(resultsDir, r))).sort((a, b) => a.shard.index - b.shard.index);
  checkShards(shards);
  const base = shards[0].run;
  const spec = parseRunSpec(base.spec, join(shards[0].dir, 'run.json'));
  const stems = new Set(shards.map((s) => s.run.runId.replace(/-shard\d+of\d+$/, '')));
  const runId = stems.size === 1 ? [...stems][0] : `${spec.name}-${base.specHash.slice(0, 10)}`;
  const runDir = join(runsRoot(resultsDir), runId);
  if (existsSync(runDir)) throw new Error(`refbench merge: ${runDir} exists; merge never overwrites a run: remove it, or merge into another --results-dir`);
  const distInfos = base.metrics.filter((m) => m.kind === 'distribution');
  const saved = loadSavedStates(shards, distInfos);
  const comps = await openComponents({ metrics: distRequests(spec.metrics, distInfos), device: spec.device, threads: spec.threads, file: 'merge' });
  let staged: ReturnType<typeof stageRun> | undefined;
  try {
    checkSameMetrics(distInfos, comps.metrics);
    staged = stageRun(runDir, 'merging');
    const store = staged.store;
    const lines = writeSamples(store, shards, resultsDir);
    writeEval(store, shards, distInfos, comps.metrics, saved, log);
    const run = mergedRunJson(shards, runId, lines);
    store.writeRunJson(run);
    const summary = buildSummary(store, run);
    store.writeSummary(summary);
    staged.commit();
    log(`merged ${shards.length} shards (${lines.length} samples) → ${runDir}`);
    return { runDir, runId, summary: { ...summary } };
  } catch (err) {
    staged?.discard();
    throw err;
  } finally {
    await comps.dispose();
  }
}

/** The spec's requests for the distribution metrics (their options, e.g. reference statistics). */
function distRequests(requests: readonly { id: string; options: Readonly<Record<string, unknown>> }[], infos: readonly MetricInfo[]) {
  return infos.map((info) => ({ id: info.id, options: requests.find((r) => r.id === info.id)?.options ?? info.options }));
}
