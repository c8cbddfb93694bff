/**
 * @file `refbench export [runs...]`: per-sample results as Parquet, CSV or JSON lines for pandas, pyarrow, polars
 * or DuckDB (src/lib/server/results/export.ts): samples (one row per run, sample and metric), sets (FID, KID) and
 * runs (provenance).
 */
import type { Command } from 'commander';
import { exportRuns } from '../../lib/server/results/export.ts';
import { EXPORT_FORMATS, type ExportFormat } from '../../lib/server/results/query.ts';

export function register(program: Command): void {
  program
    .command('export')
    .description('Write per-sample results as tables: samples (one row per run, sample and metric), sets (FID, KID) and runs (provenance).')
    .argument('[runs...]', 'run directories or ids (default: every run under --results-dir)')
    .option('--format <fmt>', EXPORT_FORMATS.join(' | '), 'parquet')
    .option('--out <dir>', 'folder to write samples.<ext>, sets.<ext> and runs.<ext> to', 'export')
    .option('--results-dir <dir>', 'results root', 'results')
    .option('--force', 'replace existing files in --out')
    .addHelpText(
      'after',
      `
Examples:
  $ refbench export                                   # every run → export/{samples,sets,runs}.parquet
  $ refbench export synthfaces-lq --format csv --out tables
  $ python -c "import pandas as pd; print(pd.read_parquet('export/samples.parquet').groupby(['run_id', 'metric']).value.mean())"
Columns: docs/results-format.md ("refbench export").`,
    )
    .action(async (runs: string[], o: { format: string; out: string; resultsDir: string; force?: boolean }) => {
      const r = await exportRuns({ resultsDir: o.resultsDir, runs, format: o.format as ExportFormat, outDir: o.out, force: !!o.force });
      for (const w of r.warnings) process.stderr.write(`${w}\n`);
      process.stdout.write(`${r.runs} run(s) exported:\n  ${r.files.samples}\n  ${r.files.sets}\n  ${r.files.runs}\n`);
    });
}
