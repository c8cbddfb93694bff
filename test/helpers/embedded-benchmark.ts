/**
 * @file The embedded benchmark (synthfaces-ref, the full 44 faces as `refbench data synth` makes them) generated
 * once into a folder shared by the test files that need it, under a lock so that test files running at the same
 * time do not generate it twice or swap its files under each other.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSynthfaces } from '../../src/lib/server/datasets/synthfaces/generate.ts';

/** Where the shared copy lives (outside the repository, so tests never write into the checkout). */
export const EMBEDDED_ROOT = join(tmpdir(), 'refbench-test-synthfaces-ref');

/** A lock older than this is left over from a killed process: generation takes about a minute. */
const STALE_LOCK_MS = 10 * 60_000;

/** Generates the embedded benchmark once (a valid copy is reused) and returns its root. */
export async function embeddedBenchmarkRoot(): Promise<string> {
  const lock = `${EMBEDDED_ROOT}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      } catch {
        // the holder released it meanwhile
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    await ensureSynthfaces(EMBEDDED_ROOT);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return EMBEDDED_ROOT;
}
