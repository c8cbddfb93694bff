/**
 * @file The dashboard read model's in-memory caches (read-model.ts owns one of each per results folder). A read never
 * writes a file (docs/security.md), so every cache is memory only, and every entry carries the stamp of the files it
 * was derived from (mtime, size, inode: `stampOf`): a changed stamp recomputes. Errors are never cached.
 */
import { join } from 'node:path';
import { stampOf } from '../results/query.ts';
import { listRunIds } from '../results/store.ts';

/**
 * Values keyed by a slot (what was asked: a page and its query) and valid while the stamp key of the files they
 * came from is unchanged. At most `capacity` slots (the oldest is dropped).
 */
export class StampedCache<T> {
  readonly #entries = new Map<string, { key: string; value: T }>();

  constructor(readonly capacity: number) {}

  /** The cached value of `slot` if computed under the same `key`, else `compute()` (cached unless `key` is null). */
  async get<V extends T>(slot: string, key: string | null, compute: () => Promise<V>): Promise<V> {
    const hit = key === null ? undefined : this.#entries.get(slot);
    if (hit && hit.key === key) return hit.value as V;
    const value = await compute();
    this.#put(slot, key, value);
    return value;
  }

  /** As `get`, for a synchronous computation. */
  getSync<V extends T>(slot: string, key: string | null, compute: () => V): V {
    const hit = key === null ? undefined : this.#entries.get(slot);
    if (hit && hit.key === key) return hit.value as V;
    const value = compute();
    this.#put(slot, key, value);
    return value;
  }

  #put(slot: string, key: string | null, value: T): void {
    if (key === null) return;
    this.#entries.delete(slot);
    if (this.#entries.size >= this.capacity) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(slot, { key, value });
  }
}

/** Values that expire `ttlMs` after they were made (for listings that have no file stamp of their own). */
export class ExpiringCache<T> {
  readonly #entries = new Map<string, { at: number; value: T }>();

  constructor(readonly ttlMs: number) {}

  get(key: string, make: () => T): T {
    const now = Date.now();
    for (const [k, v] of this.#entries) if (now - v.at > this.ttlMs) this.#entries.delete(k);
    let hit = this.#entries.get(key);
    if (!hit) {
      hit = { at: now, value: make() };
      this.#entries.set(key, hit);
    }
    return hit.value;
  }
}

/**
 * The stamp key of the WHOLE results folder: every run id under `root` with the stamps of its files. Any run
 * added, removed or written changes it. Null when the runs folder cannot be listed (then nothing is cached).
 */
export function resultsFolderKey(root: string): string | null {
  try {
    return selectedRunsKey(root, listRunIds(root));
  } catch {
    return null;
  }
}

/**
 * The stamp key of the CHOSEN runs `ids` only (a comparison): other runs being written do not change it. Null when
 * one of them cannot be stamped.
 */
export function selectedRunsKey(root: string, ids: readonly string[]): string | null {
  try {
    return JSON.stringify(ids.map((id) => [id, stampOf(join(root, 'runs', id))]));
  } catch {
    return null;
  }
}
