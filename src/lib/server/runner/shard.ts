/**
 * @file Sharded runs (`refbench run <spec> --shard i/n`): which samples a shard evaluates, its run id, and the
 * saved state of its distribution metrics that `refbench merge` (./merge.ts) combines.
 *
 * The split: the full run's sample list (the adapter's order, after `dataset.limit`) is dealt round-robin, so
 * shard i of n evaluates the samples at positions i, i + n, i + 2n, … Every machine that lists the same dataset
 * gets the same split; shard sizes differ by at most one. A shard is a normal run directory (resumable, reportable)
 * whose run.json records `shard: { index, count, of, sampleIds }` (the full run's size and the sha256 of its sample
 * ids), so a merge can check that all shards split the same run.
 *
 * A shard saves each distribution metric's state (FID moments, KID features, with the sample ids behind them) in
 * `states/<metric>.npz` + `states/<metric>.json`, because a set value cannot be rebuilt from per-sample values.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExportedState } from '../../eval/metrics/metric.ts';
import { encodeNpz, parseNpz } from '../metrics/npz.ts';
import { sha256Hex, writeFileAtomic, writeJsonAtomic } from '../results/store.ts';

/** Shard `index` (0-based) of `count`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/**
 * Parses `i/n` (0 ≤ i < n, integers; the SLURM/Kubernetes indices are 0-based).
 * @throws naming `flag` and the expected form.
 */
export function parseShard(text: string, flag = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`${flag}: expected i/n (shard i of n, 0-based: 0/3, 1/3, 2/3), got ${JSON.stringify(text)}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new Error(`${flag}: the number of shards must be at least 1, got ${JSON.stringify(text)}`);
  if (index >= count) {
    throw new Error(`${flag}: shard index ${index} is out of range for ${count} shard(s) (0..${count - 1}; SLURM: --array=0-${count - 1})`);
  }
  return { index, count };
}

/** `i/n`, as the CLI takes it. */
export function shardLabel(s: Shard): string {
  return `${s.index}/${s.count}`;
}

/**
 * The samples of shard `s`: positions ≡ index (mod count) of the full run's list, in order.
 * @throws when the shard would be empty (more shards than samples).
 */
export function selectShard<T>(samples: readonly T[], s: Shard): T[] {
  if (s.index >= samples.length) {
    throw new Error(`--shard ${shardLabel(s)}: the run has only ${samples.length} sample(s), so shard ${s.index} would be empty; use at most ${samples.length} shard(s)`);
  }
  return samples.filter((_, k) => k % s.count === s.index);
}

/** sha256 of the full run's sample ids, one per line in run order: the dataset side of a shard's full-run identity. */
export function sampleIdsHash(ids: readonly string[]): string {
  return sha256Hex(ids.join('\n'));
}

/** The run id of a shard: the full run's id plus `-shard<i>of<n>`. */
export function shardRunId(fullRunId: string, s: Shard): string {
  return `${fullRunId}-shard${s.index}of${s.count}`;
}

/** The folder of saved set-metric states in a run directory. */
export function statesDir(runDir: string): string {
  return join(runDir, 'states');
}

/** Sidecar describing a saved state: which metric and version, the samples behind it, and the .npz's hash. */
interface StateMeta {
  readonly format: 'refbench-set-state';
  readonly metric: string;
  readonly metricVersion: string;
  readonly ids: readonly string[];
  readonly npzSha256: string;
}

const stemOf = (metricId: string) => metricId.replace(/[^A-Za-z0-9._-]/g, '_');

/** Paths of a metric's saved state in a run directory. */
export function statePaths(runDir: string, metricId: string): { npz: string; json: string } {
  const base = join(statesDir(runDir), stemOf(metricId));
  return { npz: `${base}.npz`, json: `${base}.json` };
}

/** Writes a metric's state (atomically: the .npz first, then the sidecar naming its hash). */
export function writeSetState(runDir: string, metricId: string, metricVersion: string, saved: ExportedState): void {
  mkdirSync(statesDir(runDir), { recursive: true });
  const p = statePaths(runDir, metricId);
  const npz = encodeNpz(saved.arrays);
  writeFileAtomic(p.npz, npz);
  const meta: StateMeta = { format: 'refbench-set-state', metric: metricId, metricVersion, ids: [...saved.ids], npzSha256: sha256Hex(npz) };
  writeJsonAtomic(p.json, meta);
}

/** True when a run directory holds a saved state for `metricId`. */
export function hasSetState(runDir: string, metricId: string): boolean {
  const p = statePaths(runDir, metricId);
  return existsSync(p.json) && existsSync(p.npz);
}

/**
 * Reads a metric's saved state (a pure read).
 * @throws naming the file when it is missing, of another metric version, or does not match its sidecar.
 */
export function readSetState(runDir: string, metricId: string, metricVersion: string): ExportedState {
  const p = statePaths(runDir, metricId);
  let meta: StateMeta;
  let npz: Buffer;
  try {
    meta = JSON.parse(readFileSync(p.json, 'utf8')) as StateMeta;
    npz = readFileSync(p.npz);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`${e.path ?? p.json}: ${e.code === 'ENOENT' ? 'missing' : `unreadable (${e.message})`}`);
  }
  if (meta?.format !== 'refbench-set-state' || meta.metric !== metricId || !Array.isArray(meta.ids) || meta.ids.some((x) => typeof x !== 'string')) {
    throw new Error(`${p.json}: not a saved state of metric '${metricId}'`);
  }
  if (meta.metricVersion !== metricVersion) throw new Error(`${p.json}: saved by ${metricId} version '${meta.metricVersion}', this run's is '${metricVersion}'`);
  if (sha256Hex(npz) !== meta.npzSha256) throw new Error(`${p.npz}: sha256 differs from the one recorded in ${p.json} (a torn or replaced file)`);
  const arrays = Object.fromEntries([...parseNpz(npz, p.npz)].map(([k, a]) => [k, { shape: [...a.shape], data: a.data }]));
  return { arrays, ids: meta.ids };
}
