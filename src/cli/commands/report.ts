/**
 * @file `refbench report <runs...>`: a comparison table (Markdown or CSV) over runs, via DuckDB.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { listRunIds, resolveRunDir, runsRoot } from '../../lib/server/results/store.ts';
import { report, type ReportFormat } from '../../lib/server/runner/report.ts';

export function register(program: Command): void {
  program
    .command('report')
    .description('Compare runs: one row per run, each metric as mean ± 95% CI, coverage, time per image.')
    .argument('[runs...]', 'run directories or ids (default: every run under --results-dir)')
    .option('--results-dir <dir>', 'results root', 'results')
    .option('--format <fmt>', 'md | csv', 'md')
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--paper <table-id>', "print the paper's table (e.g. table7) below ours (md only)")
    .addHelpText('after', '\nExamples:\n  $ refbench report\n  $ refbench report demo-0123456789 lq-0123456789 --paper table7\n  $ refbench report --format csv --out table.csv')
    .action(async (runs: string[], o: { resultsDir: string; format: string; out?: string; paper?: string }) => {
      if (o.format !== 'md' && o.format !== 'csv') throw new Error(`--format: expected md or csv, got ${JSON.stringify(o.format)}`);
      const ids = runs.length ? runs : listRunIds(o.resultsDir);
      if (!ids.length) throw new Error(`no runs under ${runsRoot(resolve(o.resultsDir))}; run \`refbench run <spec>\` first`);
      const dirs = ids.map((r) => resolveRunDir(o.resultsDir, r));
      const text = await report(dirs, o.format as ReportFormat, { paper: o.format === 'md' ? o.paper : undefined });
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
    });
}
