/**
 * @file Timing and memory instrumentation for the ReF-LDM runner and the fusion benchmark.
 * Times are wall-clock milliseconds from `performance.now()`; memory is the process resident set size.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** Set once `resetPeakRss` succeeded: from then on the peak is read from VmHWM (which the reset lowers). */
let vmHwmReset = false;

/** VmHWM of /proc/self/status in bytes, or undefined off Linux. */
function vmHwmBytes(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resets the process's peak RSS to its current RSS (Linux: `5` → /proc/self/clear_refs resets VmHWM), so that
 * `peakRssBytes` afterwards is the peak since this call. Returns false where that is not possible (the peak then
 * stays the process-lifetime high-water mark).
 */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    return false;
  }
  vmHwmReset = vmHwmBytes() !== undefined;
  return vmHwmReset;
}

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
 * The process's peak resident set size in bytes: since the last successful `resetPeakRss` (VmHWM), else over the
 * process's lifetime (getrusage ru_maxrss; never decreases).
 * NOTE: without a reset this is a high-water mark of the whole process: to compare designs, run each in its own
 * process (the fusion benchmark does, and resets the mark before each reference count).
 */
export function peakRssBytes(): number {
  const hwm = vmHwmReset ? vmHwmBytes() : undefined;
  return hwm ?? process.resourceUsage().maxRSS * 1024;
}

/** Rounds a millisecond value to 0.01 ms for records. */
export function ms2(v: number): number {
  return Math.round(v * 100) / 100;
}
