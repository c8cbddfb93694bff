/**
 * @file `refbench eval <runDir|runId> --metrics a,b`: computes metrics (per-sample or distribution, e.g. FID) over
 * a run's saved outputs vs GT, appending to eval.jsonl (resumable) and rewriting summary.json.
 */
import type { Command } from 'commander';
import { evalRun } from '../../lib/server/runner/evaluate.ts';
import { formatMetricSummary } from '../../lib/server/runner/summary.ts';
import { installInterruptGuard } from '../../lib/server/runner/signals.ts';

export function register(program: Command): void {
  program
    .command('eval')
    .description("Compute more metrics over a run's saved outputs (appends to eval.jsonl; resumable).")
    .argument('<run>', 'run directory or run id (or a unique prefix)')
    .requiredOption('--metrics <ids>', 'comma-separated metric ids')
    .option('--results-dir <dir>', 'results root', 'results')
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', '\nExamples:\n  $ refbench eval demo-0123456789 --metrics psnr,ssim\n  $ refbench eval results/runs/demo-0123456789 --metrics lpips-vgg')
    .action(async (run: string, o: { metrics: string; resultsDir: string; quiet?: boolean }) => {
      const ids = o.metrics.split(',').map((s) => s.trim()).filter(Boolean);
      if (!ids.length) throw new Error('--metrics: expected at least one metric id');
      const guard = installInterruptGuard();
      try {
        const r = await evalRun(run, ids, { resultsDir: o.resultsDir, signal: guard.signal, quiet: !!o.quiet });
        for (const id of ids) {
          const m = r.summary.metrics[id];
          if (m) process.stdout.write(`${formatMetricSummary(id, m)}\n`);
        }
        if (r.aborted) process.exitCode = 130;
      } finally {
        guard.dispose();
      }
    });
}
