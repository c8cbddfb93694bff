/**
 * `refbench export` (issue 17, item 3) through the CLI, on two runs of the shard fixture (7 samples; psnr, ssim,
 * FID and KID with the narrow test network): one run with a failed sample and a metric added later by `refbench
 * eval`, one with a schema-invalid line appended. The Parquet files read back through DuckDB equal the store:
 * every (run, sample, metric) value equals the winning value computed here from the store's own readers (highest
 * seq per sample; eval.jsonl over samples.jsonl), bit for bit; the failed sample is one row with its error; the set
 * metrics equal eval.jsonl's last set lines; the runs table carries run.json's provenance. CSV and JSON lines hold
 * the same rows. No file names the machine's paths. Existing files are refused without --force.
 * (python/tests/test_export_pandas.py reads the Parquet through pyarrow/pandas where they are installed.)
 */
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../../src/lib/server/results/store.ts';
import { RUN_EXPORT_COLUMNS } from '../../src/lib/server/results/export.ts';
import { redactPaths } from '../../src/lib/server/dashboard/serve-file.ts';
import { writeShardFixture } from '../helpers/shard-fixture.ts';
import { cli } from '../helpers/cli.ts';

let root: string;
let results: string;
const runDirs: Record<'a' | 'b', string> = { a: '', b: '' };

type Row = Record<string, unknown>;
async function readBack(file: string): Promise<Row[]> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    return (await con.runAndReadAll(`SELECT * FROM '${file.replaceAll("'", "''")}'`)).getRowObjectsJS();
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}
const num = (v: unknown) => (v === null ? null : Number(v));

/** The store's answer, computed from its own readers: per (sample, metric) the winning value and its source. */
function expectedSamples(dir: string): Map<string, { status: string; error?: string; values: Map<string, { value: number; source: string }> }> {
  const store = new RunStore(dir);
  const out = new Map<string, { status: string; error?: string; values: Map<string, { value: number; source: string }> }>();
  for (const l of store.readSamples().latest.values()) {
    const values = new Map<string, { value: number; source: string }>();
    if (l.status === 'ok') for (const [m, v] of Object.entries(l.metrics)) values.set(m, { value: v, source: 'run' });
    out.set(l.sampleId, { status: l.status, ...(l.error ? { error: l.error } : {}), values });
  }
  for (const { value: e } of store.readEval().records) {
    if ('sampleId' in e && out.get(e.sampleId)?.status === 'ok') out.get(e.sampleId)!.values.set(e.metric, { value: e.value, source: 'eval' });
  }
  return out;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-export-'));
  results = join(root, 'results');
  const spec = await writeShardFixture(root);
  writeFileSync(join(root, 'ds', 'lq', 's03.png'), 'not a png'); // one failed sample in both runs
  const s = JSON.parse(readFileSync(spec, 'utf8'));
  writeFileSync(join(root, 'a.json'), JSON.stringify({ ...s, name: 'exp-a', metrics: s.metrics.filter((m: unknown) => m !== 'ssim') }));
  writeFileSync(join(root, 'b.json'), JSON.stringify({ ...s, name: 'exp-b', restorer: { id: 'classical' }, metrics: ['psnr'] }));
  for (const k of ['a', 'b'] as const) {
    const r = await cli(['run', join(root, `${k}.json`), '--results-dir', results, '-q', '--allow-failures']);
    expect(r.code, r.err).toBe(0);
    runDirs[k] = join(results, 'runs', readdirSync(join(results, 'runs')).find((d) => d.startsWith(`exp-${k}-`))!);
  }
  const ev = await cli(['eval', runDirs.a, '--metrics', 'ssim', '--results-dir', results, '-q']);
  expect(ev.code, ev.err).toBe(0);
  appendFileSync(join(runDirs.b, 'samples.jsonl'), '{"seq":99,"sampleId":"s00","status":"ok","metrics":{"psnr":"abc"},"finishedAt":"t"}\n');
}, 600_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('refbench export', () => {
  it('Parquet read back through DuckDB equals the store: per-sample values, failed samples, set metrics, provenance', async () => {
    const out = join(root, 'pq');
    const r = await cli(['export', '--results-dir', results, '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('2 run(s) exported');
    expect(r.err).toMatch(new RegExp(`warning: ${join(runDirs.b, 'samples.jsonl').replace(/[.]/g, '\\.')}:8: .*psnr.* \\(line skipped\\)`));

    const rows = await readBack(join(out, 'samples.parquet'));
    for (const k of ['a', 'b'] as const) {
      const run = new RunStore(runDirs[k]).readRunJson();
      const exp = expectedSamples(runDirs[k]);
      const mine = rows.filter((x) => x.run_id === run.runId);
      const nValues = [...exp.values()].reduce((n, s) => n + Math.max(1, s.values.size), 0);
      expect(mine).toHaveLength(nValues);
      for (const [id, s] of exp) {
        const got = mine.filter((x) => x.sample_id === id);
        if (s.status === 'error') {
          expect(got).toEqual([expect.objectContaining({ status: 'error', metric: null, value: null, error: redactPaths(s.error!) })]);
          continue;
        }
        expect(got.map((x) => x.metric).sort()).toEqual([...s.values.keys()].sort());
        for (const g of got) {
          const want = s.values.get(String(g.metric))!;
          expect(num(g.value), `${run.runId} ${id} ${g.metric}`).toBe(want.value); // bit for bit
          expect(g.source).toBe(want.source);
          const info = run.metrics.find((m) => m.id === g.metric)!;
          expect([g.metric_version, g.higher_is_better]).toEqual([info.version, info.higherIsBetter]);
        }
      }
    }
    // The failed sample, the metric from `refbench eval`, and the line the store rejected (not a value).
    expect(rows.filter((x) => x.status === 'error').map((x) => [x.sample_id, String(x.error).includes('…/s03.png: not a readable image')])).toEqual([
      ['s03', true],
      ['s03', true],
    ]);
    expect(rows.filter((x) => x.metric === 'ssim').every((x) => x.source === 'eval')).toBe(true);
    expect(rows.filter((x) => x.metric === 'ssim')).toHaveLength(6);
    expect(rows.some((x) => x.value === 'abc' || Number.isNaN(num(x.value)))).toBe(false);

    // Set metrics: the last set line of eval.jsonl, per run.
    const sets = await readBack(join(out, 'sets.parquet'));
    const runA = new RunStore(runDirs.a);
    const lastSets = new Map(runA.readEval().records.filter((x) => !('sampleId' in x.value)).map((x) => [x.value.metric, x.value]));
    expect(sets.map((x) => x.metric).sort()).toEqual(['fid-clean', 'kid-clean']);
    for (const x of sets) {
      const want = lastSets.get(String(x.metric)) as { value: number; n: number };
      expect([x.run_id, num(x.value), num(x.n)]).toEqual([runA.readRunJson().runId, want.value, want.n]);
    }

    // Runs: provenance from run.json, counts from the store.
    const runs = await readBack(join(out, 'runs.parquet'));
    expect(Object.keys(runs[0])).toEqual([...RUN_EXPORT_COLUMNS]);
    for (const k of ['a', 'b'] as const) {
      const run = new RunStore(runDirs[k]).readRunJson();
      const row = runs.find((x) => x.run_id === run.runId)!;
      expect(row).toMatchObject({ name: `exp-${k}`, dataset_hash: run.dataset.hash, spec_hash: run.specHash, restorer_id: run.restorer.id, git_sha: run.code.gitSha, untrained: run.restorer.untrained });
      expect([num(row.n_ok), num(row.n_error), num(row.dataset_size)]).toEqual([6, 1, 7]);
      const metrics = JSON.parse(String(row.metrics)) as { id: string; version: string; files: { sha256: string }[] }[];
      expect(metrics.map((m) => `${m.id}@${m.version}`)).toEqual(run.metrics.map((m) => `${m.id}@${m.version}`));
      expect(metrics.flatMap((m) => m.files.map((f) => f.sha256))).toEqual(run.metrics.flatMap((m) => (m.files ?? []).map((f) => f.sha256)));
    }
  }, 120_000);

  it('CSV and JSON lines hold the same rows; no file names a path of this machine', async () => {
    const pq = await readBack(join(root, 'pq', 'samples.parquet'));
    for (const format of ['csv', 'jsonl'] as const) {
      const out = join(root, format);
      const r = await cli(['export', runDirs.a, runDirs.b, '--results-dir', results, '--out', out, '--format', format]);
      expect(r.code, r.err).toBe(0);
      const rows = await readBack(join(out, `samples.${format}`));
      expect(rows.map((x) => [x.run_id, x.sample_id, x.metric, num(x.value)])).toEqual(pq.map((x) => [x.run_id, x.sample_id, x.metric, num(x.value)]));
      for (const f of ['samples', 'sets', 'runs']) {
        const text = readFileSync(join(out, `${f}.${format}`), 'utf8');
        expect(text, `${format} ${f}`).not.toContain(root);
        expect(text).not.toContain(tmpdir() + '/');
      }
    }
    for (const f of ['samples', 'sets', 'runs']) expect(readFileSync(join(root, 'pq', `${f}.parquet`)).includes(Buffer.from(root))).toBe(false);
  }, 120_000);

  it('refuses to overwrite without --force, and a run that does not exist', async () => {
    const again = await cli(['export', '--results-dir', results, '--out', join(root, 'pq')]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/samples\.parquet, .*sets\.parquet, .*runs\.parquet exist; pass --force/);
    const forced = await cli(['export', '--results-dir', results, '--out', join(root, 'pq'), '--force']);
    expect(forced.code, forced.err).toBe(0);
    expect(readdirSync(join(root, 'pq')).sort()).toEqual(['runs.parquet', 'samples.parquet', 'sets.parquet']); // no temp files left
    const nope = await cli(['export', 'no-such-run', '--results-dir', results, '--out', join(root, 'x')]);
    expect(nope.code).toBe(1);
    expect(nope.err).toContain('no-such-run');
    expect(existsSync(join(root, 'x'))).toBe(false);
    const fmt = await cli(['export', '--results-dir', results, '--out', join(root, 'x'), '--format', 'xlsx']);
    expect(fmt.code).toBe(1);
    expect(fmt.err).toContain('--format: expected parquet, csv, jsonl, got "xlsx"');
  }, 60_000);
});
