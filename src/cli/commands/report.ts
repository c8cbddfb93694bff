/**
 * @file `refbench report <runs...>`: a comparison table (Markdown or CSV) over runs, via DuckDB; benchmark files
 * (`refbench bench fusion`'s fusion.json, `python -m refbench_model.bench`'s JSON) as the paper's Tables 2 and 6.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { listRunIds, resolveRunDir, runsRoot } from '../../lib/server/results/store.ts';
import { report, type ReportFormat } from '../../lib/server/runner/report.ts';
import { formatFusionTables, type FusionReport } from '../../lib/server/bench/fusion.ts';
import { formatTorchBench, parseTorchBench, TORCH_BENCH_KIND, torchBenchCsv } from '../../lib/server/bench/torch-bench.ts';

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
  for (const p of [ref, join(ref, 'fusion.json'), join(resultsDir, 'bench', ref, 'fusion.json')]) {
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
    .option('--format <fmt>', 'md | csv', 'md')
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--paper <table-id>', "print the paper's table (e.g. table7) below ours (md only)")
    .option('--shared', 'compare runs of one benchmark on the samples they all share (same sample id and input hash) only')
    .option('--compact', 'md: metrics as rows and runs as lettered columns, values only, within 80 columns')
    .addHelpText('after', '\nExamples:\n  $ refbench report\n  $ refbench report demo-0123456789 lq-0123456789 --paper table7\n  $ refbench report --compact\n  $ refbench report --shared         # runs of a benchmark over the samples they all share\n  $ refbench report --format csv --out table.csv\n  $ refbench report results/bench/20261128T051617Z-psbmw      # a fusion benchmark: Tables 2 and 6\n  $ refbench report benchmarks/measured/refldm-torch-NVIDIA-H200-20261201T120000Z.json   # the PyTorch engine bench')
    .action(async (runs: string[], o: { resultsDir: string; format: string; out?: string; paper?: string; compact?: boolean; shared?: boolean }) => {
      if (o.format !== 'md' && o.format !== 'csv') throw new Error(`--format: expected md or csv, got ${JSON.stringify(o.format)}`);
      const fusions = runs.map((r) => fusionFile(o.resultsDir, r)).filter((f): f is string => f !== null);
      const runRefs = runs.filter((r) => fusionFile(o.resultsDir, r) === null);
      if (!runs.length) {
        const benchRoot = join(o.resultsDir, 'bench');
        if (existsSync(benchRoot)) for (const id of readdirSync(benchRoot).sort()) if (existsSync(join(benchRoot, id, 'fusion.json'))) fusions.push(join(benchRoot, id, 'fusion.json'));
      }
      const ids = runs.length ? runRefs : listRunIds(o.resultsDir);
      if (!ids.length && !fusions.length) throw new Error(`no runs under ${runsRoot(resolve(o.resultsDir))}; run \`refbench run <spec>\` first`);
      const dirs = ids.map((r) => resolveRunDir(o.resultsDir, r));
      const parts = dirs.length ? [await report(dirs, o.format as ReportFormat, { paper: o.format === 'md' ? o.paper : undefined, warn: (m) => process.stderr.write(`${m}\n`), layout: o.compact ? 'compact' : 'wide', shared: o.shared ?? false })] : [];
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
