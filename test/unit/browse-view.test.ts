/**
 * The image browser's view state (src/lib/browse-view.ts): zooming keeps the image point under the cursor fixed,
 * pan never uncovers the pane, and the URL round-trips the state exactly (a shared view is the same view).
 */
import { describe, expect, it } from 'vitest';
import { clampPan, IDENTITY, MAX_ZOOM, nextRun, panBy, readViewState, writeViewState, zoomAt } from '../../src/lib/browse-view.ts';

const SIZE = 256;
const RUNS = ['a', 'b', 'c'];

describe('browse view transform', () => {
  it('zooms around the cursor: the image point under it stays under it', () => {
    const t = zoomAt(IDENTITY, 2, 100, 60, SIZE);
    expect(t.z).toBe(2);
    // Image point under (100, 60) before: (100, 60); after: ((100 - x) / z, (60 - y) / z).
    expect((100 - t.x) / t.z).toBeCloseTo(100, 6);
    expect((60 - t.y) / t.z).toBeCloseTo(60, 6);
    const t2 = zoomAt(t, 1.5, 30, 200, SIZE);
    expect((30 - t2.x) / t2.z).toBeCloseTo((30 - t.x) / t.z, 1);
  });

  it('clamps zoom to [1, MAX_ZOOM] and pan to the pane', () => {
    expect(zoomAt(IDENTITY, 0.5, 10, 10, SIZE)).toEqual(IDENTITY);
    expect(zoomAt({ z: MAX_ZOOM, x: 0, y: 0 }, 2, 0, 0, SIZE).z).toBe(MAX_ZOOM);
    const t = panBy({ z: 2, x: 0, y: 0 }, 500, -900, SIZE);
    expect(t).toEqual({ z: 2, x: 0, y: -256 });
    expect(clampPan({ z: 1, x: -40, y: 12 }, SIZE)).toEqual(IDENTITY);
  });
});

describe('browse view URL state', () => {
  it('round-trips exactly and leaves defaults out', () => {
    const v = { t: zoomAt(zoomAt(IDENTITY, 1.25, 100, 80, SIZE), 1.25, 33, 191, SIZE), a: 'c', b: 'a', show: 'b' as const, pos: 20, full: 'output:c' };
    const p = writeViewState(new URLSearchParams('runs=a,b,c&sample=s1'), v, RUNS);
    expect(p.get('sample')).toBe('s1');
    expect(readViewState(p, RUNS, SIZE)).toEqual(v);
    const d = writeViewState(new URLSearchParams('runs=a,b,c'), readViewState(new URLSearchParams(), RUNS, SIZE), RUNS);
    expect(d.toString()).toBe('runs=a%2Cb%2Cc');
  });

  it('falls back to defaults for values it cannot use', () => {
    const v = readViewState(new URLSearchParams('z=abc&a=zzz&b=a&show=x&pos=900&full=/etc/passwd'), RUNS, SIZE);
    expect(v).toEqual({ t: IDENTITY, a: 'a', b: 'a', show: 'a', pos: 100, full: null });
  });

  it('R moves the first of the pair to the next run and swaps when it meets the second', () => {
    const v = readViewState(new URLSearchParams(), RUNS, SIZE);
    expect([v.a, v.b]).toEqual(['a', 'b']);
    const r1 = nextRun(v, RUNS);
    expect([r1.a, r1.b]).toEqual(['b', 'a']);
    const r2 = nextRun(r1, RUNS);
    expect([r2.a, r2.b]).toEqual(['c', 'a']);
    expect(nextRun(readViewState(new URLSearchParams(), ['a', 'b'], SIZE), ['a', 'b'])).toMatchObject({ a: 'b', b: 'a' });
  });
});
