/**
 * @file DuckDB over run directories: the only importer of `@duckdb/node-api`. DuckDB never parses the JSONL files
 * itself: the store (store.ts) is the one definition of a valid, complete line (zod schema, torn tail ignored) and
 * of which line wins (highest seq per sampleId), and hands DuckDB only those rows. A bad line is therefore skipped
 * the same way by `ls`, `report`, the summary and the dashboard, and reported by each as `file:line: message`.
 * DuckDB keeps the last value per (sampleId, metric) (eval.jsonl over samples.jsonl, later eval lines first) and
 * returns per-metric aggregates plus the per-sample values (for bootstrap CIs, computed in TS with the fixed seed).
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { RunStore, type JsonlProblem } from './store.ts';

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
  /** Distribution metrics (eval.jsonl set lines; the last one wins, a recorded error included). */
  readonly sets: { metric: string; value: number | null; n: number; error?: string }[];
  /** Lines of samples.jsonl / eval.jsonl the store rejected (skipped here), as `file:line: message`. */
  readonly problems: string[];
}

/** `file:line: message` for a store problem. */
export function problemText(p: JsonlProblem): string {
  return `${p.file}:${p.line}: ${p.message}`;
}

async function loadRun(con: DuckDBConnection, store: RunStore): Promise<{ problems: JsonlProblem[] }> {
  const samples = store.readSamples();
  const ev = store.readEval();
  await con.run(`CREATE OR REPLACE TEMP TABLE s (sampleId VARCHAR, status VARCHAR)`);
  await con.run(`CREATE OR REPLACE TEMP TABLE sm (sampleId VARCHAR, metric VARCHAR, value DOUBLE)`);
  await con.run(`CREATE OR REPLACE TEMP TABLE e (rn BIGINT, sampleId VARCHAR, metric VARCHAR, value DOUBLE, n BIGINT, error VARCHAR)`);
  const as = await con.createAppender('s');
  const am = await con.createAppender('sm');
  for (const l of samples.latest.values()) {
    as.appendVarchar(l.sampleId);
    as.appendVarchar(l.status);
    as.endRow();
    if (l.status !== 'ok') continue;
    for (const [k, v] of Object.entries(l.metrics)) {
      am.appendVarchar(l.sampleId);
      am.appendVarchar(k);
      am.appendDouble(v);
      am.endRow();
    }
  }
  as.closeSync();
  am.closeSync();
  const ae = await con.createAppender('e');
  for (const { line, value: r } of ev.records) {
    ae.appendBigInt(BigInt(line));
    if ('sampleId' in r) ae.appendVarchar(r.sampleId);
    else ae.appendNull();
    ae.appendVarchar(r.metric);
    if ('value' in r && typeof r.value === 'number') ae.appendDouble(r.value);
    else ae.appendNull();
    if ('n' in r) ae.appendBigInt(BigInt(r.n));
    else ae.appendNull();
    if ('error' in r && typeof r.error === 'string') ae.appendVarchar(r.error);
    else ae.appendNull();
    ae.endRow();
  }
  ae.closeSync();
  return { problems: [...samples.problems, ...ev.problems] };
}

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
      const { problems } = await loadRun(con, new RunStore(runDir));
      const counts = (await con.runAndReadAll(`SELECT count(*) FILTER (WHERE status='ok')::INTEGER ok, count(*) FILTER (WHERE status<>'ok')::INTEGER err FROM s`)).getRowObjectsJS()[0];
      const rows = (
        await con.runAndReadAll(
          `WITH run_vals AS (
             SELECT sampleId, metric, value, 0 AS prio, 0::BIGINT AS rn FROM sm
           ), eval_vals AS (
             SELECT e.sampleId, e.metric, e.value, 1 AS prio, e.rn FROM e JOIN s USING (sampleId) WHERE s.status = 'ok' AND e.value IS NOT NULL
           ), allv AS (
             SELECT * FROM run_vals UNION ALL SELECT * FROM eval_vals
           ), lastv AS (
             SELECT * FROM allv QUALIFY row_number() OVER (PARTITION BY sampleId, metric ORDER BY prio DESC, rn DESC) = 1
           )
           SELECT metric, count(*)::INTEGER AS n, avg(value) AS mean, list(value ORDER BY sampleId) AS vals
           FROM lastv GROUP BY metric ORDER BY metric`,
        )
      ).getRowObjectsJS();
      const sets = (
        await con.runAndReadAll(`SELECT metric, value, n::INTEGER AS n, error FROM e WHERE sampleId IS NULL QUALIFY row_number() OVER (PARTITION BY metric ORDER BY rn DESC) = 1 ORDER BY metric`)
      ).getRowObjectsJS();
      out.push({
        runDir,
        ok: Number(counts.ok),
        error: Number(counts.err),
        perSample: rows.map((r) => ({ metric: String(r.metric), n: Number(r.n), mean: Number(r.mean), values: (r.vals as number[]).map(Number) })),
        sets: sets.map((r) => ({
          metric: String(r.metric),
          value: r.value === null ? null : Number(r.value),
          n: r.error !== null ? 0 : Number(r.n), // a recorded error covers no sample (as in summary.json)
          ...(r.error !== null ? { error: String(r.error) } : {}),
        })),
        problems: problems.map(problemText),
      });
    }
    return out;
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}
