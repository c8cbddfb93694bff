/**
 * @file `refbench report <runs...>`: a comparison table (Markdown or CSV) over runs, via DuckDB; benchmark files
 * (`refbench bench fusion`'s fusion.json, `python -m refbench_model.bench`'s JSON) as the paper's Tables 2 and 6.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { benchReportPath, listBenchReports } from '../../lib/server/results/bench-files.ts';
import { listRunIds, resolveRunDir, runsRoot } from '../../lib/server/results/store.ts';
import { report, type ReportFormat } from '../../lib/server/runner/report.ts';
import { formatFusionTables, type FusionReport } from '../../lib/server/timing/fusion.ts';
import { formatTorchBench, parseTorchBench, TORCH_BENCH_KIND, torchBenchCsv } from '../../lib/server/timing/torch-bench.ts';

const BENCH_KINDS = ['fusion-bench', TORCH_BENCH_KIND];

/** The `kind` of a JSON file, or undefined when it is not a readable JSON object. */
function jsonKind(p: string): unknown {
  try {
    return (JSON.parse(readFileSync(p, 'utf8')) as { kind?: unknown }).kind;
  } catch {
    return undefined;
  }
}

/**
 * A benchmark given as its JSON file (fusion.json, or any .json whose `kind` is a benchmark's), its directory, or
 * its id under `<results>/bench/`; null when `ref` is not one (then it is a run).
 */
function fusionFile(resultsDir: string, ref: string): string | null {
  for (const p of [ref, join(ref, 'fusion.json'), benchReportPath(resultsDir, ref)]) {
    if (p.endsWith('fusion.json') && existsSync(p) && statSync(p).isFile()) return p;
  }
  if (ref.endsWith('.json') && existsSync(ref) && statSync(ref).isFile() && BENCH_KINDS.includes(jsonKind(ref) as string)) return ref;
  return null;
}

/** Fusion benchmarks as CSV: one row per design × reference count. */
function fusionCsv(r: FusionReport): string {
  const head = 'bench,config,device,steps,cfg,design,refs,time_s,peak_rss_delta_mb,error';
  const rows = r.rows.map((x) =>
    [r.id, r.config, r.device, r.steps, r.cfg, x.design, x.refs, x.timeMs !== undefined ? (x.timeMs / 1000).toFixed(4) : '', x.peakRssDeltaBytes !== undefined ? (x.peakRssDeltaBytes / 2 ** 20).toFixed(1) : '', x.error ? JSON.stringify(x.error) : ''].join(','),
  );
  return [head, ...rows].join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('report')
    .description('Compare runs: one row per run, each metric as mean ± 95% CI, coverage, time per image; fusion benchmarks as the paper\'s Tables 2 and 6.')
    .argument('[runs...]', 'run directories or ids, fusion benchmark dirs/ids, or benchmark JSON files (python -m refbench_model.bench) (default: every run under --results-dir)')
    .option('--results-dir <dir>', 'results root', 'results')
    .option('--format <fmt>', 'md | csv | latex (latex: --paper only)', 'md')
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--paper <table>', "our runs beside the paper's table2/5/6/7: ours ± CI, paper, Δ per cell (experiments/<table>.yaml)")
    .option('--latex', 'same as --format latex (a booktabs document pdflatex compiles)')
    .option('--benchmark <ids>', '--paper: benchmark ids, comma-separated (default: the paper\'s)')
    .option('--restorer <profile>', '--paper: restorer profile of experiments/restorers.yaml (default: refldm-paper)')
    .option('--config <file>', '--paper: user config (default: $REFBENCH_CONFIG, else ./refbench.config.yaml)')
    .option('--shared', 'compare runs of one benchmark on the samples they all share (same sample id and input hash) only')
    .option('--compact', 'md: metrics as rows and runs as lettered columns, values only, within 80 columns')
    .addHelpText('after', '\nExamples:\n  $ refbench report\n  $ refbench report --paper table5 --benchmark synthfaces-ref-severe --restorer refldm-tiny\n  $ refbench report --paper table7 --latex --out table7.tex\n  $ refbench report --compact\n  $ refbench report --shared         # runs of a benchmark over the samples they all share\n  $ refbench report --format csv --out table.csv\n  $ refbench report results/bench/20261128T051617Z-psbmw      # a fusion benchmark: Tables 2 and 6\n  $ refbench report benchmarks/measured/refldm-torch-NVIDIA-H200-20261201T120000Z.json   # the PyTorch engine bench')
    .action(async (runs: string[], o: { resultsDir: string; format: string; out?: string; paper?: string; compact?: boolean; latex?: boolean; benchmark?: string; restorer?: string; config?: string; shared?: boolean }) => {
      if (o.latex) o.format = 'latex';
      if (o.paper) {
        if (runs.length) throw new Error(`--paper ${o.paper}: compares the runs its experiment names (experiments/${o.paper}.yaml); give no run ids (choose with --benchmark/--restorer)`);
        if (o.format !== 'md' && o.format !== 'csv' && o.format !== 'latex') throw new Error(`--format: expected md, csv or latex, got ${JSON.stringify(o.format)}`);
        const { buildPaperReport, formatPaperReport } = await import('../../lib/server/experiments/paper-report.ts');
        const { UserConfig } = await import('../../lib/server/experiments/user-config.ts');
        const r = await buildPaperReport(o.paper, {
          config: UserConfig.load(o.config),
          resultsDir: o.resultsDir,
          benchmarks: o.benchmark?.split(',').map((s) => s.trim()).filter(Boolean),
          restorer: o.restorer,
        });
        // Loud on every format: a CSV or .tex file has no room for them, so they also go to stderr.
        for (const w of r.warnings) process.stderr.write(`${w}\n`);
        const text = formatPaperReport(r, o.format);
        if (o.out) writeFileSync(o.out, text);
        else process.stdout.write(text);
        return;
      }
      if (o.format !== 'md' && o.format !== 'csv') throw new Error(`--format: expected md or csv${o.format === 'latex' ? ' (latex needs --paper)' : ''}, got ${JSON.stringify(o.format)}`);
      const fusions = runs.map((r) => fusionFile(o.resultsDir, r)).filter((f): f is string => f !== null);
      const runRefs = runs.filter((r) => fusionFile(o.resultsDir, r) === null);
      if (!runs.length) fusions.push(...listBenchReports(o.resultsDir));
      const ids = runs.length ? runRefs : listRunIds(o.resultsDir);
      if (!ids.length && !fusions.length) throw new Error(`no runs under ${runsRoot(resolve(o.resultsDir))}; run \`refbench run <spec>\` first`);
      const dirs = ids.map((r) => resolveRunDir(o.resultsDir, r));
      const parts = dirs.length ? [await report(dirs, o.format as ReportFormat, { warn: (m) => process.stderr.write(`${m}\n`), layout: o.compact ? 'compact' : 'wide', shared: o.shared ?? false })] : [];
      for (const f of fusions) {
        const raw = JSON.parse(readFileSync(f, 'utf8')) as { kind?: unknown };
        if (raw.kind === TORCH_BENCH_KIND) {
          const tb = parseTorchBench(raw, f);
          parts.push(o.format === 'csv' ? torchBenchCsv(tb, f) : `\n${f}\n\n\`\`\`\n${formatTorchBench(tb)}\n\`\`\`\n`);
          continue;
        }
        const fr = raw as FusionReport;
        if (fr.kind !== 'fusion-bench') throw new Error(`${f}: not a fusion benchmark (kind ${JSON.stringify(fr.kind)})`);
        parts.push(o.format === 'csv' ? fusionCsv(fr) : `\n${f}\n\n\`\`\`\n${formatFusionTables(fr)}\n\`\`\`\n`);
      }
      const text = parts.join('\n');
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
    });
}
