/**
 * @file DuckDB over run directories: the only importer of `@duckdb/node-api`. DuckDB never parses the JSONL files
 * itself: the store (store.ts) is the one definition of a valid, complete line (zod schema, torn tail ignored) and
 * of which line wins (highest seq per sampleId), and hands DuckDB only those rows. A bad line is therefore skipped
 * the same way by `ls`, `report`, the summary and the dashboard, and reported by each as `file:line: message`.
 *
 * `ResultsDb` holds the validated rows of many runs in one in-memory database (tables `samples`, `vals`, `sets`,
 * keyed by the run directory) and answers the questions the report and the dashboard ask:
 * - per-metric aggregates of each run, over all its samples or over the samples a set of runs **shares**;
 * - which samples a set of runs shares: the same sample id, `ok` in every run, with the same input hash in every
 *   run (runs over different inputs are never silently compared), and why the others are not shared;
 * - the per-sample values of a metric over the shared samples (for paired statistics and plots).
 * The last value per (run, sampleId, metric) wins: eval.jsonl over samples.jsonl, later eval lines first.
 * `exportTables` writes those same rows out (Parquet, CSV or JSON lines) for `refbench export`: DuckDB writes the
 * files itself.
 *
 * NOTE: every value that comes from outside (run directories, metric ids, sample ids: query parameters in the
 * dashboard) reaches SQL only as a bound parameter, never spliced into the SQL text.
 */
import { lstatSync } from 'node:fs';
import { DuckDBInstance, LIST, listValue, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import { problemText, RunStore, type JsonlProblem } from './store.ts';

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

/** Which samples a set of runs can be compared on, and why the others cannot. */
export interface SharedSamples {
  /** Sample ids ok in every run with one input hash, sorted. */
  readonly ids: string[];
  /** Distinct sample ids any of the runs has a line for (the N of "n shared of N"). */
  readonly total: number;
  /** Ids some run has no line for. */
  readonly missing: number;
  /** Ids every run has, but that failed in at least one. */
  readonly failed: number;
  /** Ids ok everywhere whose input hashes differ between runs (different inputs under one id). */
  readonly differentInputs: number;
  /** Ids ok everywhere without a recorded input hash in some run (cannot be verified, so not shared). */
  readonly unverified: number;
}

export { problemText };

/**
 * What identifies the state of a run's files (run.json, samples.jsonl, eval.jsonl, summary.json): mtime, size and
 * inode of each, without following links. A changed stamp reloads the run; the dashboard's in-memory caches of
 * derived pages are keyed by it too.
 */
export function stampOf(runDir: string): string {
  const store = new RunStore(runDir);
  return [store.runJsonPath, store.samplesPath, store.evalPath, store.summaryPath]
    .map((p) => {
      const st = lstatSync(p, { throwIfNoEntry: false });
      return st ? `${st.mtimeMs}:${st.size}:${st.ino}` : '-';
    })
    .join('|');
}

interface Loaded {
  readonly stamp: string;
  readonly ok: number;
  readonly error: number;
  readonly problems: string[];
}

const RUNS = LIST(VARCHAR);

/** File formats of `exportTables` (DuckDB COPY writers; `jsonl` is DuckDB's newline-delimited JSON). */
export type ExportFormat = 'parquet' | 'csv' | 'jsonl';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['parquet', 'csv', 'jsonl'];
/** A column of an exported table: snake_case name and DuckDB type. */
export type ExportColumn = readonly [name: string, type: 'VARCHAR' | 'DOUBLE' | 'BIGINT' | 'BOOLEAN'];
export type ExportCell = string | number | boolean | null | undefined;
/** A run to export: its directory (as loaded), id and metric facts from run.json. */
export interface ExportRun {
  readonly dir: string;
  readonly runId: string;
  readonly metrics: readonly { readonly id: string; readonly version: string; readonly higherIsBetter: boolean }[];
}

/**
 * The validated rows of many runs in one in-memory DuckDB. Operations are serialised (one connection); runs are
 * (re)loaded by `sync` only when their files changed, so a long-lived instance (the dashboard) answers warm
 * requests without re-reading anything.
 */
export class ResultsDb {
  readonly #inst: DuckDBInstance;
  readonly #con: DuckDBConnection;
  readonly #loaded = new Map<string, Loaded>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(inst: DuckDBInstance, con: DuckDBConnection) {
    this.#inst = inst;
    this.#con = con;
  }

  /** A fresh in-memory database with the tables created. */
  static async open(): Promise<ResultsDb> {
    const inst = await DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    await con.run(`CREATE TABLE samples (run VARCHAR, sampleId VARCHAR, status VARCHAR, inputHash VARCHAR, outputHash VARCHAR, error VARCHAR)`);
    // source: which file the winning value came from ('run': samples.jsonl, 'eval': eval.jsonl).
    await con.run(`CREATE TABLE vals (run VARCHAR, sampleId VARCHAR, metric VARCHAR, value DOUBLE, source VARCHAR)`);
    await con.run(`CREATE TABLE sets (run VARCHAR, metric VARCHAR, value DOUBLE, n BIGINT, error VARCHAR)`);
    await con.run(`CREATE TEMP TABLE sm (sampleId VARCHAR, metric VARCHAR, value DOUBLE)`);
    await con.run(`CREATE TEMP TABLE e (rn BIGINT, sampleId VARCHAR, metric VARCHAR, value DOUBLE, n BIGINT, error VARCHAR)`);
    return new ResultsDb(inst, con);
  }

  /** Runs `fn` after every earlier operation (DuckDB connections are not for concurrent statements). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Loads these run directories (reloading those whose run.json, samples.jsonl or eval.jsonl changed since).
   * @returns per run directory: ok/error counts and the lines the store rejected.
   */
  sync(runDirs: readonly string[]): Promise<Map<string, Loaded>> {
    return this.#serial(async () => {
      const out = new Map<string, Loaded>();
      for (const dir of runDirs) {
        const stamp = stampOf(dir);
        let l = this.#loaded.get(dir);
        if (!l || l.stamp !== stamp) {
          l = { stamp, ...(await this.#load(dir)) };
          this.#loaded.set(dir, l);
        }
        out.set(dir, l);
      }
      return out;
    });
  }

  async #load(run: string): Promise<Omit<Loaded, 'stamp'>> {
    const con = this.#con;
    const store = new RunStore(run);
    const samples = store.readSamples();
    const ev = store.readEval();
    for (const t of ['samples', 'vals', 'sets']) await con.run(`DELETE FROM ${t} WHERE run = $run`, { run });
    await con.run('DELETE FROM sm');
    await con.run('DELETE FROM e');
    const as = await con.createAppender('samples');
    const am = await con.createAppender('sm');
    let ok = 0;
    let error = 0;
    for (const l of samples.latest.values()) {
      as.appendVarchar(run);
      as.appendVarchar(l.sampleId);
      as.appendVarchar(l.status);
      for (const v of [l.inputHash, l.outputHash, l.error]) {
        if (v) as.appendVarchar(v);
        else as.appendNull();
      }
      as.endRow();
      if (l.status !== 'ok') {
        error++;
        continue;
      }
      ok++;
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
    await con.run(
      `INSERT INTO vals
       WITH okids AS (SELECT sampleId FROM samples WHERE run = $run AND status = 'ok'),
       allv AS (
         SELECT sampleId, metric, value, 0 AS prio, 0::BIGINT AS rn FROM sm
         UNION ALL
         SELECT e.sampleId, e.metric, e.value, 1 AS prio, e.rn FROM e JOIN okids USING (sampleId) WHERE e.value IS NOT NULL
       )
       SELECT $run, sampleId, metric, value, CASE prio WHEN 1 THEN 'eval' ELSE 'run' END FROM allv
       QUALIFY row_number() OVER (PARTITION BY sampleId, metric ORDER BY prio DESC, rn DESC) = 1`,
      { run },
    );
    await con.run(
      `INSERT INTO sets
       SELECT $run, metric, value, n, error FROM e WHERE sampleId IS NULL
       QUALIFY row_number() OVER (PARTITION BY metric ORDER BY rn DESC) = 1`,
      { run },
    );
    return { ok, error, problems: [...samples.problems, ...ev.problems].map(problemText) };
  }

  /**
   * The samples these (loaded) runs share: ok in every run, with one input hash (sample id AND input hash).
   */
  sharedSamples(runDirs: readonly string[]): Promise<SharedSamples> {
    return this.#serial(async () => {
      const rows = (
        await this.#con.runAndReadAll(
          `SELECT sampleId,
                  count(*)::INTEGER AS present,
                  count(*) FILTER (WHERE status = 'ok')::INTEGER AS ok,
                  count(inputHash) FILTER (WHERE status = 'ok')::INTEGER AS hashed,
                  count(DISTINCT inputHash) FILTER (WHERE status = 'ok')::INTEGER AS hashes
           FROM samples WHERE list_contains($runs, run) GROUP BY sampleId ORDER BY sampleId`,
          { runs: listValue([...runDirs]) },
          { runs: RUNS },
        )
      ).getRowObjectsJS();
      const k = new Set(runDirs).size;
      const ids: string[] = [];
      let missing = 0;
      let failed = 0;
      let differentInputs = 0;
      let unverified = 0;
      for (const r of rows) {
        if (Number(r.present) < k) missing++;
        else if (Number(r.ok) < k) failed++;
        else if (Number(r.hashed) < k) unverified++;
        else if (Number(r.hashes) > 1) differentInputs++;
        else ids.push(String(r.sampleId));
      }
      return { ids, total: rows.length, missing, failed, differentInputs, unverified };
    });
  }

  /**
   * Per-metric aggregates of each run (its ok/error counts, its set metrics), over every ok sample, or only over
   * `over` (sample ids, e.g. `sharedSamples(...).ids`). Runs must have been loaded with `sync`.
   */
  aggregate(runDirs: readonly string[], over?: readonly string[]): Promise<RunAggregate[]> {
    return this.#serial(async () => {
      const out: RunAggregate[] = [];
      for (const run of runDirs) {
        const l = this.#loaded.get(run);
        if (!l) throw new Error(`ResultsDb.aggregate: run ${run} was not loaded (call sync first)`);
        const rows = (
          await this.#con.runAndReadAll(
            `SELECT metric, count(*)::INTEGER AS n, avg(value) AS mean, list(value ORDER BY sampleId) AS vals
             FROM vals WHERE run = $run AND ($all OR list_contains($over, sampleId))
             GROUP BY metric ORDER BY metric`,
            { run, all: over === undefined, over: listValue([...(over ?? [])]) },
            { over: RUNS },
          )
        ).getRowObjectsJS();
        const sets = (await this.#con.runAndReadAll(`SELECT metric, value, n::INTEGER AS n, error FROM sets WHERE run = $run ORDER BY metric`, { run })).getRowObjectsJS();
        out.push({
          runDir: run,
          ok: l.ok,
          error: l.error,
          perSample: rows.map((r) => ({ metric: String(r.metric), n: Number(r.n), mean: Number(r.mean), values: (r.vals as number[]).map(Number) })),
          sets: sets.map((r) => ({
            metric: String(r.metric),
            value: r.value === null ? null : Number(r.value),
            n: r.error !== null ? 0 : Number(r.n), // a recorded error covers no sample (as in summary.json)
            ...(r.error !== null ? { error: String(r.error) } : {}),
          })),
          problems: l.problems,
        });
      }
      return out;
    });
  }

  /**
   * The values of `metric` on the given samples, per run, in the order of `sampleIds` (null where a run has no
   * value for a sample: that metric failed there or was never computed).
   */
  values(runDirs: readonly string[], metric: string, sampleIds: readonly string[]): Promise<Map<string, (number | null)[]>> {
    return this.#serial(async () => {
      const rows = (
        await this.#con.runAndReadAll(
          `SELECT run, sampleId, value FROM vals WHERE metric = $metric AND list_contains($runs, run) AND list_contains($ids, sampleId)`,
          { metric, runs: listValue([...runDirs]), ids: listValue([...sampleIds]) },
          { runs: RUNS, ids: RUNS },
        )
      ).getRowObjectsJS();
      const index = new Map(sampleIds.map((s, i) => [s, i]));
      const out = new Map(runDirs.map((r) => [r, new Array<number | null>(sampleIds.length).fill(null)]));
      for (const r of rows) out.get(String(r.run))![index.get(String(r.sampleId))!] = Number(r.value);
      return out;
    });
  }

  /** Metric ids with per-sample values in any of these runs. */
  metricsOf(runDirs: readonly string[]): Promise<string[]> {
    return this.#serial(async () =>
      (await this.#con.runAndReadAll(`SELECT DISTINCT metric FROM vals WHERE list_contains($runs, run) ORDER BY metric`, { runs: listValue([...runDirs]) }, { runs: RUNS }))
        .getRowObjectsJS()
        .map((r) => String(r.metric)),
    );
  }

  /**
   * Writes the loaded rows of `runs` as three files (DuckDB's own COPY writers), for `refbench export`:
   * - `files.samples`: one row per (run, sample, metric), the value that wins in the store (eval.jsonl over
   *   samples.jsonl), with the sample's status, input/output hashes and the metric's version and direction; a
   *   failed sample is one row with no metric, its status 'error' and its error;
   * - `files.sets`: distribution metrics (FID, KID): one row per (run, metric), the last set line;
   * - `files.runs`: `runsTable` as given (provenance columns, one row per run).
   * Runs must have been loaded with `sync`. Rows are ordered by run id, sample id and metric.
   */
  exportTables(
    runs: readonly ExportRun[],
    runsTable: { readonly columns: readonly ExportColumn[]; readonly rows: readonly (readonly ExportCell[])[] },
    files: { readonly samples: string; readonly sets: string; readonly runs: string },
    format: ExportFormat,
    /** Applied to every error message written (e.g. to cut absolute paths). */
    redact: (message: string) => string = (m) => m,
  ): Promise<void> {
    return this.#serial(async () => {
      for (const r of runs) if (!this.#loaded.has(r.dir)) throw new Error(`ResultsDb.exportTables: run ${r.dir} was not loaded (call sync first)`);
      await this.#stageExportRuns(runs);
      await this.#stageExportErrors(redact);
      await this.#stageRunsTable(runsTable);
      await this.#copyExports(files, format);
    });
  }

  /** exportTables: the runs' ids (x_ids) and their metrics' versions and directions (x_metrics). */
  async #stageExportRuns(runs: readonly ExportRun[]): Promise<void> {
    const con = this.#con;
    await con.run(`CREATE OR REPLACE TEMP TABLE x_ids (run VARCHAR, run_id VARCHAR)`);
    await con.run(`CREATE OR REPLACE TEMP TABLE x_metrics (run VARCHAR, metric VARCHAR, metric_version VARCHAR, higher_is_better BOOLEAN)`);
    const ai = await con.createAppender('x_ids');
    const am = await con.createAppender('x_metrics');
    for (const r of runs) {
      ai.appendVarchar(r.dir);
      ai.appendVarchar(r.runId);
      ai.endRow();
      for (const m of r.metrics) {
        am.appendVarchar(r.dir);
        am.appendVarchar(m.id);
        am.appendVarchar(m.version);
        am.appendBoolean(m.higherIsBetter);
        am.endRow();
      }
    }
    ai.closeSync();
    am.closeSync();
  }

  /** exportTables: the error messages (x_err), passed through `redact` (in JS), keyed like the rows they belong to. */
  async #stageExportErrors(redact: (message: string) => string): Promise<void> {
    const con = this.#con;
    await con.run(`CREATE OR REPLACE TEMP TABLE x_err (run VARCHAR, sampleId VARCHAR, metric VARCHAR, error VARCHAR)`);
    const errs = (
      await con.runAndReadAll(
        `SELECT run, sampleId, NULL AS metric, error FROM samples WHERE error IS NOT NULL AND run IN (SELECT run FROM x_ids)
         UNION ALL SELECT run, NULL, metric, error FROM sets WHERE error IS NOT NULL AND run IN (SELECT run FROM x_ids)`,
      )
    ).getRowObjectsJS();
    const ax = await con.createAppender('x_err');
    for (const e of errs) {
      ax.appendVarchar(String(e.run));
      for (const v of [e.sampleId, e.metric]) {
        if (v === null) ax.appendNull();
        else ax.appendVarchar(String(v));
      }
      ax.appendVarchar(redact(String(e.error)));
      ax.endRow();
    }
    ax.closeSync();
  }

  /** exportTables: the caller's runs table (x_runs). Column names are ours (checked identifiers), never user text. */
  async #stageRunsTable(runsTable: { readonly columns: readonly ExportColumn[]; readonly rows: readonly (readonly ExportCell[])[] }): Promise<void> {
    const con = this.#con;
    for (const [name] of runsTable.columns) if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`ResultsDb.exportTables: bad column name ${JSON.stringify(name)}`);
    await con.run(`CREATE OR REPLACE TEMP TABLE x_runs (${runsTable.columns.map(([n, t]) => `${n} ${t}`).join(', ')})`);
    const ar = await con.createAppender('x_runs');
    for (const row of runsTable.rows) {
      runsTable.columns.forEach(([name, type], i) => {
        const v = row[i];
        if (v === null || v === undefined) ar.appendNull();
        else if (type === 'VARCHAR') ar.appendVarchar(String(v));
        else if (type === 'DOUBLE') ar.appendDouble(Number(v));
        else if (type === 'BIGINT') ar.appendBigInt(BigInt(v as number));
        else if (typeof v === 'boolean') ar.appendBoolean(v);
        else throw new Error(`ResultsDb.exportTables: column ${name}: expected a boolean, got ${JSON.stringify(v)}`);
      });
      ar.endRow();
    }
    ar.closeSync();
  }

  /** exportTables: the three COPY statements over the staged tables. */
  async #copyExports(files: { readonly samples: string; readonly sets: string; readonly runs: string }, format: ExportFormat): Promise<void> {
    const con = this.#con;
    const opts = format === 'parquet' ? 'FORMAT parquet, COMPRESSION zstd' : format === 'csv' ? 'FORMAT csv, HEADER true' : 'FORMAT json';
    // NOTE: COPY takes its target only as a literal (no bound parameter): the path is quoted as an SQL string
    // literal (quotes doubled); it is the user's own --out, not text from a results file.
    const lit = (p: string) => `'${p.replaceAll("'", "''")}'`;
    await con.run(
      `COPY (
         SELECT i.run_id, s.sampleId AS sample_id, s.status, v.metric, v.value, v.source, m.metric_version, m.higher_is_better,
                s.inputHash AS input_hash, s.outputHash AS output_hash, x.error
         FROM samples s JOIN x_ids i USING (run)
         LEFT JOIN x_err x ON x.run = s.run AND x.sampleId = s.sampleId
         LEFT JOIN vals v ON v.run = s.run AND v.sampleId = s.sampleId
         LEFT JOIN x_metrics m ON m.run = s.run AND m.metric = v.metric
         ORDER BY i.run_id, s.sampleId, v.metric
       ) TO ${lit(files.samples)} (${opts})`,
    );
    await con.run(
      `COPY (
         SELECT i.run_id, st.metric, st.value, st.n, x.error, m.metric_version, m.higher_is_better
         FROM sets st JOIN x_ids i USING (run)
         LEFT JOIN x_err x ON x.run = st.run AND x.metric = st.metric AND x.sampleId IS NULL
         LEFT JOIN x_metrics m ON m.run = st.run AND m.metric = st.metric
         ORDER BY i.run_id, st.metric
       ) TO ${lit(files.sets)} (${opts})`,
    );
    await con.run(`COPY (SELECT * FROM x_runs ORDER BY run_id) TO ${lit(files.runs)} (${opts})`);
  }

  /** Closes the database. */
  close(): void {
    this.#con.closeSync();
    this.#inst.closeSync();
  }
}

/**
 * Aggregates each run directory with a fresh in-memory database (one-shot callers: `report`, `ls`).
 * @param runDirs run directories (each with samples.jsonl; eval.jsonl optional).
 * @param opts.shared restrict per-sample metrics to the samples all these runs share (see `ResultsDb`).
 */
export async function aggregateRuns(runDirs: readonly string[], opts: { shared?: boolean } = {}): Promise<RunAggregate[]> {
  const db = await ResultsDb.open();
  try {
    await db.sync(runDirs);
    const over = opts.shared ? (await db.sharedSamples(runDirs)).ids : undefined;
    return await db.aggregate(runDirs, over);
  } finally {
    db.close();
  }
}
