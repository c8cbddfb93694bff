/**
 * @file `refbench train <stage>`: the open ReF-LDM trainer (python/refbench_train; docs/training.md).
 */
import type { Command } from 'commander';
import { runTrain, TRAIN_STAGES } from '../../lib/server/train.ts';

export function register(program: Command): void {
  program
    .command('train <stage>')
    .description(`train a stage with python/refbench_train (${TRAIN_STAGES.join(' | ')}); the same command resumes after an interruption`)
    .requiredOption('--config <file>', 'training config (.json or .yaml)')
    .option('--design <design>', 'refldm: fusion design (cachekv | spatial | cross | channel)')
    .option('--init-from <ckpt>', 'ldm/refldm: start the U-Net from this checkpoint (official layout: an LDM, or another design)')
    .option('--out <dir>', 'run folder (overrides the config)')
    .option('--device <device>', 'cpu | cuda (overrides the config)')
    .option('--steps <n>', 'total steps (overrides train.steps)')
    .option('--max-steps <n>', 'stop after this many steps of this invocation (checkpointed; run again to continue)')
    .option('--python <interpreter>', 'Python interpreter (default: python/.venv/bin/python, as the torch engine)')
    .addHelpText(
      'after',
      `
Examples:
  refbench train arcface --config python/refbench_train/configs/mini-arcface.yaml
  refbench train refldm --config python/refbench_train/configs/mini-refldm.yaml --design cachekv
  refbench train refldm --config python/refbench_train/configs/mini-refldm.yaml --design spatial --init-from <cachekv run>/refldm.ckpt --out <run dir>
Exit status 2: a config or data error (the message names the file and field).`,
    )
    .action(async (stage: string, o: { config: string; design?: string; initFrom?: string; out?: string; device?: string; steps?: string; maxSteps?: string; python?: string }) => {
      const code = await runTrain(
        { stage, config: o.config, design: o.design, initFrom: o.initFrom, out: o.out, device: o.device, steps: o.steps, maxSteps: o.maxSteps },
        { python: o.python, stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) },
      );
      process.exitCode = code;
    });
}
