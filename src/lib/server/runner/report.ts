/**
 * @file `refbench report`: one row per run (restorer, dataset, level, refs setting, coverage, every metric as
 * mean ± 95% CI half-width with the metric's decimals and a ↑/↓ direction arrow, time per image), as Markdown or
 * CSV. Numbers come from DuckDB over the JSONL files (results/query.ts) joined with run.json facts; CIs are the
 * same fixed-seed bootstrap as summary.json. Runs or metrics with non-real weights are marked in every format.
 * Runs made from different protocol versions of one benchmark (`spec.benchmark`) get a loud warning naming both
 * versions. Our runs beside the paper's tables: experiments/paper-report.ts (`report --paper`).
 */
import { TIME_METRIC, type MetricInfo, type RunJson } from '../../eval/results/schema.ts';
import { BOOTSTRAP_DEFAULTS, bootstrapMean } from '../../eval/stats/bootstrap.ts';
import { ResultsDb, type SharedSamples } from '../results/query.ts';
import { RunStore } from '../results/store.ts';

export type ReportFormat = 'md' | 'csv';

/** One cell of the report. */
interface Cell {
  value: number | null;
  n: number;
  of: number;
  half: number | null;
  ciLo: number | null;
  ciHi: number | null;
  /** A set metric recorded as failed (eval.jsonl), instead of a value. */
  error?: string;
}

interface Row {
  run: RunJson;
  ok: number;
  error: number;
  cells: Map<string, Cell>;
  problems: string[];
}

const MARK_UNTRAINED = 'UNTRAINED WEIGHTS';
const MARK_TEST = 'test network';

function fmt(v: number | null, d: number): string {
  return v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(d);
}

function arrow(m: MetricInfo): string {
  return m.higherIsBetter ? '↑' : '↓';
}

function csvEscape(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The runs of one benchmark (dataset id and level) in a report, and the samples they share. */
export interface Comparability {
  /** `synthfaces-ref (severe)`. */
  readonly benchmark: string;
  readonly runIds: string[];
  readonly shared: SharedSamples;
  /** True when some run's per-sample means cover samples the others do not (the runs are not comparable as is). */
  readonly differs: boolean;
}

/** The benchmark a run belongs to for comparison: its dataset and level. */
function benchmarkOf(run: RunJson): string {
  return `${run.dataset.id}${run.dataset.level && !run.dataset.id.includes(run.dataset.level) ? ` (${run.dataset.level})` : ''}`;
}

/** What `shared` says, in words: `4 shared of 44 (40 missing in some run, 1 failed in some run)`. */
export function sharedText(s: SharedSamples): string {
  const why = [
    s.missing ? `${s.missing} missing in some run` : '',
    s.failed ? `${s.failed} failed in some run` : '',
    s.differentInputs ? `${s.differentInputs} with different inputs under the same id` : '',
    s.unverified ? `${s.unverified} without a recorded input hash` : '',
  ].filter(Boolean);
  return `${s.ids.length} shared of ${s.total}${why.length ? ` (${why.join(', ')})` : ''}`;
}

/**
 * Reads and aggregates the runs. Runs of one benchmark are checked for comparability (same sample ids AND input
 * hashes, see `ResultsDb.sharedSamples`); with `shared`, their per-sample metrics are restricted to the shared
 * samples (set metrics such as FID stay over each run's own samples: they are not per-sample).
 */
async function collect(runDirs: readonly string[], shared = false): Promise<{ rows: Row[]; metrics: MetricInfo[]; skipped: string[]; groups: Comparability[] }> {
  const metrics: MetricInfo[] = [TIME_METRIC];
  const seen = new Set<string>([TIME_METRIC.id]);
  const skipped: string[] = [];
  const runs = new Map<string, RunJson>();
  for (const dir of runDirs) {
    try {
      runs.set(dir, new RunStore(dir).readRunJson());
    } catch (err) {
      skipped.push((err as Error).message); // names run.json and what is wrong with it; the other runs go on
    }
  }
  const byBench = new Map<string, string[]>();
  for (const [dir, run] of runs) byBench.set(benchmarkOf(run), [...(byBench.get(benchmarkOf(run)) ?? []), dir]);
  const db = await ResultsDb.open();
  const aggs = new Map<string, Awaited<ReturnType<ResultsDb['aggregate']>>[number]>();
  const groups: Comparability[] = [];
  try {
    const loaded = await db.sync([...runs.keys()]);
    for (const [benchmark, dirs] of byBench) {
      const s = await db.sharedSamples(dirs);
      const okCounts = dirs.map((d) => loaded.get(d)!.ok);
      const differs = dirs.length > 1 && okCounts.some((n) => n !== s.ids.length);
      if (dirs.length > 1) groups.push({ benchmark, runIds: dirs.map((d) => runs.get(d)!.runId), shared: s, differs });
      for (const a of await db.aggregate(dirs, shared && dirs.length > 1 ? s.ids : undefined)) aggs.set(a.runDir, a);
    }
  } finally {
    db.close();
  }
  const rows: Row[] = [];
  for (const [dir, run] of runs) {
    const agg = aggs.get(dir)!;
    for (const m of run.metrics) {
      if (!seen.has(m.id)) {
        seen.add(m.id);
        metrics.push(m);
      }
    }
    // Lines the store rejected are reported, not fatal (DuckDB never saw them).
    const problems = agg.problems;
    const group = groups.find((g) => g.runIds.includes(run.runId));
    const of = shared && group ? group.shared.ids.length : run.dataset.size;
    const cells = new Map<string, Cell>();
    for (const a of agg.perSample) {
      const b = bootstrapMean(a.values, BOOTSTRAP_DEFAULTS);
      cells.set(a.metric, {
        value: a.n ? b.mean : null,
        n: a.n,
        of,
        half: b.ci95 ? (b.ci95[1] - b.ci95[0]) / 2 : null,
        ciLo: b.ci95?.[0] ?? null,
        ciHi: b.ci95?.[1] ?? null,
      });
    }
    for (const s of agg.sets) cells.set(s.metric, { value: s.value, n: s.n, of: run.dataset.size, half: null, ciLo: null, ciHi: null, ...(s.error ? { error: s.error } : {}) });
    rows.push({ run, ok: agg.ok, error: agg.error, cells, problems });
  }
  // time-ms last (it is a cost, not a quality column).
  metrics.push(metrics.splice(metrics.findIndex((m) => m.id === TIME_METRIC.id), 1)[0]);
  return { rows, metrics, skipped, groups };
}

/**
 * What the report says about comparability, one line per benchmark with several runs: a warning when the runs
 * cover different samples (their means are then over different images), what `--shared` did, or that all share.
 */
function comparabilityLines(groups: readonly Comparability[], shared: boolean): string[] {
  return groups.map((g) => {
    const n = g.shared.ids.length;
    if (shared) return `--shared: the ${g.runIds.length} runs on ${g.benchmark} are compared on the samples they share: ${sharedText(g.shared)}; set metrics (FID, KID) stay over each run's own samples.`;
    if (g.differs) return `warning: the ${g.runIds.length} runs on ${g.benchmark} cover different samples: ${sharedText(g.shared)}; each mean is over its own run's samples, so the runs are not comparable as shown. --shared compares them on the ${n} shared samples.`;
    return `${g.benchmark}: the ${g.runIds.length} runs cover the same samples (${n} shared of ${g.shared.total}, same inputs).`;
  });
}

/** A store problem with what was skipped: one line (`file:line: message`) or the whole file (`file: message`). */
function skippedNote(problem: string): string {
  return `${problem} (${/:\d+: /.test(problem) ? 'line' : 'file'} skipped)`;
}

/**
 * One loud warning per benchmark whose runs here were made from different protocol versions (`spec.benchmark`),
 * naming each version and its runs: their numbers are not comparable.
 */
export function mixedVersions(runs: readonly RunJson[]): string[] {
  const by = new Map<string, Map<string, string[]>>();
  for (const run of runs) {
    const b = (run.spec as { benchmark?: { id?: unknown; version?: unknown; sha256?: unknown } }).benchmark;
    if (!b || typeof b.id !== 'string') continue;
    const v = `v${String(b.version)}${typeof b.sha256 === 'string' ? ` (${b.sha256.slice(0, 8)})` : ''}`;
    const m = by.get(b.id) ?? new Map<string, string[]>();
    m.set(v, [...(m.get(v) ?? []), run.runId]);
    by.set(b.id, m);
  }
  const out: string[] = [];
  for (const [id, m] of by) {
    if (m.size < 2) continue;
    out.push(`WARNING: runs of benchmark ${id} use different protocol versions (${[...m].map(([v, ids]) => `${v}: ${ids.join(', ')}`).join('; ')}): their numbers are NOT comparable`);
  }
  return out;
}

/**
 * The references a run could use, in words: `no refs`, `all (≤6)` (every reference of the dataset, at most 6 per
 * sample), or `≤3 of ≤6` (the restorer's cap below the dataset's maximum).
 */
export function refsSetting(run: RunJson): string {
  const s = run.restorer.settings as Record<string, unknown>;
  const raw = s.maxRefs ?? s.maxReferences ?? s.refs;
  const cap = typeof raw === 'number' ? raw : undefined;
  const max = run.dataset.maxRefs;
  if (cap === 0 || max === 0) return 'no refs';
  if (cap === undefined || cap >= max) return `all (≤${max})`;
  return `≤${cap} of ≤${max}`;
}

/**
 * Builds the report text.
 * @param runDirs run directories (resolve ids first with the store's `resolveRunDir`).
 * @param opts.shared restrict each benchmark's runs to the samples they share (same id AND input hash); without
 *   it, runs of one benchmark that cover different samples get a warning saying how many they share.
 * @example
 * console.log(await report(['results/runs/demo-0123456789'], 'md'));
 * // | run | restorer | dataset | ... | time-ms ↓ |
 */
export async function report(
  runDirs: readonly string[],
  format: ReportFormat = 'md',
  opts: { warn?: (msg: string) => void; layout?: 'wide' | 'compact'; shared?: boolean } = {},
): Promise<string> {
  const { rows, metrics, skipped, groups } = await collect(runDirs, opts.shared ?? false);
  const comparability = comparabilityLines(groups, opts.shared ?? false);
  const versionWarnings = mixedVersions(rows.map((r) => r.run));
  if (!rows.length && skipped.length) throw new Error(skipped.join('\n'));
  const testMetric = (m: MetricInfo) => m.weights === 'test-random-init';
  if (format === 'csv') {
    // CSV has no room for notes: skipped lines/runs and failed set metrics go to `warn` (the CLI: stderr).
    const warn = opts.warn ?? (() => undefined);
    for (const r of rows) {
      for (const p of r.problems) warn(`warning: ${skippedNote(p)}`);
      for (const [id, c] of r.cells) if (c.error) warn(`warning: ${r.run.runId}: ${id} failed: ${c.error}`);
    }
    for (const k of skipped) warn(`warning: run skipped: ${k}`);
    for (const l of comparability) warn(l);
    for (const w of versionWarnings) warn(w);
    const head = ['run_id', 'restorer', 'dataset', 'level', 'refs', 'ok', 'error', 'total', 'untrained'];
    for (const m of metrics) head.push(m.id, `${m.id}_ci95_lo`, `${m.id}_ci95_hi`, `${m.id}_n`, `${m.id}_weights`);
    const lines = [head.join(',')];
    for (const r of rows) {
      const untrained = r.run.restorer.untrained || r.run.metrics.some(testMetric);
      const vals: string[] = [r.run.runId, r.run.restorer.id, r.run.dataset.id, r.run.dataset.level ?? '', refsSetting(r.run), String(r.ok), String(r.error), String(r.run.dataset.size), String(untrained)];
      for (const m of metrics) {
        const c = r.cells.get(m.id);
        const info = r.run.metrics.find((x) => x.id === m.id) ?? m;
        vals.push(c?.value != null ? String(c.value) : '', c?.ciLo != null ? String(c.ciLo) : '', c?.ciHi != null ? String(c.ciHi) : '', String(c?.n ?? 0), info.weights);
      }
      lines.push(vals.map(csvEscape).join(','));
    }
    return `${lines.join('\n')}\n`;
  }

  if (opts.layout === 'compact') return compactReport(rows, metrics, skipped, comparability, versionWarnings);
  const header = ['run', 'restorer', 'dataset', 'level', 'refs', 'coverage', ...metrics.map((m) => `${m.id} ${arrow(m)}`), 'notes'];
  const out: string[] = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  const notes: string[] = [];
  for (const r of rows) {
    const rowNotes: string[] = [];
    if (r.run.restorer.untrained) rowNotes.push(`**${MARK_UNTRAINED}** (${r.run.restorer.weights.kind})`);
    if (r.ok + r.error < r.run.dataset.size) rowNotes.push(`incomplete (${r.run.dataset.size - r.ok - r.error} pending)`);
    if (r.error) rowNotes.push(`${r.error} failed`);
    const cells = metrics.map((m) => {
      const c = r.cells.get(m.id);
      const info = r.run.metrics.find((x) => x.id === m.id);
      if (!c || !info) return '—';
      if (c.error) {
        notes.push(`- ${r.run.runId}: ${m.id} failed: ${c.error}`);
        return 'error (see below)';
      }
      const d = m.decimals;
      let s = fmt(c.value, d);
      if (c.half !== null) s += ` ± ${fmt(c.half, d)}`;
      if (c.n < c.of) s += ` (${c.n}/${c.of})`;
      if (testMetric(info)) s += ` [${MARK_TEST}]`;
      return s;
    });
    out.push(
      `| ${[r.run.runId, `${r.run.restorer.id}`, r.run.dataset.id, r.run.dataset.level ?? '', refsSetting(r.run), `${r.ok}/${r.run.dataset.size}`, ...cells, rowNotes.join('; ')].join(' | ')} |`,
    );
    for (const p of r.problems) notes.push(`- warning: ${skippedNote(p)}`);
  }
  for (const k of skipped) notes.push(`- warning: run skipped: ${k}`);
  out.push('', `Values: mean ± 95% bootstrap CI half-width (${BOOTSTRAP_DEFAULTS.iterations} resamples, seed ${BOOTSTRAP_DEFAULTS.seed}); (n/M) = metric coverage when below the run size; ↑/↓ = higher/lower is better; time-ms = restorer time per image.`);
  if (rows.some((r) => r.run.restorer.untrained || r.run.metrics.some(testMetric))) {
    out.push(`Runs marked ${MARK_UNTRAINED} or metrics marked [${MARK_TEST}] use random-init weights: their numbers are pipeline checks, not results.`);
  }
  out.push(...comparability.map((l) => `- ${l}`), ...notes, ...versionWarnings.map((w) => `- ${w}`));
  return `${out.join('\n')}\n`;
}

/** Width the compact layout keeps every line within (a default terminal). */
export const COMPACT_WIDTH = 80;

/** `A`..`Z`, then `AA`.. : short column labels for runs. */
function runLabel(i: number): string {
  return i < 26 ? String.fromCharCode(65 + i) : `${runLabel(Math.floor(i / 26) - 1)}${String.fromCharCode(65 + (i % 26))}`;
}

/** Pads a Markdown table (right-aligned numbers) so it also reads as plain text. */
function mdTable(head: readonly string[], body: readonly (readonly string[])[], rightAlign: (col: number) => boolean): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length), 3));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (rightAlign(i) ? c.padStart(w[i]) : c.padEnd(w[i]))).join(' | ')} |`;
  return [line(head), `|${w.map((x, i) => (rightAlign(i) ? `${'-'.repeat(x + 1)}:` : '-'.repeat(x + 2))).join('|')}|`, ...body.map(line)];
}

/**
 * The compact layout (the demo's default): per dataset and level, a table with metrics as rows and runs as
 * lettered columns (at most as many as fit in COMPACT_WIDTH; more start another table), values only (no CI),
 * and a legend naming each run with its restorer, references, coverage and marks. `--wide` gives the full table.
 */
function compactReport(rows: readonly Row[], metrics: readonly MetricInfo[], skipped: readonly string[], comparability: readonly string[], versionWarnings: readonly string[]): string {
  const out: string[] = [];
  const notes: string[] = [];
  /** metric + error text → labels of the runs where that set metric failed (one note for all of them). */
  const failures = new Map<string, { metric: string; error: string; labels: string[] }>();
  const marks = new Set<string>();
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const g = `${r.run.dataset.id}${r.run.dataset.level && !r.run.dataset.id.includes(r.run.dataset.level) ? ` (${r.run.dataset.level})` : ''}`;
    groups.set(g, [...(groups.get(g) ?? []), r]);
  }
  let next = 0;
  for (const [group, grows] of groups) {
    const labelled = grows.map((r) => ({ r, label: runLabel(next++) }));
    out.push(`${group}`, '');
    for (const { r, label } of labelled) {
      const tags = [r.run.restorer.untrained ? MARK_UNTRAINED : '', r.error ? `${r.error} failed` : '', r.ok + r.error < r.run.dataset.size ? 'incomplete' : ''].filter(Boolean);
      const refs = refsSetting(r.run);
      const facts = `${r.run.restorer.id}, ${refs === 'no refs' ? refs : `refs: ${refs}`}, ${r.ok}/${r.run.dataset.size} ok${tags.length ? `, ${tags.join(', ')}` : ''}`;
      const one = `  ${label}  ${r.run.runId}  ${facts}`;
      out.push(...(one.length <= COMPACT_WIDTH ? [one] : [`  ${label}  ${r.run.runId}`, `  ${' '.repeat(label.length)}  ${facts}`]));
      for (const p of r.problems) notes.push(`- warning: ${skippedNote(p)}`);
    }
    const used = metrics.filter((m) => grows.some((r) => r.cells.has(m.id)));
    const labelW = Math.max(6, ...used.map((m) => m.id.length + 2));
    const cell = (r: Row, label: string, m: MetricInfo): string => {
      const c = r.cells.get(m.id);
      const info = r.run.metrics.find((x) => x.id === m.id);
      if (!c || !info) return '—';
      if (c.error) {
        const k = `${m.id}\u0000${c.error}`;
        if (!failures.has(k)) failures.set(k, { metric: m.id, error: c.error, labels: [] });
        failures.get(k)!.labels.push(label);
        return 'err';
      }
      let s = fmt(c.value, m.decimals);
      if (c.n < c.of) (s += '†'), marks.add('†');
      if (info.weights === 'test-random-init') (s += '*'), marks.add('*');
      return s;
    };
    const values = labelled.map(({ r, label }) => used.map((m) => cell(r, label, m)));
    // As many run columns per table as fit: | label | v | v | ... |
    const colW = (j: number) => Math.max(labelled[j].label.length, ...values[j].map((v) => v.length), 3) + 3;
    let start = 0;
    while (start < labelled.length) {
      let width = labelW + 4;
      let end = start;
      while (end < labelled.length && (end === start || width + colW(end) <= COMPACT_WIDTH)) width += colW(end++);
      const head = ['metric', ...labelled.slice(start, end).map((x) => x.label)];
      const body = used.map((m, i) => [`${m.id} ${arrow(m)}`, ...values.slice(start, end).map((v) => v[i])]);
      out.push('', ...mdTable(head, body, (col) => col > 0));
      start = end;
    }
    out.push('');
  }
  for (const k of skipped) notes.push(`- warning: run skipped: ${k}`);
  for (const w of versionWarnings) notes.push(`- ${w}`);
  const legend = ['Values: means over the run\'s samples (95% CIs: refbench report --wide); ↑/↓ higher/lower is better; time-ms per image.'];
  if (marks.has('†')) legend.push('† covers fewer samples than the run (see --wide for n/M).');
  if (marks.has('*')) legend.push(`* ${MARK_TEST}: random-init weights, a pipeline check, not a result.`);
  if (rows.some((r) => r.run.restorer.untrained)) legend.push(`${MARK_UNTRAINED}: the restorer runs random-init weights.`);
  const failed = [...failures.values()].map((f) => `- err: ${f.metric} failed on ${f.labels.join(', ')}: ${f.error}`);
  out.push(...[...legend, ...comparability.map((l) => `- ${l}`), ...failed, ...notes].flatMap((l) => wrap(l, COMPACT_WIDTH, l.startsWith('- ') ? '  ' : '')));
  return `${out.join('\n')}\n`;
}

/** Greedy word wrap to `width` columns (a word longer than that, e.g. a path, keeps its own line). */
function wrap(text: string, width: number, indent = ''): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(' ')) {
    if (cur && cur.length + 1 + w.length > width) (lines.push(cur), (cur = `${indent}${w}`));
    else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines;
}
