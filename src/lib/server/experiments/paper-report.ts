/**
 * @file Our runs beside the paper's numbers: one table per benchmark, in the paper's row order, column order and
 * number of decimals, each cell as our value (mean, 95% bootstrap CI half-width), the paper's value and Δ
 * (ours − paper). The ONE experiment→table mapping of refbench: `refbench report --paper <table>` (Markdown, CSV,
 * LaTeX) and the dashboard's paper page both call `buildPaperReport`.
 *
 * Which run fills a row is the plan's (experiments.ts `planExperiment`): the exact run id of the planned spec, else
 * the newest run of the same name made from the same benchmark protocol. Runs made from another protocol version of
 * the benchmark are never used: each one is named in a loud warning with both versions. Rows the paper has and we
 * have not run read "not run" with the command that fills them; blocked rows say what they need.
 *
 * A pure read: nothing is written (no summary, no cache).
 */
import { join, resolve } from 'node:path';
import type { PaperMetric, PaperTable } from '../../eval/paper/paper-tables.ts';
import type { RunJson } from '../../eval/results/schema.ts';
import { BOOTSTRAP_DEFAULTS, bootstrapMean } from '../../eval/stats/bootstrap.ts';
import type { FusionReport } from '../timing/fusion.ts';
import { aggregateRuns, type RunAggregate } from '../results/query.ts';
import { listRunIds, RunStore, runsRoot } from '../results/store.ts';
import { loadBenchmark, type Benchmark } from './benchmarks.ts';
import { loadExperiment, loadProfiles, planExperiment, type CellSource, type Experiment, type ExperimentRow, type PlannedRun, type Profile } from './experiments.ts';
import { paperTable } from './paper-data.ts';
import { fusionCell, fusionReports, profileFusions } from './fusion-results.ts';
import type { UserConfig } from './user-config.ts';

/** One cell: ours beside the paper's. */
export interface PaperCell {
  readonly key: string;
  readonly name: string;
  readonly direction: 'higher' | 'lower' | null;
  readonly decimals: number;
  readonly paper: number | null;
  /** Why the paper has no value (e.g. out-of-memory). */
  readonly paperStatus?: string;
  readonly ours: number | null;
  /** 95% bootstrap CI half-width of our mean (per-image metrics). */
  readonly half: number | null;
  /** Samples our value covers, of the run's size. */
  readonly n?: number;
  readonly of?: number;
  /** ours − paper, when both exist and the cell is comparable. */
  readonly delta: number | null;
  /** Why our value is missing, or what it is (e.g. "bench fusion on cpu"). */
  readonly note?: string;
}

/** One row (a paper row, or ours only). */
export interface PaperReportRow {
  readonly method: string;
  readonly inPaper: boolean;
  /** The run that filled it, or null. */
  readonly runId: string | null;
  readonly state: 'ok' | 'partial' | 'not run' | 'blocked';
  /** The command that fills the row (not run / partial). */
  readonly command?: string;
  /** What a blocked row needs. */
  readonly blocked?: string;
  readonly untrained: boolean;
  /** `done/wanted` samples of a partial run. */
  readonly coverage?: string;
  readonly cells: readonly PaperCell[];
}

/** One benchmark's table. */
export interface PaperReportGroup {
  readonly benchmark: { readonly id: string; readonly title: string; readonly version: number; readonly paperDataset: string; readonly standIn?: string };
  readonly rows: readonly PaperReportRow[];
}

/** The whole comparison. */
export interface PaperReport {
  readonly table: { readonly id: string; readonly number: number; readonly caption: string; readonly hardware?: string };
  readonly experiment: string;
  readonly profile: string;
  readonly groups: readonly PaperReportGroup[];
  /** The fusion bench the time/memory cells come from. */
  readonly fusion: { readonly path: string; readonly device: string; readonly config: string; readonly steps: number } | null;
  /** Loud warnings (other protocol versions, unreadable runs). */
  readonly warnings: readonly string[];
}

/** Options of `buildPaperReport`. */
export interface PaperReportOptions {
  readonly config: UserConfig;
  readonly resultsDir: string;
  readonly benchmarks?: readonly string[];
  readonly restorer?: string;
}

interface RunCandidate {
  readonly dir: string;
  readonly run: RunJson;
}

/** Every readable run.json of the store, by run name (spec.name). */
function runsByName(resultsDir: string, warnings: string[]): Map<string, RunCandidate[]> {
  const root = runsRoot(resultsDir);
  const out = new Map<string, RunCandidate[]>();
  for (const id of listRunIds(resultsDir)) {
    const store = new RunStore(join(root, id));
    let run: RunJson;
    try {
      run = store.readRunJson();
    } catch (err) {
      warnings.push(`warning: run skipped: ${(err as Error).message}`);
      continue;
    }
    const name = String((run.spec as { name?: unknown }).name ?? '');
    out.set(name, [...(out.get(name) ?? []), { dir: store.dir, run }]);
  }
  return out;
}

/** The run of a planned run: its exact id, else the newest of the same name and protocol; other versions warned. */
function findRun(p: PlannedRun, byName: Map<string, RunCandidate[]>, warnings: string[]): RunCandidate | null {
  const b = p.benchmark;
  const cands = (byName.get(p.name) ?? []).filter((c) => (c.run.spec as { benchmark?: { id?: string } }).benchmark?.id === b.id);
  const same: RunCandidate[] = [];
  for (const c of cands) {
    const rb = (c.run.spec as { benchmark: { version: number; sha256: string } }).benchmark;
    if (rb.version !== b.protocol.version || rb.sha256 !== b.protocol.sha256) {
      warnings.push(
        `WARNING: ${c.run.runId} was made with protocol version ${rb.version} of benchmark ${b.id}, but ${b.file} is version ${b.protocol.version}` +
          `${rb.version === b.protocol.version ? ' with a different protocol hash' : ''}: it is NOT compared (re-run with \`refbench reproduce\` to get a version ${b.protocol.version} run)`,
      );
      continue;
    }
    same.push(c);
  }
  return same.find((c) => c.run.runId === p.runId) ?? same.sort((x, y) => y.run.createdAt.localeCompare(x.run.createdAt))[0] ?? null;
}

/** The table's columns of one benchmark, with the experiment's short key (Table 7's `severe_ids` → `ids`). */
function columnsFor(table: PaperTable, datasetId: string): { m: PaperMetric; short: string }[] {
  const own = table.metrics.filter((m) => m.dataset_id === datasetId);
  const cols = own.length ? own : table.metrics.filter((m) => !m.dataset_id);
  return cols.map((m) => ({ m, short: m.dataset_id ? m.key.slice(m.key.indexOf('_') + 1) : m.key }));
}

function cmd(exp: Experiment, b: string, profile: string, resultsDir: string): string {
  return `refbench reproduce ${exp.id} --benchmark ${b}${profile !== exp.restorer ? ` --restorer ${profile}` : ''}${resultsDir !== resolve('results') ? ` --results-dir ${resultsDir}` : ''}`;
}

/** What every row of one report reads: the experiment, its table, its plan and the runs and fusion bench found. */
interface ReportContext {
  readonly exp: Experiment & { file: string };
  readonly table: PaperTable;
  readonly resultsDir: string;
  readonly profileName: string;
  readonly profile: Profile | undefined;
  readonly plan: readonly PlannedRun[];
  /** The run found for each planned run (null: none). */
  readonly found: ReadonlyMap<PlannedRun, RunCandidate | null>;
  /** Run folder → its aggregates. */
  readonly aggs: ReadonlyMap<string, RunAggregate>;
  /** The fusion benches made with the profile's bench settings, newest first. */
  readonly fusions: readonly (FusionReport & { path: string })[];
  /** The fusion bench the first time/memory cell came from. */
  usedFusion: (FusionReport & { path: string }) | null;
}

/** Our side of one cell; `comparable`: whether ours − paper is a meaningful Δ. */
interface OurValue {
  readonly ours: number | null;
  readonly half?: number | null;
  readonly n?: number;
  readonly of?: number;
  readonly note?: string;
  readonly comparable: boolean;
}

/**
 * Builds the comparison of paper table `tableRef` with the store's runs.
 * @throws Error naming the file when the experiment, a benchmark or paper-tables.json is invalid.
 */
export async function buildPaperReport(tableRef: string, o: PaperReportOptions): Promise<PaperReport> {
  const exp = loadExperiment(tableRef);
  const table = paperTable(exp.paper);
  const resultsDir = resolve(o.resultsDir);
  const profileName = o.restorer ?? exp.restorer;
  const profile = loadProfiles().get(profileName);
  const plan = planExperiment(exp, { config: o.config, resultsDir, benchmarks: o.benchmarks, restorer: o.restorer });
  const warnings: string[] = [];
  const byName = runsByName(resultsDir, warnings);
  const found = new Map<PlannedRun, RunCandidate | null>(plan.map((p) => [p, p.state === 'blocked' && !byName.has(p.name) ? null : findRun(p, byName, warnings)]));
  const dirs = [...found.values()].filter((c): c is RunCandidate => !!c).map((c) => c.dir);
  const aggs = new Map((await aggregateRuns([...new Set(dirs)])).map((a) => [a.runDir, a]));
  // The fusion bench: the newest one made with the profile's bench settings.
  const fusions = profileFusions(fusionReports(resultsDir), profile?.bench);
  const ctx: ReportContext = { exp, table, resultsDir, profileName, profile, plan, found, aggs, fusions, usedFusion: null };

  const groups = (o.benchmarks?.length ? o.benchmarks : exp.benchmarks).map((bid) => reportGroup(ctx, bid));
  const uf = ctx.usedFusion;
  return {
    table: { id: table.id, number: table.number, caption: table.caption, ...(table.hardware ? { hardware: table.hardware } : {}) },
    experiment: exp.id,
    profile: profileName,
    groups,
    fusion: uf ? { path: uf.path, device: uf.device, config: uf.config, steps: uf.steps } : null,
    warnings: [...new Set(warnings)],
  };
}

/** One benchmark's table: every row of the experiment, in its order. */
function reportGroup(ctx: ReportContext, bid: string): PaperReportGroup {
  const bench: Benchmark = ctx.plan.find((p) => p.benchmark.id === bid)?.benchmark ?? loadBenchmark(bid);
  const cols = columnsFor(ctx.table, bench.paper.dataset);
  return {
    benchmark: { id: bench.id, title: bench.title, version: bench.protocol.version, paperDataset: bench.paper.dataset, ...(bench.paper.standIn ? { standIn: bench.paper.standIn } : {}) },
    rows: ctx.exp.rows.map((row) => reportRow(ctx, bid, cols, row)),
  };
}

/** One row: its cells, then its state from the run found (or the plan's reason for none). */
function reportRow(ctx: ReportContext, bid: string, cols: readonly { m: PaperMetric; short: string }[], row: ExperimentRow): PaperReportRow {
  const { exp, table } = ctx;
  const paperRow = row.paperRow === null ? undefined : table.rows.find((r) => r.method === row.method);
  if (row.paperRow !== null && !paperRow) throw new Error(`${exp.file}: row '${row.method}' is not a row of the paper's ${table.id}; rows: ${table.rows.map((r) => r.method).join(', ')}`);
  const p = ctx.plan.find((x) => x.benchmark.id === bid && x.row === row);
  const c = p ? ctx.found.get(p) ?? null : null;
  const agg = c ? ctx.aggs.get(c.dir) : undefined;
  const cells: PaperCell[] = [];
  let anyBench = false;
  for (const { m, short } of cols) {
    const src: CellSource | undefined = exp.columns[short];
    if (!src) throw new Error(`${exp.file}: columns: no source for the paper's column '${short}' (${m.name})`);
    const pv = paperRow?.values[m.key];
    const paper = typeof pv === 'number' ? pv : null;
    const base = { key: m.key, name: m.name, direction: m.direction, decimals: m.decimals ?? 2, paper, ...(paperRow?.status?.[m.key] ? { paperStatus: paperRow.status[m.key] } : {}) };
    let v: OurValue;
    if ('option' in src) v = optionValue(row, src.option);
    else if ('metric' in src) v = c && agg ? metricValue(c, agg, src.metric) : { ours: null, comparable: true };
    else {
      anyBench = true;
      v = benchValue(ctx, row, src);
    }
    const { ours, n, note } = v;
    cells.push({ ...base, ours, half: v.half ?? null, ...(n !== undefined ? { n, of: v.of } : {}), delta: v.comparable && ours !== null && paper !== null ? ours - paper : null, ...(note ? { note } : {}) });
  }
  const command = cmd(exp, bid, ctx.profileName, ctx.resultsDir);
  let state: PaperReportRow['state'];
  if (!p) state = anyBench && cells.some((x) => x.note?.startsWith('not run')) ? 'not run' : 'ok';
  else if (c) state = agg && agg.ok + agg.error >= c.run.dataset.available ? 'ok' : 'partial';
  else state = p.state === 'blocked' ? 'blocked' : 'not run';
  return {
    method: row.method,
    inPaper: !!paperRow,
    runId: c?.run.runId ?? null,
    state,
    ...(state === 'not run' || state === 'partial' ? { command } : {}),
    ...(state === 'partial' && c && agg ? { coverage: `${agg.ok + agg.error}/${c.run.dataset.available}` } : {}),
    ...(state === 'blocked' && p?.blocked ? { blocked: p.blocked.split('\n')[0] } : {}),
    untrained: !!c && (c.run.restorer.untrained || c.run.metrics.some((x) => x.weights === 'test-random-init')),
    cells,
  };
}

/** A cell that shows one of the row's options (e.g. the number of references): a setting, never a Δ. */
function optionValue(row: ExperimentRow, option: string): OurValue {
  const v = option === 'refs' ? row.bench?.refs : (row.options as Record<string, unknown>)[option];
  return { ours: typeof v === 'number' ? v : null, comparable: false };
}

/** A metric of the row's run: a per-image mean with its 95% bootstrap CI half-width, or a set metric's value. */
function metricValue(c: RunCandidate, agg: RunAggregate, metric: string): OurValue {
  const of = c.run.dataset.size;
  const per = agg.perSample.find((a) => a.metric === metric);
  const set = agg.sets.find((s) => s.metric === metric);
  if (per && per.n) {
    const bs = bootstrapMean(per.values, BOOTSTRAP_DEFAULTS);
    return { ours: bs.mean, half: bs.ci95 ? (bs.ci95[1] - bs.ci95[0]) / 2 : null, n: per.n, of, comparable: true };
  }
  if (set && set.value !== null && set.value !== undefined && !set.error) return { ours: set.value, n: set.n, of, comparable: true };
  const note = set?.error ? `failed: ${set.error}` : c.run.metrics.some((x) => x.id === metric) ? 'no value yet' : `the run has no ${metric}`;
  return { ours: null, note, comparable: true };
}

/** A time or memory cell from the fusion bench: different hardware, so a measurement beside the paper's, never a Δ. */
function benchValue(ctx: ReportContext, row: ExperimentRow, src: Extract<CellSource, { bench: unknown }>): OurValue {
  const design = row.bench?.design ?? row.design ?? 'cachekv';
  const refs = row.bench?.refs ?? src.refs ?? 5;
  const f = fusionCell(ctx.fusions, design, refs);
  if (!f) return { ours: null, note: ctx.profile?.bench ? 'not run (no weights needed)' : `profile ${ctx.profileName} has no fusion bench`, comparable: false };
  ctx.usedFusion ??= f.r;
  const ours = src.bench === 'time' ? f.row.timeMs! / 1000 : f.row.peakRssDeltaBytes !== undefined ? f.row.peakRssDeltaBytes / 2 ** 30 : null;
  const note = `bench fusion, ${f.r.device}${src.bench === 'memory' ? ' peak RSS increase (GB)' : ' s/image'}${src.device ? `; paper: ${src.device}` : ''}`;
  return { ours, note, comparable: false };
}

// ---- formats ----------------------------------------------------------------------------------------------

/** Formats a number with the paper's decimals; `—` for none. */
export function fmtNum(v: number | null | undefined, d: number): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d);
}

function signed(v: number | null, d: number): string {
  if (v === null) return '';
  const s = v.toFixed(d);
  return v > 0 || (v === 0 && !s.startsWith('-')) ? `+${s}` : s;
}

function arrow(c: PaperCell): string {
  return c.direction === 'higher' ? ' ↑' : c.direction === 'lower' ? ' ↓' : '';
}

function oursText(c: PaperCell, r: PaperReportRow): string {
  if (c.ours === null) return r.state === 'blocked' ? 'blocked' : c.note ?? (r.state === 'not run' ? 'not run' : '—');
  let s = fmtNum(c.ours, c.decimals);
  if (c.half !== null) s += ` ± ${fmtNum(c.half, c.decimals)}`;
  if (c.n !== undefined && c.of !== undefined && c.n < c.of) s += ` (${c.n}/${c.of})`;
  return s;
}

function paperText(c: PaperCell): string {
  return c.paper === null ? (c.paperStatus ?? '—') : fmtNum(c.paper, c.decimals);
}

function headerLines(r: PaperReport, g: PaperReportGroup): string[] {
  const out = [`Paper ${r.table.id} (Hsiao et al., NeurIPS 2024): ${r.table.caption}`, `Ours: benchmark ${g.benchmark.id} (protocol v${g.benchmark.version}), restorer profile ${r.profile}; paper column: ${g.benchmark.paperDataset}.`];
  if (g.benchmark.standIn) out.push(`NOTE: ${g.benchmark.id} is a stand-in: ${g.benchmark.standIn}.`);
  return out;
}

function footerLines(r: PaperReport): string[] {
  const out = [`Cells: ours (mean ± 95% bootstrap CI half-width, ${BOOTSTRAP_DEFAULTS.iterations} resamples, seed ${BOOTSTRAP_DEFAULTS.seed}; (n/N) when a metric covers fewer samples) | paper | Δ = ours − paper, at the paper's decimals.`];
  if (r.fusion) out.push(`Time and memory: ${r.fusion.path} (bench fusion, ${r.fusion.config} config, ${r.fusion.steps} steps, ${r.fusion.device}); the paper measured on ${r.table.hardware ?? 'GPUs'}: a measurement beside theirs, no Δ.`);
  const untrained: string[] = [];
  for (const g of r.groups) {
    for (const row of g.rows) {
      if (row.command) out.push(`- ${g.benchmark.id} / ${row.method}: ${row.state}${row.coverage ? ` (${row.coverage} samples)` : ''}: ${row.command}`);
      if (row.blocked) out.push(`- ${g.benchmark.id} / ${row.method}: blocked: ${row.blocked}`);
      if (row.untrained && row.runId) untrained.push(row.runId);
    }
  }
  if (untrained.length) out.push(`UNTRAINED: ${untrained.join(', ')} use random-init weights (restorer or test metric networks): pipeline checks, not results.`);
  return [...out, ...r.warnings];
}

/** Markdown: per benchmark one table, each paper column as three columns (ours, paper, Δ). */
export function paperReportMarkdown(r: PaperReport): string {
  const out: string[] = [];
  for (const g of r.groups) {
    out.push(...headerLines(r, g), '');
    const cols = g.rows[0]?.cells ?? [];
    const head = ['method', 'run', ...cols.flatMap((c) => [`${c.name}${arrow(c)} ours`, 'paper', 'Δ'])];
    out.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
    for (const row of g.rows) {
      const vals = row.cells.flatMap((c) => [oursText(c, row), row.inPaper ? paperText(c) : '(not in paper)', signed(c.delta, c.decimals)]);
      out.push(`| ${[row.method, row.runId ?? row.state, ...vals].join(' | ')} |`);
    }
    out.push('');
  }
  out.push(...footerLines(r));
  return `${out.join('\n')}\n`;
}

function csvEscape(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV: one line per cell (full precision). */
export function paperReportCsv(r: PaperReport): string {
  const head = 'table,benchmark,protocol_version,stand_in,method,in_paper,run_id,state,column,ours,ours_ci95_half,ours_n,ours_of,paper,paper_status,delta,decimals,note,command';
  const lines = [head];
  for (const g of r.groups) {
    for (const row of g.rows) {
      for (const c of row.cells) {
        lines.push(
          [r.table.id, g.benchmark.id, String(g.benchmark.version), g.benchmark.standIn ? 'true' : 'false', row.method, String(row.inPaper), row.runId ?? '', row.state, c.key, c.ours ?? '', c.half ?? '', c.n ?? '', c.of ?? '', c.paper ?? '', c.paperStatus ?? '', c.delta ?? '', c.decimals, c.note ?? row.blocked ?? '', row.command ?? '']
            .map((x) => csvEscape(String(x)))
            .join(','),
        );
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Escapes LaTeX special characters. */
export function latexEscape(s: string): string {
  return s.replace(/[\\{}$&#^_%~]/g, (ch) => ({ '\\': '\\textbackslash{}', '~': '\\textasciitilde{}', '^': '\\textasciicircum{}' })[ch] ?? `\\${ch}`).replace(/[↑↓±Δ−—]/g, (ch) => ({ '↑': '$\\uparrow$', '↓': '$\\downarrow$', '±': '$\\pm$', 'Δ': '$\\Delta$', '−': '-', '—': '--' })[ch]!);
}

/**
 * LaTeX (booktabs): a complete document (`\documentclass{article}` … one table per benchmark) that compiles with
 * pdflatex and the standard booktabs package; copy the `tabular` into a paper.
 */
export function paperReportLatex(r: PaperReport): string {
  const out = ['\\documentclass{article}', '\\usepackage[margin=1.5cm,landscape]{geometry}', '\\usepackage{booktabs}', '\\begin{document}', ''];
  for (const g of r.groups) {
    const cols = g.rows[0]?.cells ?? [];
    out.push('\\begin{table}[ht]', '\\centering', '\\small', `\\begin{tabular}{l${'rrr'.repeat(cols.length)}}`, '\\toprule');
    out.push(`Method & ${cols.map((c) => `\\multicolumn{3}{c}{${latexEscape(`${c.name}${arrow(c)}`)}}`).join(' & ')} \\\\`);
    out.push(cols.map((_, i) => `\\cmidrule(lr){${2 + 3 * i}-${4 + 3 * i}}`).join(' '));
    out.push(` & ${cols.map(() => 'ours & paper & $\\Delta$').join(' & ')} \\\\`, '\\midrule');
    for (const row of g.rows) {
      const vals = row.cells.flatMap((c) => [latexEscape(c.ours === null ? (row.state === 'ok' ? '—' : row.state) : oursText(c, row)), latexEscape(row.inPaper ? paperText(c) : '—'), latexEscape(signed(c.delta, c.decimals).replace('-', '−'))]);
      out.push(`${latexEscape(row.method)} & ${vals.join(' & ')} \\\\`);
    }
    out.push('\\bottomrule', '\\end{tabular}');
    const cap = `${headerLines(r, g).join(' ')}`;
    out.push(`\\caption{${latexEscape(cap)}}`, '\\end{table}', '');
  }
  out.push('\\end{document}');
  return `${out.join('\n')}\n`;
}

/** The report in a format. */
export function formatPaperReport(r: PaperReport, format: 'md' | 'csv' | 'latex'): string {
  return format === 'csv' ? paperReportCsv(r) : format === 'latex' ? paperReportLatex(r) : paperReportMarkdown(r);
}
