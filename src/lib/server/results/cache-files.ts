/**
 * @file Derived files kept in a results root for reuse across runs: `<results>/cache/` (FID reference statistics
 * and KID reference features of a benchmark's own images, computed once). Written atomically, so a file that
 * exists is complete: an interrupted computation leaves nothing that would be taken for a result.
 */
import { join } from 'node:path';
import { writeFileAtomicWith } from './atomic.ts';

/** The cache folder of a results root. */
export function cacheDir(resultsDir: string): string {
  return join(resultsDir, 'cache');
}

/** The path of cache file `name`. */
export function cachePath(resultsDir: string, name: string): string {
  return join(cacheDir(resultsDir), name);
}

/** Lets `write` (a writer that takes a path) produce a cache file atomically (atomic.ts `writeFileAtomicWith`). */
export async function writeCacheFile(path: string, write: (tmp: string) => Promise<void>): Promise<void> {
  await writeFileAtomicWith(path, write);
}
