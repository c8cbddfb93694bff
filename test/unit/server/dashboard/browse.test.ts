/**
 * The image browser's data (src/lib/server/dashboard/browse.ts) over runs written through the store's writers:
 * - samples are shared only when every run finished them ok with the same recorded input hash ("n shared of N");
 *   a sample that is not shared is refused by name;
 * - worst first respects the metric's direction (lowest PSNR, highest LPIPS), Δ is run − baseline, worst N and
 *   the key range filter apply after sorting;
 * - values of a later `refbench eval` (eval.jsonl) win over samples.jsonl, and a change to a file is seen at once
 *   (the in-memory cache is keyed by mtime + size);
 * - every bad query parameter is a 400 naming it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunJson } from '../../../../src/lib/eval/results/schema.ts';
import { browse, parseBrowseQuery } from '../../../../src/lib/server/dashboard/browse.ts';
import { readModel } from '../../../../src/lib/server/dashboard/read-model.ts';
import { RunStore, runsRoot } from '../../../../src/lib/server/results/store.ts';

let root: string;
const metric = (id: string, higherIsBetter: boolean) => ({ id, version: '1', kind: 'paired' as const, higherIsBetter, decimals: 3, weights: 'none' as const, options: {} });

function runJson(runId: string): RunJson {
  return {
    schemaVersion: '1.0', runId, createdAt: '2026-12-01T00:00:00Z', resumedAt: [], specHash: runId, spec: {}, specFile: null,
    dataset: { adapter: 'folder', id: 'ds', version: '1', root: '/nonexistent', available: 5, size: 5, limited: false, hash: 'h', maxRefs: 1 },
    restorer: { id: runId, version: '1', weights: { kind: 'none' }, settings: {}, untrained: false },
    metrics: [metric('psnr', true), metric('lpips', false)],
    code: { gitSha: null, dirty: null, packageVersion: '0' }, packages: {}, host: { os: 'x', cpu: 'x', cores: 1, memoryBytes: 1, node: 'x' },
  } as RunJson;
}

/** Writes a run: per sample [psnr, lpips] or 'error'; `hash` overrides a sample's input hash (null: none). */
function writeRun(runId: string, values: Record<string, [number, number] | 'error'>, hash: Record<string, string | null> = {}): RunStore {
  const store = RunStore.create(join(runsRoot(root), runId));
  store.writeRunJson(runJson(runId));
  Object.entries(values).forEach(([sampleId, v], seq) => {
    const h = sampleId in hash ? hash[sampleId] : `in-${sampleId}`;
    store.appendSample({
      seq, sampleId, status: v === 'error' ? 'error' : 'ok', ...(v === 'error' ? { error: 'boom' } : {}), ...(h ? { inputHash: h } : {}),
      metrics: v === 'error' ? {} : { psnr: v[0], lpips: v[1] }, timingsMs: {}, finishedAt: '2026-12-01T00:00:00Z',
    });
  });
  return store;
}

const q = (s: string) => parseBrowseQuery(new URLSearchParams(s));

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'refbench-browse-data-'));
  writeRun('base', { a: [20, 0.5], b: [22, 0.4], c: [25, 0.3], d: [30, 0.2], e: [28, 0.1], f: [10, 0.9] }, { f: null });
  writeRun('new', { a: [21, 0.45], b: [19, 0.5], c: [26, 0.25], d: [31, 0.1], e: 'error', f: [11, 0.8] }, { c: 'other-input' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('browse data', () => {
  it('shares only samples ok everywhere with the same recorded input hash, and says n shared of N', () => {
    const d = browse(readModel(root), q('runs=base,new'));
    // c: different inputs; e: failed in "new"; f: no input hash in "base".
    expect(d.samples.map((s) => s.sampleId).sort()).toEqual(['a', 'b', 'd']);
    expect([d.shared, d.total]).toEqual([3, 6]);
    expect(d.warnings).toContain('3 shared of 6 samples: only samples every run finished ok on the same (recorded) input files are browsed');
    expect(() => browse(readModel(root), q('runs=base,new&sample=c'))).toThrow("sample 'c' is not shared by the selected runs");
    expect(() => browse(readModel(root), q('runs=base,new&sample=zz'))).toThrow("sample 'zz' is in none of the selected runs");
  });

  it('sorts worst first by the metric direction, by Δ against the baseline, and keeps worst N within a range', () => {
    const ids = (s: string) => browse(readModel(root), q(s)).samples.map((x) => `${x.sampleId}:${x.key === null ? '' : +x.key.toFixed(3)}`);
    expect(ids('runs=base,new&metric=psnr&sort=value&sortRun=new')).toEqual(['b:19', 'a:21', 'd:31']);
    expect(ids('runs=base,new&metric=lpips&sort=value&sortRun=new')).toEqual(['b:0.5', 'a:0.45', 'd:0.1']);
    expect(ids('runs=base,new&metric=psnr&sort=delta&sortRun=new&base=base')).toEqual(['b:-3', 'a:1', 'd:1']);
    expect(ids('runs=base,new&metric=lpips&sort=delta&order=best')).toEqual(['d:-0.1', 'a:-0.05', 'b:0.1']);
    expect(ids('runs=base,new&metric=psnr&sort=delta&n=1')).toEqual(['b:-3']);
    expect(ids('runs=base,new&metric=psnr&sort=delta&min=0&max=2')).toEqual(['a:1', 'd:1']);
    const d = browse(readModel(root), q('runs=base,new&metric=psnr&sample=b'));
    expect(d.current?.values.psnr).toEqual({ base: 22, new: 19 });
    expect(d.current?.outputs.map((o) => o.full)).toEqual(['/api/runs/base/images/b/output', '/api/runs/new/images/b/output']);
  });

  it('takes a later eval.jsonl value over samples.jsonl, and sees the change at once', () => {
    const store = new RunStore(join(runsRoot(root), 'new'));
    expect(browse(readModel(root), q('runs=base,new&sample=b')).current?.values.psnr.new).toBe(19);
    store.appendEval({ sampleId: 'b', metric: 'psnr', value: 40 });
    expect(browse(readModel(root), q('runs=base,new&sample=b')).current?.values.psnr.new).toBe(40);
  });

  it('names every bad parameter', () => {
    expect(() => q('')).toThrow('runs: give at least one run id');
    expect(() => q('runs=base,base')).toThrow('runs: a run is listed twice');
    expect(() => q('runs=base,new&base=x')).toThrow("base: 'x' is not one of the selected runs (base, new)");
    expect(() => q('runs=base,new&sort=up')).toThrow("sort: 'up' is not value, delta or id");
    expect(() => q('runs=base,new&order=x')).toThrow("order: 'x' is not worst or best");
    expect(() => q('runs=base,new&n=-1')).toThrow("n: '-1' is not a whole number ≥ 0");
    expect(() => q('runs=base,new&min=abc')).toThrow("min: 'abc' is not a number");
    expect(() => browse(readModel(root), q('runs=base,new&metric=fid'))).toThrow("metric: 'fid' is not a per-sample metric of every selected run (psnr, lpips)");
    expect(() => browse(readModel(root), q('runs=base,nope'))).toThrow("no run 'nope'");
  });
});
