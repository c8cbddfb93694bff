/**
 * @file The image browser's view state (runtime-neutral, so it is unit-tested without a browser): one zoom/pan
 * transform shared by every pane, the flip pair, the slider position and the full-resolution view, read from and
 * written to the page URL so a view can be shared.
 *
 * The transform maps a pane's image (drawn at the pane's size) by `translate(x, y) scale(z)` with origin 0 0;
 * `z = 1, x = y = 0` shows the whole image. Pan is clamped so the image always covers the pane.
 */

/** Shared zoom and pan of every pane. */
export interface ViewTransform {
  readonly z: number;
  readonly x: number;
  readonly y: number;
}

/** Zoom limits: 1 = fit the pane; 32 = 16× beyond 1:1 for a 512² image in a 256-px pane. */
export const MIN_ZOOM = 1;
export const MAX_ZOOM = 32;

/** The identity view (whole image). */
export const IDENTITY: ViewTransform = { z: 1, x: 0, y: 0 };

/**
 * Keeps the image covering a `size`-px pane: x and y in [size − size·z, 0]. Values are rounded (z to 1e-6, pan
 * to 0.01 px, both invisible) so the URL holds them exactly and a shared view is the same view.
 */
export function clampPan(t: ViewTransform, size: number): ViewTransform {
  const z = Math.round(t.z * 1e6) / 1e6;
  const lo = size - size * z;
  const c = (v: number) => Math.round(Math.min(0, Math.max(lo, v)) * 100) / 100 || 0;
  return { z, x: c(t.x), y: c(t.y) };
}

/**
 * Zooms by `factor` around the pane point (px, py), keeping the image point under it fixed (as a map does).
 * Zoom is clamped to [MIN_ZOOM, MAX_ZOOM], pan to the pane.
 */
export function zoomAt(t: ViewTransform, factor: number, px: number, py: number, size: number): ViewTransform {
  const z = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, t.z * factor));
  const k = z / t.z;
  return clampPan({ z, x: px - (px - t.x) * k, y: py - (py - t.y) * k }, size);
}

/** Pans by (dx, dy) pane pixels. */
export function panBy(t: ViewTransform, dx: number, dy: number, size: number): ViewTransform {
  return clampPan({ z: t.z, x: t.x + dx, y: t.y + dy }, size);
}

/** The CSS transform of a view. */
export function cssTransform(t: ViewTransform): string {
  return `translate(${t.x}px, ${t.y}px) scale(${t.z})`;
}

/** The client-side part of the browser's URL state (the server reads the rest: runs, sample, sort, filter...). */
export interface ViewState {
  readonly t: ViewTransform;
  /** The two runs the flip key and the slider compare. */
  readonly a: string;
  readonly b: string;
  /** Which of the pair the flip pane shows. */
  readonly show: 'a' | 'b';
  /** Slider position, percent of the width showing `a` (left) over `b`. */
  readonly pos: number;
  /** The pane shown at full resolution (`lq`, `gt`, `ref-<i>`, `output:<runId>`), or null. */
  readonly full: string | null;
}

/** The URL parameters ViewState uses (kept apart from the server's). */
export const VIEW_PARAMS = ['z', 'x', 'y', 'a', 'b', 'show', 'pos', 'full'] as const;

function finite(v: string | null, fallback: number): number {
  const n = v === null ? NaN : Number(v);
  return Number.isFinite(n) ? n : fallback;
}

/**
 * Reads the view state from URL parameters; anything missing or invalid takes its default (a view that cannot be
 * restored exactly still opens). `runs` are the selected runs: a and b must be two of them.
 */
export function readViewState(p: URLSearchParams, runs: readonly string[], size: number): ViewState {
  const z = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, finite(p.get('z'), 1)));
  const t = clampPan({ z, x: finite(p.get('x'), 0), y: finite(p.get('y'), 0) }, size);
  const a = runs.includes(p.get('a') ?? '') ? p.get('a')! : runs[0];
  const bDefault = runs.find((r) => r !== a) ?? a;
  const b = runs.includes(p.get('b') ?? '') ? p.get('b')! : bDefault;
  const full = p.get('full');
  return {
    t,
    a,
    b,
    show: p.get('show') === 'b' ? 'b' : 'a',
    pos: Math.min(100, Math.max(0, finite(p.get('pos'), 50))),
    full: full && /^(lq|gt|ref-\d{1,3}|output:.+)$/.test(full) ? full : null,
  };
}

/** Writes the view state into `p` (defaults are left out, so URLs stay short). */
export function writeViewState(p: URLSearchParams, v: ViewState, runs: readonly string[]): URLSearchParams {
  const out = new URLSearchParams(p);
  for (const k of VIEW_PARAMS) out.delete(k);
  if (v.t.z !== 1) {
    out.set('z', String(v.t.z));
    out.set('x', String(v.t.x));
    out.set('y', String(v.t.y));
  }
  if (v.a !== runs[0]) out.set('a', v.a);
  if (v.b !== (runs.find((r) => r !== v.a) ?? v.a)) out.set('b', v.b);
  if (v.show === 'b') out.set('show', 'b');
  if (v.pos !== 50) out.set('pos', String(Math.round(v.pos)));
  if (v.full) out.set('full', v.full);
  return out;
}

/**
 * "Next run" (key R): the flip pair's first run moves to the next selected run; when that is the second run, the
 * two swap. With two runs this swaps the pair.
 */
export function nextRun(v: ViewState, runs: readonly string[]): ViewState {
  const next = runs[(runs.indexOf(v.a) + 1) % runs.length];
  return next === v.b ? { ...v, a: v.b, b: v.a } : { ...v, a: next };
}
