/**
 * @file `refbench merge <shard runs...>`: joins the shard runs of `refbench run <spec> --shard i/n` into the one run
 * the spec makes unsharded (runner/merge.ts). The shard runs are only read.
 */
import type { Command } from 'commander';
import { mergeShards } from '../../lib/server/runner/merge.ts';
import { formatRunSummary } from '../../lib/server/runner/summary.ts';

export function register(program: Command): void {
  program
    .command('merge')
    .description('Join the shard runs of `refbench run --shard i/n` into one run (the inputs are not modified).')
    .argument('<shards...>', 'the n shard run directories (or run ids under --results-dir)')
    .option('--results-dir <dir>', 'results root of the merged run', 'results')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Examples:
  $ refbench merge results/runs/demo-0123456789-shard0of2 results/runs/demo-0123456789-shard1of2
  $ refbench merge --results-dir merged shards/*/runs/*
FID/KID come from the shards' saved feature moments/features, per-image values from their samples. docs/slurm.md
has the SLURM job-array and Kubernetes Indexed Job recipes.`,
    )
    .action(async (refs: string[], o: { resultsDir: string; quiet?: boolean }) => {
      const r = await mergeShards(refs, { resultsDir: o.resultsDir, quiet: !!o.quiet });
      process.stdout.write(formatRunSummary(r.runId, r.runDir, r.summary));
    });
}
