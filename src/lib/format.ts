/**
 * @file Number and list formatting shared by the dashboard and the CLI (runtime-neutral).
 */

/**
 * `s` with control characters (all but newline and tab) and bidirectional overrides escaped as `\uXXXX`. Messages
 * that quote bytes of a file (a JSON parser's "Unexpected token" snippet, a key name) go through here, so that a
 * corrupt or hostile results file cannot send an ESC sequence, a carriage return or a right-to-left override to
 * the user's terminal.
 */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

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
