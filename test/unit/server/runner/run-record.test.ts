/**
 * run-record.ts (pure): the run id (same spec identity → same id; --fresh and shards add suffixes), a new run's
 * record, a resumed run's record (refreshed facts, kept history) and the refusal to resume over changed weights.
 * Also resume.ts's pure choices: which samples are left to do, and which already-scored inputs changed.
 */
import { describe, expect, it } from 'vitest';
import type { SampleRef } from '../../../../src/lib/eval/datasets/types.ts';
import { RunJsonSchema, TIME_METRIC, type MetricInfo, type SampleLine } from '../../../../src/lib/eval/results/schema.ts';
import type { RestorerInfo } from '../../../../src/lib/eval/restorers/restorer.ts';
import { parseRunSpec } from '../../../../src/lib/eval/spec/run-spec.ts';
import { changedInputs, samplesToDo } from '../../../../src/lib/server/runner/resume.ts';
import {
  datasetFacts,
  newRunRecord,
  resumedRunRecord,
  runIdentity,
  utcStamp,
  weightChanges,
  type Provenance,
  type RunFacts,
} from '../../../../src/lib/server/runner/run-record.ts';

const raw = {
  name: 'unit-run',
  dataset: { adapter: 'folder', options: { root: '/data/x' }, limit: 3 },
  restorer: { id: 'lq' },
  metrics: ['psnr'],
  threads: 2,
  tags: ['a'],
};
const spec = parseRunSpec(raw);
const now = new Date('2026-12-08T00:15:02.345Z');
const samples: SampleRef[] = ['s0', 's1', 's2'].map((id, i) => ({ id, lq: `/d/${id}.png`, gt: `/d/${id}-gt.png`, refs: Array.from({ length: i }, (_, k) => `/d/${id}-r${k}.png`) }));
const file = (name: string, sha: string) => ({ name, path: `/w/${name}`, sha256: sha, sizeBytes: 10, pinned: false });
const restorer: RestorerInfo = { id: 'ref-ldm', version: 'bundle-v1', weights: { kind: 'random-init', seed: 0, files: [] }, settings: { steps: 10 } };
const psnr: MetricInfo = { id: 'psnr', version: '1', kind: 'paired', higherIsBetter: true, decimals: 2, weights: 'none', description: 'PSNR', options: {} };
const lpips: MetricInfo = { ...psnr, id: 'lpips-vgg', higherIsBetter: false, weights: 'test-random-init', files: [file('vgg.onnx', 'b'.repeat(64))] };
const provenance: Provenance = {
  code: { gitSha: 'c'.repeat(40), dirty: false, packageVersion: '0.1.0' },
  packages: { node: '20' },
  host: { os: 'linux', cpu: 'cpu', cores: 2, memoryBytes: 1, node: 'v20' },
};

function facts(over: Partial<RunFacts> = {}): RunFacts {
  const identity = runIdentity(spec, { listedIds: samples.map((s) => s.id), now });
  return {
    identity,
    spec,
    specFile: '/specs/unit.yaml',
    runDir: `/results/runs/${identity.runId}`,
    dataset: datasetFacts({ adapter: 'folder', id: 'x', version: '1', root: '/data/x' }, [...samples, { id: 's3', lq: '/d/s3.png', refs: [] }], samples, samples, 'd'.repeat(64)),
    restorer,
    restorerFiles: [file('unet.onnx', 'a'.repeat(64))],
    metrics: [psnr, lpips],
    now: now.toISOString(),
    ...over,
  };
}

describe('runIdentity', () => {
  it('is the spec name and the first 10 hex of the identity hash; threads, tags and limit do not change it', () => {
    const id = runIdentity(spec, { listedIds: ['s0'], now });
    expect(id.runId).toBe(`unit-run-${id.specHash.slice(0, 10)}`);
    expect(id.specHash).toMatch(/^[0-9a-f]{64}$/);
    const other = parseRunSpec({ ...raw, threads: 8, tags: ['b'], dataset: { ...raw.dataset, limit: 1 } });
    expect(runIdentity(other, { listedIds: ['s0'], now }).runId).toBe(id.runId);
    const seeded = parseRunSpec({ ...raw, seed: 7 });
    expect(runIdentity(seeded, { listedIds: ['s0'], now }).runId).not.toBe(id.runId);
    expect(id.shard).toBeUndefined();
  });

  it('--fresh adds the UTC second; a shard adds -shard<i>of<n> and records the full run', () => {
    const base = runIdentity(spec, { listedIds: ['a', 'b', 'c'], now });
    expect(utcStamp(now)).toBe('20261208T001502Z');
    expect(runIdentity(spec, { fresh: true, listedIds: [], now }).runId).toBe(`${base.runId}-20261208T001502Z`);
    const sh = runIdentity(spec, { shard: { index: 1, count: 3 }, listedIds: ['a', 'b', 'c'], now });
    expect(sh.runId).toBe(`${base.runId}-shard1of3`);
    expect(sh.shard).toEqual({ index: 1, count: 3, of: 3, sampleIds: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const otherIds = runIdentity(spec, { shard: { index: 1, count: 3 }, listedIds: ['a', 'b', 'x'], now });
    expect(otherIds.shard!.sampleIds).not.toBe(sh.shard!.sampleIds);
  });
});

describe('newRunRecord', () => {
  it('is a valid run.json describing the dataset, restorer (files as loaded), metrics and provenance', () => {
    const run = newRunRecord(facts(), provenance);
    expect(RunJsonSchema.safeParse(run).success).toBe(true);
    expect(run.runId).toBe(facts().identity.runId);
    expect(run.createdAt).toBe('2026-12-08T00:15:02.345Z');
    expect(run.resumedAt).toEqual([]);
    expect(run.dataset).toEqual({ adapter: 'folder', id: 'x', version: '1', root: '/data/x', available: 4, size: 3, limited: true, hash: 'd'.repeat(64), maxRefs: 2 });
    expect(run.restorer.weights).toEqual({ kind: 'random-init', seed: 0, files: [file('unet.onnx', 'a'.repeat(64))] });
    expect(run.restorer.untrained).toBe(true);
    expect(run.metrics.map((m) => m.id)).toEqual([TIME_METRIC.id, 'psnr', 'lpips-vgg']);
    expect(run.code).toEqual(provenance.code);
    expect(run.shard).toBeUndefined();
  });

  it('a restorer without weights records none, and its record is a copy', () => {
    const none = newRunRecord(facts({ restorer: { ...restorer, weights: { kind: 'none' } }, restorerFiles: [] }), provenance);
    expect(none.restorer.weights).toEqual({ kind: 'none' });
    expect(none.restorer.untrained).toBe(false);
  });
});

describe('resumedRunRecord', () => {
  const prev = newRunRecord(facts(), provenance);
  it('keeps the history and refreshes the time, spec, sample count and weight records', () => {
    const later = '2026-12-09T10:00:00.000Z';
    const r = resumedRunRecord(prev, facts({ now: later, dataset: { ...facts().dataset, size: 2, hash: 'e'.repeat(64) } }));
    expect(r.createdAt).toBe(prev.createdAt);
    expect(r.resumedAt).toEqual([later]);
    expect(r.dataset.size).toBe(2);
    expect(r.dataset.hash).toBe('e'.repeat(64));
    expect(r.code).toEqual(prev.code);
    expect(RunJsonSchema.safeParse(r).success).toBe(true);
  });

  it('refuses a weight file whose hash changed since the run started, naming it and the run', () => {
    const changed = facts({ metrics: [psnr, { ...lpips, files: [file('vgg.onnx', 'f'.repeat(64))] }] });
    expect(() => resumedRunRecord(prev, changed)).toThrow(/\/results\/runs\/unit-run-[0-9a-f]{10}: weight file\(s\) changed .*\/w\/vgg\.onnx: sha256 bbbbbbbbbbbb… → ffffffffffff….*--fresh/);
    const restorerChanged = facts({ restorerFiles: [file('unet.onnx', '0'.repeat(64))] });
    expect(() => resumedRunRecord(prev, restorerChanged)).toThrow(/\/w\/unet\.onnx: sha256 aaaaaaaaaaaa… → 000000000000…/);
  });

  it('weightChanges matches by path, else by name, and ignores files that are gone or new', () => {
    const a = [{ name: 'x', sha256: '1'.repeat(64) }, { name: 'y', path: '/p/y', sha256: '2'.repeat(64) }];
    expect(weightChanges(a, [{ name: 'x', sha256: '1'.repeat(64) }, { name: 'y', path: '/p/y', sha256: '2'.repeat(64) }])).toEqual([]);
    expect(weightChanges(a, [{ name: 'x', sha256: '3'.repeat(64) }])).toEqual([`x: sha256 ${'1'.repeat(12)}… → ${'3'.repeat(12)}…`]);
    expect(weightChanges(a, [{ name: 'y', path: '/q/y', sha256: '9'.repeat(64) }])).toEqual([]);
  });
});

describe('resume choices', () => {
  const line = (sampleId: string, status: 'ok' | 'error', inputHash: string): SampleLine =>
    ({ seq: 0, sampleId, status, inputHash, metrics: {}, timingsMs: {}, finishedAt: now.toISOString() }) as unknown as SampleLine;
  const hashes = ['h0', 'h1', 'h2'];

  it('todo: samples without a line, plus failed ones only with retryFailed, in run order', () => {
    const latest = new Map([['s0', line('s0', 'ok', 'h0')], ['s2', line('s2', 'error', 'h2')]]);
    expect(samplesToDo(samples, hashes, latest, false).map((t) => [t.s.id, t.inputHash])).toEqual([['s1', 'h1']]);
    expect(samplesToDo(samples, hashes, latest, true).map((t) => t.s.id)).toEqual(['s1', 's2']);
  });

  it('changed inputs: only samples already scored ok whose hash differs now', () => {
    const latest = new Map([['s0', line('s0', 'ok', 'old')], ['s1', line('s1', 'error', 'old')], ['s2', line('s2', 'ok', 'h2')]]);
    expect(changedInputs(samples, hashes, latest).map((s) => s.id)).toEqual(['s0']);
  });
});
