/**
 * @file `refbench export`: the per-sample results of runs as tables for the Python ecosystem (pandas, pyarrow,
 * polars, DuckDB), in Parquet, CSV or JSON lines, written by DuckDB itself (query.ts `exportTables`):
 * - `samples.<ext>`: one row per (run, sample, metric): the value the store holds (the same winner rules as
 *   `report` and the dashboard: highest seq per sample, eval.jsonl over samples.jsonl), with the sample's status,
 *   input/output hashes and the metric's version and direction; a failed sample is one row with no metric;
 * - `sets.<ext>`: the set-level metrics (FID, KID): one row per (run, metric);
 * - `runs.<ext>`: one row per run with its provenance (benchmark and protocol, dataset hash, restorer and its
 *   weight hashes, metric versions and weight hashes, spec hash, code, packages, host, counts).
 * Lines the store rejects are skipped and reported, as everywhere. The files name no absolute path: paths inside
 * JSON provenance columns (restorer settings, metric options) are cut to their file name, error messages get
 * `…/<file name>` (as the dashboard's, serve-file.ts `redactPaths`), and run directories appear only as run ids. Each file is written under a temporary name and renamed into place.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { TIME_METRIC, type RunJson } from '../../eval/results/schema.ts';
import { redactPaths } from '../dashboard/serve-file.ts';
import { EXPORT_FORMATS, ResultsDb, type ExportCell, type ExportColumn, type ExportFormat } from './query.ts';
import { listRunIds, resolveRunDir, RunStore, runsRoot } from './store.ts';

/** Options of `exportRuns`. */
export interface ExportOptions {
  readonly resultsDir: string;
  /** Run directories or ids (prefixes) under `resultsDir`; empty: every run there. */
  readonly runs: readonly string[];
  readonly format: ExportFormat;
  /** Folder the three files are written to (created). */
  readonly outDir: string;
  /** Replace existing files (default: refuse, naming them). */
  readonly force?: boolean;
}

/** What `exportRuns` wrote. */
export interface ExportResult {
  readonly files: { readonly samples: string; readonly sets: string; readonly runs: string };
  readonly runs: number;
  /** Why a run or a line was left out (unreadable run.json when exporting every run; lines the store rejected). */
  readonly warnings: readonly string[];
}

/** File extension per format. */
const EXT: Readonly<Record<ExportFormat, string>> = { parquet: 'parquet', csv: 'csv', jsonl: 'jsonl' };

/** An absolute path (POSIX or Windows drive) inside provenance is cut to its file name. */
const ABSOLUTE = /^(\/|[A-Za-z]:[\\/])/;
function withoutPaths(v: unknown): unknown {
  if (typeof v === 'string') return ABSOLUTE.test(v) ? basename(v) : v;
  if (Array.isArray(v)) return v.map(withoutPaths);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'path').map(([k, x]) => [k, withoutPaths(x)]));
  return v;
}
const json = (v: unknown) => JSON.stringify(withoutPaths(v));
const files = (fs: readonly { name: string; sha256: string }[]) => fs.map((f) => ({ name: f.name, sha256: f.sha256 }));

/** The runs table: column, type, and how the value comes from run.json and the run's counts. */
const RUN_COLUMNS: readonly (readonly [...ExportColumn, (r: RunJson, c: { ok: number; error: number }) => ExportCell])[] = [
  ['run_id', 'VARCHAR', (r) => r.runId],
  ['name', 'VARCHAR', (r) => (typeof r.spec.name === 'string' ? r.spec.name : null)],
  ['created_at', 'VARCHAR', (r) => r.createdAt],
  ['resumed_at', 'VARCHAR', (r) => JSON.stringify(r.resumedAt)],
  ['tags', 'VARCHAR', (r) => JSON.stringify(Array.isArray(r.spec.tags) ? r.spec.tags : [])],
  ['benchmark_id', 'VARCHAR', (r) => bench(r)?.id ?? null],
  ['benchmark_version', 'BIGINT', (r) => bench(r)?.version ?? null],
  ['benchmark_sha256', 'VARCHAR', (r) => bench(r)?.sha256 ?? null],
  ['dataset_adapter', 'VARCHAR', (r) => r.dataset.adapter],
  ['dataset_id', 'VARCHAR', (r) => r.dataset.id],
  ['dataset_version', 'VARCHAR', (r) => r.dataset.version],
  ['dataset_split', 'VARCHAR', (r) => r.dataset.split ?? null],
  ['dataset_level', 'VARCHAR', (r) => r.dataset.level ?? null],
  ['dataset_hash', 'VARCHAR', (r) => r.dataset.hash],
  ['dataset_size', 'BIGINT', (r) => r.dataset.size],
  ['dataset_available', 'BIGINT', (r) => r.dataset.available],
  ['limited', 'BOOLEAN', (r) => r.dataset.limited],
  ['max_refs', 'BIGINT', (r) => r.dataset.maxRefs],
  ['n_ok', 'BIGINT', (_r, c) => c.ok],
  ['n_error', 'BIGINT', (_r, c) => c.error],
  ['n_pending', 'BIGINT', (r, c) => Math.max(0, r.dataset.size - c.ok - c.error)],
  ['restorer_id', 'VARCHAR', (r) => r.restorer.id],
  ['restorer_version', 'VARCHAR', (r) => r.restorer.version],
  ['restorer_weights', 'VARCHAR', (r) => r.restorer.weights.kind],
  ['restorer_files', 'VARCHAR', (r) => json(r.restorer.weights.kind === 'none' ? [] : files(r.restorer.weights.files))],
  ['restorer_settings', 'VARCHAR', (r) => json(r.restorer.settings)],
  ['untrained', 'BOOLEAN', (r) => r.restorer.untrained],
  ['metrics', 'VARCHAR', (r) => json(r.metrics.map((m) => ({ id: m.id, version: m.version, kind: m.kind, higherIsBetter: m.higherIsBetter, weights: m.weights, options: m.options, files: files(m.files ?? []) })))],
  ['spec_hash', 'VARCHAR', (r) => r.specHash],
  ['seed', 'BIGINT', (r) => (typeof r.spec.seed === 'number' ? r.spec.seed : null)],
  ['device', 'VARCHAR', (r) => (typeof r.spec.device === 'string' ? r.spec.device : null)],
  ['git_sha', 'VARCHAR', (r) => r.code.gitSha],
  ['git_dirty', 'BOOLEAN', (r) => r.code.dirty],
  ['refbench_version', 'VARCHAR', (r) => r.code.packageVersion],
  ['packages', 'VARCHAR', (r) => JSON.stringify(r.packages)],
  ['host_os', 'VARCHAR', (r) => r.host.os],
  ['host_cpu', 'VARCHAR', (r) => r.host.cpu],
  ['host_cores', 'BIGINT', (r) => r.host.cores],
  ['host_memory_bytes', 'BIGINT', (r) => r.host.memoryBytes],
  ['node_version', 'VARCHAR', (r) => r.host.node],
  ['shard', 'VARCHAR', (r) => (r.shard ? `${r.shard.index}/${r.shard.count}` : null)],
  ['merged_shards', 'BIGINT', (r) => r.merged?.shards.length ?? null],
  ['schema_version', 'VARCHAR', (r) => r.schemaVersion],
];

function bench(r: RunJson): { id: string; version: number; sha256: string } | null {
  const b = r.spec.benchmark as { id?: unknown; version?: unknown; sha256?: unknown } | undefined;
  return b && typeof b.id === 'string' && typeof b.version === 'number' && typeof b.sha256 === 'string' ? { id: b.id, version: b.version, sha256: b.sha256 } : null;
}

/** The column names of the runs table, in order (docs/results-format.md lists them). */
export const RUN_EXPORT_COLUMNS: readonly string[] = RUN_COLUMNS.map((c) => c[0]);

/**
 * Exports runs to `<outDir>/{samples,sets,runs}.<ext>`.
 * @throws naming the run when a run given by name cannot be read, naming the files when they exist (without
 *   `force`), and when there is no run to export.
 */
export async function exportRuns(o: ExportOptions): Promise<ExportResult> {
  if (!EXPORT_FORMATS.includes(o.format)) throw new Error(`--format: expected ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(o.format)}`);
  const warnings: string[] = [];
  const named = o.runs.length > 0;
  const dirs = named ? o.runs.map((r) => resolveRunDir(o.resultsDir, r)) : listRunIds(o.resultsDir).map((id) => resolve(join(runsRoot(o.resultsDir), id)));
  const runs = new Map<string, RunJson>();
  for (const dir of [...new Set(dirs)]) {
    try {
      runs.set(dir, new RunStore(dir).readRunJson());
    } catch (err) {
      if (named) throw err;
      warnings.push(`warning: ${(err as Error).message} (run skipped)`);
    }
  }
  if (!runs.size) throw new Error(`refbench export: no run to export under ${runsRoot(o.resultsDir)}`);
  const ext = EXT[o.format];
  const out = resolve(o.outDir);
  const target = { samples: join(out, `samples.${ext}`), sets: join(out, `sets.${ext}`), runs: join(out, `runs.${ext}`) };
  const existing = Object.values(target).filter((p) => existsSync(p));
  if (existing.length && !o.force) throw new Error(`refbench export: ${existing.join(', ')} exist; pass --force to replace them, or choose another --out`);
  mkdirSync(out, { recursive: true });
  const tmp = Object.fromEntries(Object.entries(target).map(([k, p]) => [k, join(out, `.${basename(p)}.tmp-${process.pid}`)])) as typeof target;
  const db = await ResultsDb.open();
  try {
    const loaded = await db.sync([...runs.keys()]);
    for (const l of loaded.values()) for (const p of l.problems) warnings.push(`warning: ${p} (line skipped)`);
    const list = [...runs].map(([dir, run]) => ({ dir, runId: run.runId, metrics: [...run.metrics, ...(run.metrics.some((m) => m.id === TIME_METRIC.id) ? [] : [TIME_METRIC])].map((m) => ({ id: m.id, version: m.version, higherIsBetter: m.higherIsBetter })) }));
    const rows = [...runs].map(([dir, run]) => RUN_COLUMNS.map(([, , get]) => get(run, loaded.get(dir)!)));
    await db.exportTables(list, { columns: RUN_COLUMNS.map(([n, t]) => [n, t] as const), rows }, tmp, o.format, (m) => redactPaths(m));
    for (const k of Object.keys(target) as (keyof typeof target)[]) renameSync(tmp[k], target[k]);
  } finally {
    db.close();
    for (const p of Object.values(tmp)) rmSync(p, { force: true });
  }
  return { files: target, runs: runs.size, warnings };
}
