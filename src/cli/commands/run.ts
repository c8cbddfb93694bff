/**
 * @file `refbench run <spec>`: evaluate a restorer on a dataset as described by a run spec (YAML/JSON), resuming
 * the spec's run directory when it exists. Ctrl-C stops after the image in flight (exit 130); run again to resume.
 * A failed sample never stops the run, but the exit status says it (3 unless `--allow-failures`), so that CI
 * pipelines and SLURM `afterok` dependencies notice.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseKeyValues, type SpecOverrides } from '../../lib/eval/spec/run-spec.ts';
import { runSpec } from '../../lib/server/runner/evaluate.ts';
import { formatRunSummary } from '../../lib/server/runner/summary.ts';
import { installInterruptGuard } from '../../lib/server/runner/signals.ts';
import { parseShard } from '../../lib/server/runner/shard.ts';

function int(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag}: expected a positive integer, got ${JSON.stringify(v)}`);
    return n;
  };
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** Exit status of a run that finished with failed samples (1 stays "could not run"; 130 "interrupted"). */
export const EXIT_SAMPLES_FAILED = 3;

/** Shell-quotes one argument for the "to resume, run" hint. */
function q(a: string): string {
  return /^[A-Za-z0-9_./=:,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('Run (or resume) an evaluation described by a run spec file.')
    .argument('<spec>', 'run spec, YAML or JSON (see examples/specs/)')
    .option('--results-dir <dir>', 'results root', 'results')
    .option('--fresh', 'start a new timestamped run instead of resuming this spec\'s run')
    .option('--retry-failed', "re-run samples whose last status is 'error'")
    .option('--name <name>', 'override spec.name')
    .option('--limit <n>', 'override dataset.limit (first n samples)', int('--limit'))
    .option('--seed <n>', 'override spec.seed', (v) => Number(v))
    .option('--device <device>', 'override spec.device (cpu|cuda)')
    .option('--threads <n>', 'override spec.threads', int('--threads'))
    .option('--metrics <ids>', 'override the metric list (comma-separated ids)')
    .option('-r, --restorer-option <key=value>', 'set restorer.options.key (repeatable; JSON values)', collect, [])
    .option('-d, --dataset-option <key=value>', 'set dataset.options.key (repeatable; JSON values)', collect, [])
    .option('--no-save-images', 'do not keep output PNGs (then `refbench eval` cannot run later)')
    .option('--shard <i/n>', 'evaluate only shard i of n (0-based; samples i, i+n, i+2n, …); `refbench merge` joins the n shard runs', (v) => parseShard(v))
    .option('--allow-failures', `exit 0 even when samples failed (default: exit ${EXIT_SAMPLES_FAILED}; the run goes on past them either way)`)
    .option('--progress <mode>', 'auto | bar | lines', 'auto')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Examples:
  $ refbench run examples/specs/synthfaces-lq.yaml
  $ refbench run examples/specs/synthfaces-classical.yaml --limit 10 -r sharpenAmount=1.0
  $ refbench run spec.yaml --fresh --metrics psnr,ssim
  $ refbench run spec.yaml --shard 0/3        (then 1/3 and 2/3, anywhere; then: refbench merge <the 3 runs>)
Run the same command again to resume an interrupted run; add --retry-failed to redo failed samples.
Exit status: 0 when every sample is scored; ${EXIT_SAMPLES_FAILED} when any sample failed (in this call or an earlier one of
the run; their errors are in the run's samples.jsonl) unless --allow-failures; 1 when the run could not run
(bad spec, missing model, locked run); 130 when interrupted.`,
    )
    .action(async (specPath: string, o: Record<string, any>) => {
      const overrides: SpecOverrides = {
        ...(o.name ? { name: o.name } : {}),
        ...(o.limit ? { limit: o.limit } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        ...(o.device ? { device: o.device } : {}),
        ...(o.threads ? { threads: o.threads } : {}),
        ...(o.metrics !== undefined ? { metrics: String(o.metrics).split(',').map((s) => s.trim()).filter(Boolean) } : {}),
        ...(o.restorerOption.length ? { restorerOptions: parseKeyValues(o.restorerOption, '--restorer-option') } : {}),
        ...(o.datasetOption.length ? { datasetOptions: parseKeyValues(o.datasetOption, '--dataset-option') } : {}),
        ...(o.saveImages === false ? { saveImages: false } : {}),
      };
      const guard = installInterruptGuard((sig) =>
        process.stderr.write(`\nrefbench: ${sig}: finishing the image in flight, then stopping (press Ctrl-C again to exit now)\n`),
      );
      try {
        const r = await runSpec(specPath, {
          resultsDir: o.resultsDir,
          fresh: !!o.fresh,
          retryFailed: !!o.retryFailed,
          signal: guard.signal,
          quiet: !!o.quiet,
          progress: o.progress,
          overrides,
          ...(o.shard ? { shard: o.shard } : {}),
        });
        const s = r.summary;
        if (r.aborted) {
          const args = process.argv.slice(2).filter((a) => a !== '--fresh');
          process.stderr.write(
            `refbench: stopped; ${s.samples.ok + s.samples.error}/${s.samples.total} samples are saved in ${r.runDir}\n` +
              `To resume, run: refbench ${args.map(q).join(' ')}${o.fresh ? ` (without --fresh; run id ${r.runId})` : ''}\n`,
          );
          process.exitCode = 130;
          return;
        }
        process.stdout.write(formatRunSummary(r.runId, r.runDir, s));
        if (s.samples.error > 0 && !o.allowFailures) {
          process.stderr.write(
            `refbench: ${s.samples.error} of ${s.samples.total} samples failed (their errors are in ${join(r.runDir, 'samples.jsonl')}); ` +
              `exit status ${EXIT_SAMPLES_FAILED}. Pass --allow-failures to exit 0 anyway, or fix the inputs and rerun with --retry-failed.\n`,
          );
          process.exitCode = EXIT_SAMPLES_FAILED;
        }
      } finally {
        guard.dispose();
      }
    });
}
