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
 * A shard saves each distribution metric's state (FID moments, KID features, with the sample ids behind them),
 * because a set value cannot be rebuilt from per-sample values: results/set-states.ts writes and reads them.
 */
import { sha256Hex } from '../results/hash.ts';

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
