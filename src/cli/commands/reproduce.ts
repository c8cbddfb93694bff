/**
 * @file `refbench reproduce <table>`: run what a paper table (experiments/<table>.yaml) is missing on a benchmark,
 * skip what is done; `--dry-run` lists the runs with their state and estimated cost. Dataset roots and other
 * per-machine paths come from the user config (refbench.config.yaml, $REFBENCH_CONFIG or --config).
 */
import type { Command } from 'commander';
import { reproduce } from '../../lib/server/experiments/reproduce.ts';
import { UserConfig } from '../../lib/server/experiments/user-config.ts';
import { installInterruptGuard } from '../../lib/server/runner/signals.ts';

export function register(program: Command): void {
  program
    .command('reproduce')
    .description("Reproduce a paper table (table2, table5, table6, table7): run what is missing, skip what is done.")
    .argument('<table>', 'table2 | table5 | table6 | table7 (experiments/<table>.yaml)')
    .option('--benchmark <ids>', "benchmark ids, comma-separated (benchmarks/<id>.yaml; default: the paper's)")
    .option('--restorer <profile>', 'restorer profile of experiments/restorers.yaml (default: refldm-paper)')
    .option('--device <device>', 'cpu | cuda', 'cpu')
    .option('--limit <n>', 'first n samples of each benchmark (a quick look; not part of the run identity)')
    .option('--config <file>', 'user config (default: $REFBENCH_CONFIG, else ./refbench.config.yaml)')
    .option('--results-dir <dir>', 'results root', 'results')
    .option('--dry-run', 'list the runs, their state and estimated cost; run nothing')
    .addHelpText(
      'after',
      `
Examples:
  $ refbench reproduce table5 --benchmark synthfaces-ref-severe --restorer refldm-tiny
  $ refbench reproduce table2 --benchmark synthfaces-ref-severe --restorer refldm-tiny --dry-run
  $ refbench reproduce table7 --dry-run
  $ refbench report --paper table5 --benchmark synthfaces-ref-severe --restorer refldm-tiny`,
    )
    .action(async (table: string, o: { benchmark?: string; restorer?: string; device: string; limit?: string; config?: string; resultsDir: string; dryRun?: boolean }) => {
      if (o.device !== 'cpu' && o.device !== 'cuda') throw new Error(`--device: expected cpu or cuda, got ${JSON.stringify(o.device)}`);
      const limit = o.limit === undefined ? undefined : Number(o.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0)) throw new Error(`--limit: expected a positive integer, got ${JSON.stringify(o.limit)}`);
      const config = UserConfig.load(o.config);
      const guard = installInterruptGuard((sig) => process.stderr.write(`\nrefbench: ${sig}: finishing the image in flight, then stopping\n`));
      try {
        const r = await reproduce(table, {
          config,
          resultsDir: o.resultsDir,
          benchmarks: o.benchmark?.split(',').map((s) => s.trim()).filter(Boolean),
          restorer: o.restorer,
          device: o.device,
          limit,
          dryRun: !!o.dryRun,
          signal: guard.signal,
          log: (l) => process.stderr.write(`${l}\n`),
        });
        if (r.aborted) {
          process.stderr.write('refbench: stopped; run the same command again to resume\n');
          process.exitCode = 130;
          return;
        }
        const b = o.benchmark ? ` --benchmark ${o.benchmark}` : '';
        const p = o.restorer ? ` --restorer ${o.restorer}` : '';
        process.stdout.write(
          o.dryRun
            ? `dry run: ${r.toDo.length} run(s) to do, ${r.skipped.length} done, ${r.blocked.length} blocked\n`
            : `${table}: ${r.ran.length} run(s) made, ${r.skipped.length} already done, ${r.blocked.length} blocked${r.fusion ? `; fusion bench ${r.fusion}` : ''}\n` +
                `compare with the paper: refbench report --paper ${table}${b}${p}${o.resultsDir !== 'results' ? ` --results-dir ${o.resultsDir}` : ''}\n`,
        );
      } finally {
        guard.dispose();
      }
    });
}
