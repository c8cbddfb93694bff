/**
 * @file Timing and memory instrumentation for the ReF-LDM runner and the fusion benchmark.
 * Times are wall-clock milliseconds from `performance.now()`; memory is the process resident set size.
 */

/** Milliseconds since `t0` (a `performance.now()` value). */
export function since(t0: number): number {
  return performance.now() - t0;
}

/** Runs `fn` and returns its value and its duration in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, since(t0)];
}

/** Current resident set size in bytes. */
export function rssBytes(): number {
  return process.memoryUsage().rss;
}

/**
 * The process's peak resident set size so far, in bytes (getrusage ru_maxrss; never decreases).
 * NOTE: a high-water mark of the whole process: to compare designs, run each in its own process
 * (the fusion benchmark does).
 */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Rounds a millisecond value to 0.01 ms for records. */
export function ms2(v: number): number {
  return Math.round(v * 100) / 100;
}
