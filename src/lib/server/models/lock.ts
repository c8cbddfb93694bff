/**
 * @file `models/weights/lock.json`: hashes pinned at first fetch (files without a published sha256), recorded at
 * conversion (outputs), and the last hash of each file (keyed by size + mtime so `list` needs no re-hash).
 * Written only by `fetch` and `convert`; `verify` and `list` only read it. Also the status of files and outputs.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { ModelEntry, ModelFile } from './manifest.ts';
import { modelDir, modelsRoot } from './paths.ts';
import { sha256File } from './sha256-cache.ts';

export interface LockRecord {
  sha256: string;
  sizeBytes: number;
  mtimeMs: number;
  /** ISO time of the last hash. */
  hashedAt: string;
  /** Whether that hash matched the expected one. */
  ok: boolean;
  /** For outputs: the converter command that produced them. */
  command?: string;
  /** The hash pinned at first fetch/verify (files without a published sha256; outputs at conversion). */
  pinned?: string;
}

export interface Lock {
  schemaVersion: 1;
  models: Record<string, { files: Record<string, LockRecord>; outputs: Record<string, LockRecord> }>;
}

export function lockPath(modelsDir?: string): string {
  return join(modelsRoot(modelsDir), 'weights', 'lock.json');
}

export async function readLock(modelsDir?: string): Promise<Lock> {
  const p = lockPath(modelsDir);
  if (!existsSync(p)) return { schemaVersion: 1, models: {} };
  try {
    const j = JSON.parse(await readFile(p, 'utf8')) as Lock;
    if (j.schemaVersion !== 1 || typeof j.models !== 'object') throw new Error('unknown schemaVersion');
    return j;
  } catch (err) {
    throw new Error(`${p}: unreadable lock file (${err instanceof Error ? err.message : String(err)}); it pins model hashes: restore it, or delete it and run refbench models fetch <id> (and convert <id>) for each model`);
  }
}

/** Writes the lock atomically (temp file + rename). */
export async function writeLock(lock: Lock, modelsDir?: string): Promise<void> {
  const p = lockPath(modelsDir);
  await mkdir(dirname(p), { recursive: true });
  const tmp = `${p}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(lock, null, 1) + '\n');
  await rename(tmp, p);
}

export function lockEntry(lock: Lock, id: string) {
  return (lock.models[id] ??= { files: {}, outputs: {} });
}

export { sha256File };

/**
 * sha256 of a file, or of a directory as sha256 over its sorted "relpath sha256" lines (a converted bundle).
 */
export async function sha256Path(path: string): Promise<string> {
  if (!statSync(path).isDirectory()) return sha256File(path);
  const lines: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else lines.push(`${relative(path, p)} ${await sha256File(p)}`);
    }
  };
  await walk(path);
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/** `present`: there, not hashed since it changed; `unpinned`: hashed, but no pin to compare with. */
export type FileStatus = 'missing' | 'present' | 'verified' | 'unpinned' | 'hash mismatch';

/**
 * Checks a hash against what is expected of `file`: the published sha256, else the hash pinned in the lock,
 * else the published prefix. Returns null when it matches, else the reason.
 */
export function hashProblem(file: ModelFile, sha: string, pinned: string | undefined): string | null {
  if (file.sha256) return sha === file.sha256 ? null : `sha256 ${sha} ≠ published ${file.sha256}`;
  if (pinned) return sha === pinned ? null : `sha256 ${sha} ≠ pinned at first fetch ${pinned}`;
  if (file.sha256Prefix && !sha.startsWith(file.sha256Prefix)) return `sha256 ${sha} does not start with the published prefix ${file.sha256Prefix}`;
  return null;
}

/** Status without hashing: a lock record of the same size and mtime stands for a fresh hash. */
export function cachedStatus(path: string, rec: LockRecord | undefined): FileStatus {
  if (!existsSync(path)) return 'missing';
  const st = statSync(path);
  if (!rec || rec.sizeBytes !== st.size || Math.abs(rec.mtimeMs - st.mtimeMs) > 1) return 'present';
  return rec.ok ? 'verified' : 'hash mismatch';
}

export function record(path: string, sha: string, ok: boolean, command?: string): LockRecord {
  const st = statSync(path);
  return { sha256: sha, sizeBytes: st.size, mtimeMs: st.mtimeMs, hashedAt: new Date().toISOString(), ok, ...(command ? { command } : {}) };
}

/** One row of `refbench models list` / `verify`. */
export interface StatusRow {
  readonly id: string;
  readonly kind: 'file' | 'output';
  readonly name: string;
  readonly path: string;
  readonly status: FileStatus;
  readonly detail?: string;
}

/** Status of every file and output of `entry` (no hashing). */
export function entryStatus(entry: ModelEntry, lock: Lock, modelsDir?: string): StatusRow[] {
  const le = lock.models[entry.id];
  const rows: StatusRow[] = entry.files.map((f) => {
    const p = join(modelDir(modelsDir, entry.id), f.name);
    return { id: entry.id, kind: 'file', name: f.name, path: p, status: cachedStatus(p, le?.files[f.name]) };
  });
  for (const o of entry.outputs) {
    const p = join(modelsRoot(modelsDir), o);
    let status = cachedStatus(p, le?.outputs[o]);
    // An output never hashed by `convert` is only "present"; a file used as-is is verified with its file row.
    if (status === 'present' && !entry.convert) {
      const f = entry.files.find((x) => join(modelDir(modelsDir, entry.id), x.name) === p);
      if (f) status = cachedStatus(p, le?.files[f.name]);
    }
    rows.push({ id: entry.id, kind: 'output', name: o, path: p, status });
  }
  return rows;
}

/**
 * Re-hashes every present file and output of `entry` and compares each with its pin. Read-only: it never writes
 * the lock (a check must not pin anything; `fetch` pins downloads and `convert` records outputs).
 * @returns the rows with fresh statuses: `verified` (matches its pin), `hash mismatch`, `unpinned` (present, no
 *   hash to compare with yet), `missing`.
 */
export async function verifyEntry(entry: ModelEntry, lock: Lock, modelsDir?: string, warn: (m: string) => void = () => {}): Promise<StatusRow[]> {
  const le = lock.models[entry.id];
  const rows: StatusRow[] = [];
  for (const f of entry.files) {
    const p = join(modelDir(modelsDir, entry.id), f.name);
    if (!existsSync(p)) {
      rows.push({ id: entry.id, kind: 'file', name: f.name, path: p, status: 'missing' });
      continue;
    }
    const sha = await sha256File(p);
    const pinned = le?.files[f.name]?.pinned;
    const problem = hashProblem(f, sha, pinned);
    if (!problem && f.sha256Unverified && sha !== f.sha256Unverified) warn(`${p}: sha256 ${sha} differs from the third-party value ${f.sha256Unverified} (unverified; kept)`);
    const hasPin = !!(f.sha256 || pinned);
    const status: FileStatus = problem ? 'hash mismatch' : hasPin ? 'verified' : 'unpinned';
    const detail = problem ?? (hasPin ? sha : `${sha} (no pinned hash to compare with${f.sha256Prefix ? `; starts with the published prefix ${f.sha256Prefix}` : ''}; refbench models fetch ${entry.id} pins it)`);
    rows.push({ id: entry.id, kind: 'file', name: f.name, path: p, status, detail });
  }
  for (const o of entry.outputs) {
    const p = join(modelsRoot(modelsDir), o);
    if (!existsSync(p)) {
      rows.push({ id: entry.id, kind: 'output', name: o, path: p, status: 'missing' });
      continue;
    }
    const asIs = !entry.convert && entry.files.some((f) => join(modelDir(modelsDir, entry.id), f.name) === p);
    if (asIs) {
      // A file used as-is shares its file row's verdict.
      const fileRow = rows.find((r) => r.path === p)!;
      rows.push({ id: entry.id, kind: 'output', name: o, path: p, status: fileRow.status, detail: 'see the file row' });
      continue;
    }
    const sha = await sha256Path(p);
    const pinned = le?.outputs[o]?.pinned;
    const status: FileStatus = !pinned ? 'unpinned' : pinned === sha ? 'verified' : 'hash mismatch';
    const detail =
      status === 'verified' ? sha
      : status === 'unpinned' ? `${sha} (never recorded here; refbench models convert ${entry.id} records it)`
      : `sha256 ${sha} ≠ recorded at conversion ${pinned}`;
    rows.push({ id: entry.id, kind: 'output', name: o, path: p, status, detail });
  }
  return rows;
}
