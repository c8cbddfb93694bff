/**
 * @file Step 4 of a run (evaluate.ts): the run's identity and its run.json record. Pure: no file, clock or process
 * is read here; the caller passes the facts (the time, the provenance) in.
 *
 * - The run id is `<spec.name>-<first 10 hex of the spec hash>`: the same spec identity (run-spec.ts
 *   `identityOfSpec`: everything but threads, tags and dataset.limit) gives the same directory, so a run resumes;
 *   `--fresh` adds a UTC timestamp; a shard adds `-shard<i>of<n>` (shard.ts).
 * - A new run's record describes the dataset, restorer, metrics and provenance. A resumed run keeps its record and
 *   refreshes what may change between calls (the spec's non-identity fields, the sample count, the weight files'
 *   current records), after checking that no weight file it recorded has changed: resuming must not mix weights.
 */
import type { DatasetInfo, SampleRef } from '../../eval/datasets/types.ts';
import { RESULTS_SCHEMA_VERSION, TIME_METRIC, type MetricInfo, type RunJson } from '../../eval/results/schema.ts';
import type { RestorerInfo } from '../../eval/restorers/restorer.ts';
import { canonicalJson, identityOfSpec, type ResolvedRunSpec } from '../../eval/spec/run-spec.ts';
import type { WeightFileRecord } from '../../eval/types.ts';
import { sha256Hex } from '../results/store.ts';
import { sampleIdsHash, shardRunId, type Shard } from './shard.ts';

/** A run's identity: its spec hash, its run id, and (for a shard) the `shard` record of run.json. */
export interface RunIdentity {
  readonly specHash: string;
  readonly runId: string;
  readonly shard?: NonNullable<RunJson['shard']>;
}

/** `20261208T001502Z`: the UTC time, to the second, as a run id suffix. */
export function utcStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * The run id and spec hash of `spec`.
 * @param o.listedIds the full run's sample ids in run order (a shard records their hash and count).
 * @param o.now the time of a `fresh` run's suffix.
 */
export function runIdentity(spec: ResolvedRunSpec, o: { fresh?: boolean; shard?: Shard; listedIds: readonly string[]; now: Date }): RunIdentity {
  const specHash = sha256Hex(canonicalJson(identityOfSpec(spec)));
  const fullRunId = `${spec.name}-${specHash.slice(0, 10)}${o.fresh ? `-${utcStamp(o.now)}` : ''}`;
  if (!o.shard) return { specHash, runId: fullRunId };
  return {
    specHash,
    runId: shardRunId(fullRunId, o.shard),
    shard: { ...o.shard, of: o.listedIds.length, sampleIds: sampleIdsHash(o.listedIds) },
  };
}

/** What run.json says about the dataset of this call. */
export interface DatasetFacts {
  readonly info: DatasetInfo;
  /** Samples the dataset lists. */
  readonly available: number;
  /** Samples this run evaluates. */
  readonly size: number;
  /** True when `dataset.limit` cut the list. */
  readonly limited: boolean;
  /** sha256 over the sorted input hashes (inputs.ts `hashInputs`). */
  readonly hash: string;
  /** The most references any sample has. */
  readonly maxRefs: number;
}

/** The dataset facts of a run over `samples` (of `listed`, of `all`). */
export function datasetFacts(info: DatasetInfo, all: readonly SampleRef[], listed: readonly SampleRef[], samples: readonly SampleRef[], hash: string): DatasetFacts {
  return {
    info,
    available: all.length,
    size: samples.length,
    limited: listed.length < all.length,
    hash,
    maxRefs: samples.reduce((m, s) => Math.max(m, s.refs.length), 0),
  };
}

/** Everything a run record is built from. */
export interface RunFacts {
  readonly identity: RunIdentity;
  readonly spec: ResolvedRunSpec;
  readonly specFile: string | null;
  readonly runDir: string;
  readonly dataset: DatasetFacts;
  readonly restorer: RestorerInfo;
  /** The restorer's weight files as it hashed them. */
  readonly restorerFiles: readonly WeightFileRecord[];
  readonly metrics: readonly MetricInfo[];
  /** ISO time of this call. */
  readonly now: string;
}

/** Where the code ran: provenance.ts `codeVersion`, `packageVersions`, `hostInfo`. */
export type Provenance = Pick<RunJson, 'code' | 'packages' | 'host'>;

/** run.json's restorer weights: the restorer's description, with the files actually loaded (never a manifest's). */
function restorerWeights(f: RunFacts): RunJson['restorer']['weights'] {
  const w = f.restorer.weights;
  return structuredClone(w.kind === 'none' || !f.restorerFiles.length ? w : { ...w, files: f.restorerFiles }) as RunJson['restorer']['weights'];
}

/** The record of a new run. */
export function newRunRecord(f: RunFacts, provenance: Provenance): RunJson {
  const { info, ...d } = f.dataset;
  const weights = restorerWeights(f);
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId: f.identity.runId,
    createdAt: f.now,
    resumedAt: [],
    specHash: f.identity.specHash,
    spec: { ...(f.spec as unknown as Record<string, unknown>) },
    specFile: f.specFile,
    dataset: { ...info, available: d.available, size: d.size, limited: d.limited, hash: d.hash, maxRefs: d.maxRefs },
    restorer: {
      id: f.restorer.id,
      version: f.restorer.version,
      weights,
      settings: { ...f.restorer.settings },
      untrained: weights.kind === 'random-init',
    },
    metrics: [TIME_METRIC, ...f.metrics],
    code: provenance.code,
    packages: provenance.packages,
    host: provenance.host,
    ...(f.identity.shard ? { shard: f.identity.shard } : {}),
  };
}

/** `name: recorded → now` for every weight file recorded before (by path, else by name) whose hash differs now. */
export function weightChanges(before: readonly { name: string; sha256: string; path?: string }[], now: readonly { name: string; sha256: string; path?: string }[]): string[] {
  const out: string[] = [];
  for (const b of before) {
    const n = now.find((x) => (b.path ? x.path === b.path : x.name === b.name));
    if (n && n.sha256 !== b.sha256) out.push(`${b.path ?? b.name}: sha256 ${b.sha256.slice(0, 12)}… → ${n.sha256.slice(0, 12)}…`);
  }
  return out;
}

/**
 * The record of a resumed run: `prev` with this call's time, spec, sample count and weight file records.
 * @throws naming the run directory and every changed file when a weight file the run recorded has another hash now.
 */
export function resumedRunRecord(prev: RunJson, f: RunFacts): RunJson {
  const changed = weightChanges(
    [...(prev.restorer.weights.kind === 'none' ? [] : prev.restorer.weights.files), ...prev.metrics.flatMap((m) => m.files ?? [])],
    [...f.restorerFiles, ...f.metrics.flatMap((m) => m.files ?? [])],
  );
  if (changed.length) {
    throw new Error(`${f.runDir}: weight file(s) changed since this run started (${changed.join('; ')}); resuming would mix weights. Use --fresh to start a new run.`);
  }
  const currentFiles = new Map(f.metrics.map((m) => [m.id, m.files]));
  const d = f.dataset;
  return {
    ...prev,
    restorer: { ...prev.restorer, weights: restorerWeights(f) },
    metrics: prev.metrics.map((m) => (currentFiles.get(m.id) ? { ...m, files: currentFiles.get(m.id) } : m)),
    resumedAt: [...prev.resumedAt, f.now],
    spec: { ...(f.spec as unknown as Record<string, unknown>) },
    dataset: { ...prev.dataset, size: d.size, limited: d.limited, hash: d.hash, available: d.available },
    ...(f.identity.shard ? { shard: f.identity.shard } : {}),
  };
}
