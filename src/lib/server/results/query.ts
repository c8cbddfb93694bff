/**
 * @file DuckDB over run directories: the only importer of `@duckdb/node-api`. Reads samples.jsonl and eval.jsonl
 * with `read_ndjson` (explicit columns, `ignore_errors` so a torn or corrupt line — which the store reports —
 * never breaks a report), keeps the last line per sampleId (highest seq) and per (sampleId, metric), and returns
 * per-metric aggregates plus the per-sample values (for bootstrap CIs, computed in TS with the fixed seed).
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface MetricAggregate {
  readonly metric: string;
  readonly n: number;
  readonly mean: number;
  /** Per-sample values ordered by sampleId (stable input for the bootstrap). */
  readonly values: number[];
}

export interface RunAggregate {
  readonly runDir: string;
  /** Distinct sample ids whose last line is 'ok' / 'error'. */
  readonly ok: number;
  readonly error: number;
  readonly perSample: MetricAggregate[];
  /** Distribution metrics (eval.jsonl set lines; the last one wins). */
  readonly sets: { metric: string; value: number; n: number }[];
}

const SAMPLE_COLS = "{seq: 'BIGINT', sampleId: 'VARCHAR', status: 'VARCHAR', metrics: 'JSON'}";
const EVAL_COLS = "{sampleId: 'VARCHAR', metric: 'VARCHAR', value: 'DOUBLE', n: 'BIGINT'}";

/**
 * Aggregates each run directory with one DuckDB in-memory instance.
 * @param runDirs run directories (each with samples.jsonl; eval.jsonl optional).
 */
export async function aggregateRuns(runDirs: readonly string[]): Promise<RunAggregate[]> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    const out: RunAggregate[] = [];
    for (const runDir of runDirs) {
      const samples = join(runDir, 'samples.jsonl');
      const evalFile = join(runDir, 'eval.jsonl');
      if (!existsSync(samples)) {
        out.push({ runDir, ok: 0, error: 0, perSample: [], sets: [] });
        continue;
      }
      const hasEval = existsSync(evalFile);
      // Rows are numbered in file order so "last line wins" holds for eval lines too (they carry no seq).
      await con.run(
        `CREATE OR REPLACE TEMP TABLE s AS
           SELECT * FROM read_ndjson($p, columns=${SAMPLE_COLS}, ignore_errors=true) WHERE sampleId IS NOT NULL
           QUALIFY row_number() OVER (PARTITION BY sampleId ORDER BY seq DESC) = 1`,
        { p: samples },
      );
      await con.run(
        hasEval
          ? `CREATE OR REPLACE TEMP TABLE e AS
               SELECT row_number() OVER () AS rn, * FROM read_ndjson($p, columns=${EVAL_COLS}, ignore_errors=true) WHERE metric IS NOT NULL AND value IS NOT NULL`
          : `CREATE OR REPLACE TEMP TABLE e AS SELECT 0::BIGINT AS rn, NULL::VARCHAR AS sampleId, NULL::VARCHAR AS metric, NULL::DOUBLE AS "value", NULL::BIGINT AS n WHERE false`,
        hasEval ? { p: evalFile } : undefined,
      );
      const counts = (await con.runAndReadAll(`SELECT count(*) FILTER (WHERE status='ok')::INTEGER ok, count(*) FILTER (WHERE status<>'ok')::INTEGER err FROM s`)).getRowObjectsJS()[0];
      const rows = (
        await con.runAndReadAll(
          `WITH run_vals AS (
             SELECT sampleId, k AS metric, (metrics->>k)::DOUBLE AS value, 0 AS prio, 0::BIGINT AS rn
             FROM (SELECT sampleId, metrics, unnest(json_keys(metrics)) AS k FROM s WHERE status = 'ok')
           ), eval_vals AS (
             SELECT e.sampleId, e.metric, e.value, 1 AS prio, e.rn FROM e JOIN s USING (sampleId) WHERE s.status = 'ok'
           ), allv AS (
             SELECT * FROM run_vals UNION ALL SELECT * FROM eval_vals
           ), lastv AS (
             SELECT * FROM allv QUALIFY row_number() OVER (PARTITION BY sampleId, metric ORDER BY prio DESC, rn DESC) = 1
           )
           SELECT metric, count(*)::INTEGER AS n, avg(value) AS mean, list(value ORDER BY sampleId) AS vals
           FROM lastv WHERE value IS NOT NULL GROUP BY metric ORDER BY metric`,
        )
      ).getRowObjectsJS();
      const sets = (
        await con.runAndReadAll(`SELECT metric, value, n::INTEGER AS n FROM e WHERE sampleId IS NULL QUALIFY row_number() OVER (PARTITION BY metric ORDER BY rn DESC) = 1 ORDER BY metric`)
      ).getRowObjectsJS();
      out.push({
        runDir,
        ok: Number(counts.ok),
        error: Number(counts.err),
        perSample: rows.map((r) => ({ metric: String(r.metric), n: Number(r.n), mean: Number(r.mean), values: (r.vals as number[]).map(Number) })),
        sets: sets.map((r) => ({ metric: String(r.metric), value: Number(r.value), n: Number(r.n) })),
      });
    }
    return out;
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}
