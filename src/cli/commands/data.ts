/**
 * @file `refbench data inspect | degrade | synth`: dataset validation, the degradation pipeline on a folder, and
 * the embedded synthfaces-ref benchmark.
 */
import type { Command } from 'commander';
import { DATASETS } from '../../lib/server/datasets/index.ts';
import { DEFAULT_SYNTHFACES_ROOT } from '../../lib/server/datasets/synthfaces.ts';
import { ensureSynthfaces } from '../../lib/server/datasets/synthfaces/generate.ts';
import { generateSynthfacesTrain, SYNTHFACES_TRAIN_DEFAULTS } from '../../lib/server/datasets/synthfaces/train-split.ts';
import { degradeFolder } from '../../lib/server/degrade.ts';
import { DEGRADATION_PRESETS } from '../../lib/eval/degradation/presets.ts';

const out = (s: string): void => {
  process.stdout.write(`${s}\n`);
};

/** `--opt key=value` accumulator (numbers and booleans are parsed). */
function collectOpt(value: string, prev: Record<string, unknown>): Record<string, unknown> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new Error(`--opt expects key=value, got '${value}'`);
  const key = value.slice(0, eq);
  const raw = value.slice(eq + 1);
  const v: unknown = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
  return { ...prev, [key]: v };
}

/** Registers `data` and its subcommands. */
export function register(program: Command): void {
  const data = program.command('data').description('Datasets: validate a layout, degrade a folder, generate synthfaces-ref');

  data
    .command('inspect <adapter>')
    .description('Validate a dataset: CSV syntax, duplicate ids, every file present, decodable and of the right size')
    .option('--root <dir>', 'dataset root')
    .option('--hq-dir <dir>', 'HQ image folder (ffhq-ref: your FFHQ images1024x1024 or images512x512)')
    .option('--split <split>', 'split (ffhq-ref: test | val)')
    .option('--level <level>', 'degradation level (severe | moderate)')
    .option('--opt <key=value>', 'any other adapter option (repeatable)', collectOpt, {})
    .addHelpText(
      'after',
      `
Examples:
  refbench data inspect ffhq-ref --root data/FFHQ-Ref --hq-dir data/ffhq/images1024x1024 --level severe
  refbench data inspect celeba-test-ref --root data/celeba-test-ref --opt refDir=data/CelebA-HQ-img
  refbench data inspect folder --root my-faces
  refbench data inspect synthfaces-ref --level moderate   (after \`refbench data synth\`: inspecting never generates)
Exit status 1 when any problem is found; every problem names its file (and CSV line).`,
    )
    .action(async (adapter: string, o: { root?: string; hqDir?: string; split?: string; level?: string; opt: Record<string, unknown> }) => {
      const options: Record<string, unknown> = { ...o.opt };
      if (o.root) options.root = o.root;
      if (o.hqDir) options.hqDir = o.hqDir;
      if (o.split) options.split = o.split;
      if (o.level) options.level = o.level;
      const ds = await DATASETS.get(adapter)(options);
      out(`${ds.info.id}@${ds.info.version} (${ds.info.adapter}) at ${ds.info.root}`);
      const problems = await ds.inspect();
      let n = 0;
      try {
        n = (await ds.samples()).length;
      } catch {
        // Index problems are already in `problems`.
      }
      out(`${n} sample(s); ${problems.length} problem(s)`);
      for (const p of problems) {
        out(`  ${p.file}${p.line !== undefined ? `:${p.line}` : ''}${p.field ? ` [${p.field}]` : ''}: ${p.message}`);
      }
      if (problems.length) process.exitCode = 1;
    });

  data
    .command('degrade')
    .description('Degrade every image of a folder with the GFPGAN-style pipeline (blur, downsample, noise, JPEG, upsample)')
    .requiredOption('--preset <preset>', `degradation preset: ${Object.keys(DEGRADATION_PRESETS).join(' | ')}`)
    .requiredOption('--in <dir>', 'input HQ images (resized to 512 with PIL bicubic when needed)')
    .requiredOption('--out <dir>', 'output folder: <stem>.png per image plus params.jsonl')
    .option('--seed <seed>', 'seed; parameters are drawn per image from sha256(degrade|preset|seed|id)', '2024')
    .addHelpText(
      'after',
      `
Examples:
  refbench data degrade --preset severe --in data/hq --out data/lq-severe --seed 2024
NOTE: JPEG is encoded by sharp (libjpeg-turbo), not cv2: never use these files in place of the released
FFHQ-Ref test images.`,
    )
    .action(async (o: { preset: string; in: string; out: string; seed: string }) => {
      const t0 = Date.now();
      const n = await degradeFolder(o.in, o.out, o.preset, o.seed, (done, total) => {
        if (done === total || done % 25 === 0) out(`  ${done}/${total}`);
      });
      out(`degraded ${n} image(s) with preset ${o.preset} (seed ${o.seed}) into ${o.out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });

  data
    .command('synth')
    .description('Generate the synthfaces-ref benchmark (FFHQ-Ref layout; skipped when its manifest is current; only into an empty folder or one it made)')
    .option('--out <dir>', 'output folder', DEFAULT_SYNTHFACES_ROOT)
    .addHelpText('after', `\nExamples:\n  refbench data synth\n  refbench data synth --out /tmp/synthfaces-ref`)
    .action(async (o: { out: string }) => {
      const t0 = Date.now();
      const r = await ensureSynthfaces(o.out, (m) => out(`  ${m}`));
      out(`${r.generated ? 'generated' : 'up to date'}: ${r.root} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    });

  const int = (name: string) => (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected a positive integer, got ${JSON.stringify(v)}`);
    return n;
  };
  data
    .command('synth-train')
    .description('Generate a synthfaces-ref TRAIN split (identities disjoint from the benchmark\'s) for `refbench train`')
    .requiredOption('--out <dir>', 'output folder (absent, empty, or a previous train split)')
    .option('--identities <n>', 'identities', int('--identities'), SYNTHFACES_TRAIN_DEFAULTS.identities)
    .option('--per-identity <n>', 'images per identity (≥ 2)', int('--per-identity'), SYNTHFACES_TRAIN_DEFAULTS.perIdentity)
    .option('--lq-variants <n>', 'LQ folders (train-preset degradations, one seed each)', int('--lq-variants'), SYNTHFACES_TRAIN_DEFAULTS.lqVariants)
    .option('--seed <n>', 'degradation seed', int('--seed'), SYNTHFACES_TRAIN_DEFAULTS.seed)
    .addHelpText('after', `\nExamples:\n  refbench data synth-train --out .cache/synthfaces-ref-train\nThe benchmark itself (\`refbench data synth\`) is not changed.`)
    .action(async (o: { out: string; identities: number; perIdentity: number; lqVariants: number; seed: number }) => {
      const t0 = Date.now();
      const r = await generateSynthfacesTrain(o.out, o, (m) => out(`  ${m}`));
      out(`train split: ${r.images} images of ${r.identities} identities in ${r.root} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    });
}
