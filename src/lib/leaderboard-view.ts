/**
 * @file The leaderboard's view state (runtime-neutral, unit-tested without a browser), held in the page URL like
 * every other page's: the run filter (`q`), each benchmark's sorted column and direction (`sort`, repeated), and
 * each benchmark's page of runs (`page`, repeated). Other parameters (`over`) are kept as they are.
 *
 *   /?q=ref-ldm&sort=psnr,best,synthfaces-ref|severe|1&page=2,synthfaces-ref|severe|1
 *
 * A `sort` value is `<column>,<best|worst>,<benchmark key>`; a `page` value `<index>,<benchmark key>` (the key
 * last: it may hold any character). Bad values are ignored (the table shows newest first, page 1).
 */
import type { BenchmarkBoard, LeaderRow } from './server/dashboard/leaderboard.ts';

/** A benchmark's sorted column: best first (direction respected) or worst first. */
export interface BoardSort {
  readonly col: string;
  readonly best: boolean;
}

export interface LeaderboardView {
  /** Words every shown run has in its id, restorer, settings or tags. */
  readonly q: string;
  /** Benchmark key → its sort (absent: newest first). */
  readonly sort: Readonly<Record<string, BoardSort>>;
  /** Benchmark key → page index (absent: 0). */
  readonly page: Readonly<Record<string, number>>;
}

/** Runs per page of a benchmark's table. */
export const LEADERBOARD_PAGE = 50;

export function readLeaderboardView(p: URLSearchParams): LeaderboardView {
  const sort: Record<string, BoardSort> = {};
  for (const v of p.getAll('sort')) {
    const [col, order, ...key] = v.split(',');
    if (col && (order === 'best' || order === 'worst') && key.length) sort[key.join(',')] = { col, best: order === 'best' };
  }
  const page: Record<string, number> = {};
  for (const v of p.getAll('page')) {
    const [n, ...key] = v.split(',');
    const i = Number(n);
    if (Number.isInteger(i) && i > 0 && key.length) page[key.join(',')] = i;
  }
  return { q: p.get('q') ?? '', sort, page };
}

/** `p` with the view written in (empty parts left out, so the default view is the bare URL). */
export function writeLeaderboardView(p: URLSearchParams, v: LeaderboardView): URLSearchParams {
  const out = new URLSearchParams(p);
  for (const k of ['q', 'sort', 'page']) out.delete(k);
  if (v.q.trim()) out.set('q', v.q);
  for (const [key, s] of Object.entries(v.sort)) out.append('sort', `${s.col},${s.best ? 'best' : 'worst'},${key}`);
  for (const [key, n] of Object.entries(v.page)) if (n > 0) out.append('page', `${n},${key}`);
  return out;
}

/** A click on a column header: sort by it best first; again: worst first. Back to the first page. */
export function toggleSort(v: LeaderboardView, key: string, col: string): LeaderboardView {
  const cur = v.sort[key];
  const { [key]: _, ...page } = v.page;
  return { ...v, sort: { ...v.sort, [key]: cur?.col === col ? { col, best: !cur.best } : { col, best: true } }, page };
}

/** A new filter: every benchmark back to its first page. */
export function withQuery(v: LeaderboardView, q: string): LeaderboardView {
  return { ...v, q, page: {} };
}

/** A run matches when every word of the search is in its id, restorer, settings or tags. */
export function matches(r: Pick<LeaderRow, 'runId' | 'restorer' | 'settings' | 'tags'>, q: string): boolean {
  const hay = [r.runId, r.restorer, r.settings, ...r.tags].join(' ').toLowerCase();
  return q.toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.includes(w));
}

/** A benchmark's rows as shown: filtered, then sorted by its column (runs without a value last either way). */
export function shownRows(b: Pick<BenchmarkBoard, 'rows' | 'columns'>, q: string, s: BoardSort | undefined): LeaderRow[] {
  const rows = b.rows.filter((r) => matches(r, q));
  const c = s ? b.columns.find((x) => x.id === s.col) : undefined;
  if (!s || !c) return rows;
  const sign = (c.higherIsBetter ? -1 : 1) * (s.best ? 1 : -1);
  const v = (r: LeaderRow) => r.cells[c.id]?.value;
  return [...rows].sort((a, z) => {
    const x = v(a);
    const y = v(z);
    if (typeof x !== 'number' || !Number.isFinite(x)) return typeof y === 'number' && Number.isFinite(y) ? 1 : 0;
    if (typeof y !== 'number' || !Number.isFinite(y)) return -1;
    return sign * (x - y);
  });
}
