/**
 * @file Number formatting shared by the dashboard (runtime-neutral).
 */

/** Formats a metric value with its printed precision; `—` for missing values. */
export function fmt(v: number | null | undefined, decimals: number): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(decimals);
}

/** ↑ when higher is better, ↓ otherwise. */
export function arrow(higherIsBetter: boolean): string {
  return higherIsBetter ? '↑' : '↓';
}
