/**
 * @file Number and list formatting shared by the dashboard and the CLI (runtime-neutral).
 */

/**
 * Joins at most `max` items and says how many were left out: `a, b, c … and 4 more`. A list is never cut silently.
 */
export function listWithMore(items: readonly string[], max = 5, sep = ', '): string {
  if (items.length <= max) return items.join(sep);
  return `${items.slice(0, max).join(sep)} … and ${items.length - max} more`;
}

/** Formats a metric value with its printed precision; `—` for missing values. */
export function fmt(v: number | null | undefined, decimals: number): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(decimals);
}

/** ↑ when higher is better, ↓ otherwise. */
export function arrow(higherIsBetter: boolean): string {
  return higherIsBetter ? '↑' : '↓';
}
