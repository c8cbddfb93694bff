/**
 * @file A run's saved set-metric states (`<run>/states/<metric>.npz` + `<metric>.json`): the state of each
 * distribution metric (FID moments, KID features, with the sample ids behind them) that a shard run saves and
 * `refbench merge` combines (runner/shard.ts, runner/merge.ts). Written atomically, the .npz first, then the
 * sidecar naming its hash, so a reader never takes a torn or replaced .npz for a state.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExportedState } from '../../eval/metrics/metric.ts';
import { encodeNpz, parseNpz } from '../metrics/npz.ts';
import { writeFileAtomic, writeJsonAtomic } from './atomic.ts';
import { sha256Hex } from './hash.ts';

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
