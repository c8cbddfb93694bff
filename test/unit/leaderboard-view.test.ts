/** The leaderboard's URL state (src/lib/leaderboard-view.ts): read, written back, sorted and filtered. */
import { describe, expect, it } from 'vitest';
import { readLeaderboardView, shownRows, toggleSort, withQuery, writeLeaderboardView } from '../../src/lib/leaderboard-view.ts';
import type { LeaderRow } from '../../src/lib/server/dashboard/leaderboard.ts';

const KEY = 'synthfaces-ref|severe|1';
const row = (runId: string, psnr: number | null, tags: string[] = []): LeaderRow =>
  ({ runId, restorer: runId.split('-')[0], settings: '', tags, untrained: false, ok: 1, error: 0, total: 1, createdAt: '', cells: psnr === null ? {} : { psnr: { value: psnr, ci95: null, n: 1, testWeights: false } }, problems: [] }) as LeaderRow;
const board = {
  rows: [row('lq-a', 20, ['base']), row('ref-b', 25), row('ref-c', null), row('cls-d', 22)],
  columns: [{ id: 'psnr', label: 'PSNR', higherIsBetter: true, decimals: 2, set: false }, { id: 'lpips', label: 'LPIPS', higherIsBetter: false, decimals: 3, set: false }],
};

describe('leaderboard view state', () => {
  it('reads filter, per-benchmark sort and page from the URL; bad values are ignored', () => {
    const v = readLeaderboardView(new URLSearchParams(`over=own&q=ref&sort=${encodeURIComponent(`psnr,worst,${KEY}`)}&sort=x,sideways,${KEY}&page=${encodeURIComponent(`2,${KEY}`)}&page=-1,k`));
    expect(v).toEqual({ q: 'ref', sort: { [KEY]: { col: 'psnr', best: false } }, page: { [KEY]: 2 } });
    expect(readLeaderboardView(new URLSearchParams(''))).toEqual({ q: '', sort: {}, page: {} });
  });

  it('writes the state back (round trip), keeps other parameters and leaves defaults out', () => {
    const v = { q: 'ref ldm', sort: { [KEY]: { col: 'psnr', best: true }, 'a,b|x|1': { col: 'lpips', best: false } }, page: { [KEY]: 3 } };
    const p = writeLeaderboardView(new URLSearchParams('over=own&q=old'), v);
    expect(p.get('over')).toBe('own');
    expect(readLeaderboardView(new URLSearchParams(p.toString()))).toEqual(v);
    expect(writeLeaderboardView(new URLSearchParams('over=own'), { q: '', sort: {}, page: {} }).toString()).toBe('over=own');
  });

  it('a header click sorts best first, again worst first, and goes back to page 1; a new filter resets pages', () => {
    let v = readLeaderboardView(new URLSearchParams(`page=${encodeURIComponent(`2,${KEY}`)}`));
    v = toggleSort(v, KEY, 'psnr');
    expect(v.sort[KEY]).toEqual({ col: 'psnr', best: true });
    expect(v.page).toEqual({});
    expect(toggleSort(v, KEY, 'psnr').sort[KEY]).toEqual({ col: 'psnr', best: false });
    expect(toggleSort(v, KEY, 'lpips').sort[KEY]).toEqual({ col: 'lpips', best: true });
    expect(withQuery({ ...v, page: { [KEY]: 4 } }, 'x')).toMatchObject({ q: 'x', page: {} });
  });

  it('rows: filtered by every word, sorted with the direction respected, runs without a value last', () => {
    const ids = (q: string, s?: { col: string; best: boolean }) => shownRows(board, q, s).map((r) => r.runId);
    expect(ids('')).toEqual(['lq-a', 'ref-b', 'ref-c', 'cls-d']);
    expect(ids('', { col: 'psnr', best: true })).toEqual(['ref-b', 'cls-d', 'lq-a', 'ref-c']);
    expect(ids('', { col: 'psnr', best: false })).toEqual(['lq-a', 'cls-d', 'ref-b', 'ref-c']);
    expect(ids('ref', { col: 'psnr', best: true })).toEqual(['ref-b', 'ref-c']);
    expect(ids('BASE')).toEqual(['lq-a']); // tags count, case-insensitive
    expect(ids('ref b')).toEqual(['ref-b']);
  });
});
