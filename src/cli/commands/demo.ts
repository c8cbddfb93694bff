/**
 * @file `refbench demo`: the main job on the embedded benchmark (see server/demo/demo.ts).
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { DEMO_LIMIT, runDemo } from '../../lib/server/demo/demo.ts';
import { installInterruptGuard } from '../../lib/server/runner/signals.ts';

function positiveInt(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('run every restorer and metric on the embedded synthfaces-ref benchmark and print the tables')
    .option('--results-dir <dir>', 'results root', 'results')
    .option('--limit <n>', 'images per level (the same images for every restorer, so all runs compare)', String(DEMO_LIMIT))
    .option('--refldm-steps <n>', 'DDIM steps of the ReF-LDM-tiny runs', '10')
    .option('--levels <list>', 'degradation levels', 'severe,moderate')
    .option('--wide', 'print the full summary table (every column, 95% CIs) instead of the compact 80-column one')
    .addHelpText('after', '\nExamples:\n  $ refbench demo\n  $ refbench demo --levels severe --limit 2 --wide\nRun it again to resume an interrupted demo.\n')
    .action(async (o: { resultsDir: string; limit: string; refldmSteps: string; levels: string; wide?: boolean }) => {
      const guard = installInterruptGuard((sig) => process.stderr.write(`\nrefbench demo: ${sig}: stopping after the image in flight (run the demo again to resume)\n`));
      const resultsDir = resolve(o.resultsDir);
      const log = (m: string) => process.stdout.write(`${m}\n`);
      log('refbench demo: synthfaces-ref × {lq, classical, ReF-LDM-tiny 0/1/3/5 refs} × {PSNR, SSIM, LPIPS, fLPIPS, IDS, NIQE, FID, KID} + fusion timing');
      log('NOTE: ReF-LDM-tiny, LPIPS-VGG, ArcFace and Inception run as small random-init TEST networks here: their numbers');
      log('      prove the pipeline, not model quality (marked "untrained"/"test" everywhere). See docs/reproducing.md "Using real weights and data".');
      try {
        const r = await runDemo({
          resultsDir,
          limit: positiveInt(o.limit, '--limit'),
          refldmSteps: Number(o.refldmSteps),
          levels: o.levels.split(',').map((s) => s.trim()) as ('severe' | 'moderate')[],
          signal: guard.signal,
          log,
          layout: o.wide ? 'wide' : 'compact',
        });
        if (guard.signal.aborted) {
          process.exitCode = 130;
          return;
        }
        log('');
        log(`Results: ${resultsDir}/runs/ (${r.runs.length} runs: run.json, samples.jsonl, summary.json, outputs/*.png)`);
        if (r.fusionPath) log(`Fusion benchmark: ${r.fusionPath}`);
        log(`Report again:  npx refbench report ${resultsDir}/runs/demo-* ${o.wide ? '' : '--compact   (--wide: every column)'}`.trimEnd());
        log(`Dashboard:     npx refbench dashboard --results-dir ${o.resultsDir}   → http://127.0.0.1:5173/`);
      } finally {
        guard.dispose();
      }
    });
}
