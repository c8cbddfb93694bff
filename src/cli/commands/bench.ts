/**
 * @file `refbench bench fusion`: times the four reference-fusion designs × reference counts on a random-init
 * ReF-LDM bundle and prints the paper's Table 2 / Table 6 beside ours (src/lib/server/timing/fusion.ts).
 */
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { DESIGNS, type DesignId } from '../../lib/server/restorers/ref-ldm/designs.ts';

function intList(flag: string, v: string): number[] {
  const out = v.split(',').map((s) => Number(s.trim()));
  if (out.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`${flag}: expected comma-separated non-negative integers, got '${v}'`);
  return out;
}

function designList(v: string): DesignId[] {
  const out = v.split(',').map((s) => s.trim());
  const bad = out.filter((d) => !DESIGNS.includes(d as DesignId));
  if (bad.length) throw new Error(`--designs: unknown design(s) ${bad.join(', ')} (known: ${DESIGNS.join(', ')})`);
  return out as DesignId[];
}

/** Registers `bench` and its `fusion` subcommand. */
export function register(program: Command): void {
  const bench = program.command('bench').description('Speed/memory benchmarks (untrained random-init weights; timing only)');
  bench
    .command('fusion')
    .description("Time CacheKV vs spatial/cross/channel fusion × reference counts (paper Tables 2 and 6)")
    .addOption(new Option('--config <name>', 'model config').choices(['tiny', 'paper']).default('tiny'))
    .option('--bundle <dir>', 'random-init bundle directory (default: test/fixtures/refldm-tiny for tiny, .cache/refldm-paper for paper)')
    .option('--designs <list>', 'designs, comma-separated', 'cachekv,spatial,cross,channel')
    .option('--refs <list>', 'reference counts, comma-separated', '1,3,5,8')
    .option('--steps <n>', 'DDIM steps (uniform schedule)', '10')
    .option('--repeat <n>', 'timed images per configuration (each design process warms up once first)', '1')
    .option('--cfg <s>', 'guidance scale (1 = no unconditional pass)', '1.5')
    .addOption(new Option('--device <d>', 'execution provider').choices(['cpu', 'cuda']).default('cpu'))
    .option('--threads <n>', 'intra-op threads (0 = onnxruntime default)', '0')
    .option('--results-dir <dir>', 'results root (the benchmark goes to <dir>/bench/<id>/fusion.json)', 'results')
    .addHelpText(
      'after',
      `
Examples:
  refbench bench fusion --config tiny --bundle test/fixtures/refldm-tiny --steps 4 --refs 1,3
  refbench bench fusion --config paper --bundle .cache/refldm-paper --designs cachekv,spatial --refs 1,3,5,8 --steps 10 --device cuda`,
    )
    .action(async (o: Record<string, string>) => {
      const { runFusionBench, formatFusionTables } = await import('../../lib/server/timing/fusion.ts');
      const config = o.config as 'tiny' | 'paper';
      const bundle = resolve(o.bundle ?? (config === 'tiny' ? 'test/fixtures/refldm-tiny' : '.cache/refldm-paper'));
      const steps = Number(o.steps);
      const repeat = Number(o.repeat);
      const threads = Number(o.threads);
      const cfg = Number(o.cfg);
      if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps: expected a positive integer, got '${o.steps}'`);
      if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat: expected a positive integer, got '${o.repeat}'`);
      if (!Number.isInteger(threads) || threads < 0) throw new Error(`--threads: expected a non-negative integer, got '${o.threads}'`);
      if (!Number.isFinite(cfg) || cfg < 0) throw new Error(`--cfg: expected a number ≥ 0, got '${o.cfg}'`);
      const report = await runFusionBench({
        config,
        bundle,
        designs: designList(o.designs),
        refs: intList('--refs', o.refs),
        steps,
        repeat,
        device: o.device as 'cpu' | 'cuda',
        threads: threads || undefined,
        cfg,
        resultsDir: resolve(o.resultsDir),
        log: (l) => process.stderr.write(`${l}\n`),
      });
      process.stdout.write(`${formatFusionTables(report)}\nwritten: ${report.path}\n`);
    });
}
