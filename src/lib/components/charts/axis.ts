/**
 * @file Axis helpers of the dashboard's SVG plots: a padded data range (no forced zero: the axis spans the data) and
 * "nice" tick values (1, 2, 5 × 10^k steps).
 */

/** [lo, hi] of the finite values, padded by 5% (a flat range gets ±1% or ±1). */
export function extent(values: Iterable<number | null | undefined>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) {
    const d = Math.abs(lo) * 0.01 || 1;
    return [lo - d, hi + d];
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** About `count` round tick values inside [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/** A tick label with as many decimals as the step needs. */
export function tickLabel(t: number, all: readonly number[]): string {
  const step = all.length > 1 ? Math.abs(all[1] - all[0]) : Math.abs(t) || 1;
  const d = Math.max(0, Math.min(6, -Math.floor(Math.log10(step)) + (step / 10 ** Math.floor(Math.log10(step)) === 1 ? 0 : 1)));
  return t.toFixed(d);
}

/** The q-quantile of sorted values (linear interpolation, numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const i = Math.floor(h);
  return sorted[i] + (h - i) * ((sorted[Math.min(i + 1, sorted.length - 1)] ?? sorted[i]) - sorted[i]);
}
