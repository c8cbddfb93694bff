/**
 * @file Shared by the speed benches: interleaved rounds and their median and range.
 *
 * Each round times every side once, ours and the reference back to back in one process run (the reference in a
 * long-lived subprocess that times on request), with the first mover alternating from round to round, so load
 * from other processes and thermal drift hit both sides alike. A ratio is taken per round (the two sides measured
 * within seconds of each other) and reported as the median and the range (min–max) over the rounds;
 * docs/performance.md quotes exactly these. The machine's load average before and after is printed with them.
 */
import { availableParallelism, loadavg } from 'node:os';

/** Median and range of a sample. */
export interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly values: readonly number[];
}

/** Median (mean of the middle two for an even count), min and max. */
export function stats(values: readonly number[]): Stats {
  if (!values.length) throw new Error('stats: no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], values };
}

/**
 * Runs `rounds` rounds; in each, every side is called once and returns one measurement (e.g. seconds per pass,
 * or items/s). Sides run in the given order in even rounds and in reverse order in odd rounds.
 * @returns per side, its measurement of each round (index = round).
 */
export async function interleavedRounds<K extends string>(rounds: number, sides: Record<K, () => Promise<number> | number>, onRound?: (r: number) => void): Promise<Record<K, number[]>> {
  const names = Object.keys(sides) as K[];
  const out = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 ? [...names].reverse() : names) out[k][r] = await sides[k]();
    onRound?.(r);
  }
  return out;
}

/** Per-round ratios `num[i] / den[i]`. */
export function ratios(num: readonly number[], den: readonly number[]): number[] {
  if (num.length !== den.length) throw new Error(`ratios: ${num.length} vs ${den.length} rounds`);
  return num.map((v, i) => v / den[i]);
}

/** `1.78× (1.52–1.95)`: the median and the range, with a unit suffix. */
export function fmtStats(s: Stats, digits = 2, unit = '×'): string {
  return `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/** The machine's 1-minute load average against its cores, e.g. `load 0.42 on 2 cores`. */
export function loadNote(): string {
  return `load ${loadavg()[0].toFixed(2)} on ${availableParallelism()} cores`;
}
