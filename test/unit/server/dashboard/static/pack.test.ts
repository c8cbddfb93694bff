/** The layout of a snapshot's data scripts (src/lib/server/dashboard/static/pack.ts): shared facts once, read back exactly. */
import { describe, expect, it } from 'vitest';
import type { StaticBenchmark, StaticRun } from '../../../../../src/lib/server/dashboard/static/data.ts';
import { decodeValues, encodeValues, packBench, unpackBench, type ImageManifest } from '../../../../../src/lib/server/dashboard/static/pack.ts';

type Sample = [string, string, string | null];
const mode = (resize: string) => ({ id: 'psnr', version: '1', implementation: 'impl', input: 'RGB [0, 1]', resize, weights: 'none', files: [] });
function run(runId: string, samples: Sample[], psnr: (number | null)[], resize = 'none'): StaticRun {
  return { runId, name: runId, restorer: 'x', settings: '', tags: [], untrained: false, testWeights: [], samples, values: { psnr }, sets: {}, modes: { psnr: mode(resize) } };
}
const ok = (id: string, h: string | null = `h-${id}`): Sample => [id, 'ok', h];

// A and B: every sample; C: misses s1, failed on s2, another input on s3, no hash on s0; D: no images at all.
const A = run('A', [ok('s0'), ok('s1'), ok('s2'), ok('s3')], [1, 2, 3, 4]);
const B = run('B', [ok('s0'), ok('s1'), ok('s2'), ok('s3')], [5, null, 7, 8]);
const C = run('C', [ok('s0', null), ['s2', 'error', 'h-s2'], ok('s3', 'other')], [9, null, 11]);
const D = run('D', [ok('s0'), ok('s1'), ok('s2'), ok('s3')], [0.5, 0.25, 0.125, 1 / 3], 'bicubic');
const bench: StaticBenchmark = { key: 'b0', name: 'test (v1)', metrics: [{ id: 'psnr', label: 'PSNR', higherIsBetter: true, decimals: 2, set: false }], runs: [A, B, C, D] };
const shared = (s: string) => ({ lq: `img/lq-${s}.webp`, gt: `img/gt-${s}.webp`, 'ref-0': `img/r-${s}.webp` });
const images: ImageManifest = {
  A: Object.fromEntries(['s0', 's1', 's2', 's3'].map((s) => [s, { ...shared(s), output: `img/A-${s}.webp` }])),
  B: Object.fromEntries(['s0', 's1', 's2', 's3'].map((s) => [s, { ...shared(s), output: `img/B-${s}.webp` }])),
  // C: its own LQ where its input differs (s3), no reference on s0, no output where it failed (s2).
  C: { s0: { lq: 'img/lq-s0.webp', gt: 'img/gt-s0.webp', output: 'img/C-s0.webp' }, s2: shared('s2'), s3: { ...shared('s3'), lq: 'img/lq-other.webp', output: 'img/C-s3.webp' } },
};

describe('data script layout', () => {
  it('reads back exactly the runs and the image manifest it was given', () => {
    const back = unpackBench(JSON.parse(JSON.stringify(packBench(bench, images))));
    expect(back.runs).toEqual(bench.runs);
    expect(back.metrics).toEqual(bench.metrics);
    expect(back.images).toEqual({ ...images, D: {} });
  });

  it('writes per-sample facts once and only what is a run own per run', () => {
    const p = packBench(bench, images);
    expect(p.samples).toEqual(['s0', 's1', 's2', 's3']);
    expect(p.inputs).toEqual(['h-s0', 'h-s1', 'h-s2', 'h-s3']);
    // s3's LQ differs in C: not shared, each run carries its own.
    expect(p.shared[0]).toEqual(shared('s0'));
    expect(p.shared[3]).toEqual({ gt: 'img/gt-s3.webp', 'ref-0': 'img/r-s3.webp' });
    const [a, , c, d] = p.runs;
    expect(a).toEqual({ ...A, samples: undefined, values: { psnr: encodeValues([1, 2, 3, 4]) }, modes: { psnr: 0 }, output: ['s0', 's1', 's2', 's3'].map((s) => `img/A-${s}.webp`), images: { 3: { lq: 'img/lq-s3.webp' } } });
    expect('rows' in a || 'status' in a || 'inputs' in a || 'lack' in a).toBe(false);
    expect(c.rows).toEqual([0, 2, 3]);
    expect(c.status).toEqual({ 1: 'error' });
    expect(c.inputs).toEqual({ 0: null, 2: 'other' });
    expect(c.lack).toEqual({ 0: ['ref-0'] });
    expect('output' in d).toBe(false);
    // Modes once each: A, B, C share one, D has its own.
    expect(p.modes).toEqual([mode('none'), mode('bicubic')]);
    expect(p.runs.map((r) => r.modes.psnr)).toEqual([0, 0, 0, 1]);
    // The shared LQ/GT/reference files are named once in the whole script, not once per run.
    expect(JSON.stringify(p).split('img/gt-s0.webp').length - 1).toBe(1);
  });

  it('stores values as the exact doubles (null kept), shorter than JSON', () => {
    const xs = [1 / 3, null, 28.84061824432076, -0.1, 5e-324, 1.7976931348623157e308, -Infinity, 0, Math.PI * 1e-12];
    const back = decodeValues(encodeValues(xs));
    expect(back).toEqual(xs);
    back.forEach((x, i) => expect(Object.is(x, xs[i]), String(xs[i])).toBe(true));
    const many = Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 30);
    expect(encodeValues(many).length).toBeLessThan(0.6 * JSON.stringify(many).length);
    expect(decodeValues(encodeValues([]))).toEqual([]);
    // No '/' (nor '+'): the snapshot's path scrubbing must never find a path in a value vector. These values'
    // standard base64 holds both.
    const slashy = Array.from({ length: 200 }, (_, i) => Math.cos(i) * 1e3);
    expect(btoa(String.fromCharCode(...new Uint8Array(new Float64Array(slashy).buffer)))).toMatch(/\/.*\+|\+.*\//);
    expect(encodeValues(slashy)).toMatch(/^[A-Za-z0-9_=-]+$/);
    expect(decodeValues(encodeValues(slashy))).toEqual(slashy);
    expect(() => decodeValues(btoa('abc'))).toThrow(/3 bytes is not whole float64s/);
  });

  it('refuses a script of another layout, naming it', () => {
    expect(() => unpackBench({ ...packBench(bench, images), v: 1 })).toThrow(/data\/b0\.js: layout v1, this snapshot's script reads v2/);
  });
});
