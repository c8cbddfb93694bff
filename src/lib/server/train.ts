/**
 * @file `refbench train`: runs the Python trainer (python/refbench_train) with the interpreter the torch engine
 * uses (src/lib/server/restorers/ref-ldm/torch-engine.ts): `<repo>/python/.venv/bin/python` unless one is given,
 * with `PYTHONPATH=<repo>/python`. The trainer's stdout/stderr are forwarded line by line; its exit status is the
 * command's.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';
import { PYTHON_DIR, REPO_ROOT, VENV_PYTHON } from './paths.ts';

export const TRAIN_STAGES = ['vqgan', 'ldm', 'refldm', 'arcface'] as const;

/** Options forwarded to `python -m refbench_train` (undefined = not passed). */
export interface TrainArgs {
  readonly stage: string;
  readonly config: string;
  readonly design?: string;
  readonly initFrom?: string;
  readonly out?: string;
  readonly device?: string;
  readonly steps?: string;
  readonly maxSteps?: string;
}

/** The interpreter: a user-given path (relative to the working directory) or command name, else the repo's venv. */
export function trainInterpreter(python?: string): string {
  if (python) return python.includes('/') ? resolve(python) : python;
  return VENV_PYTHON;
}

/** argv after the interpreter. Paths are made absolute (the trainer runs with the repo as working directory). */
export function trainArgv(a: TrainArgs): string[] {
  if (!(TRAIN_STAGES as readonly string[]).includes(a.stage)) {
    throw new Error(`unknown training stage '${a.stage}'; expected one of: ${TRAIN_STAGES.join(', ')}`);
  }
  const argv = ['-m', 'refbench_train', a.stage, '--config', resolve(a.config)];
  if (a.design !== undefined) argv.push('--design', a.design);
  if (a.initFrom !== undefined) argv.push('--init-from', resolve(a.initFrom));
  if (a.out !== undefined) argv.push('--out', resolve(a.out));
  if (a.device !== undefined) argv.push('--device', a.device);
  if (a.steps !== undefined) argv.push('--steps', a.steps);
  if (a.maxSteps !== undefined) argv.push('--max-steps', a.maxSteps);
  return argv;
}

/** Runs the trainer; resolves to its exit status (signals map to 128 + number, as a shell does). */
export async function runTrain(
  a: TrainArgs,
  io: { python?: string; stdout: (s: string) => void; stderr: (s: string) => void },
): Promise<number> {
  const py = trainInterpreter(io.python);
  if (py.includes('/') && !existsSync(py)) {
    throw new Error(`${py}: Python interpreter not found; create the venv with \`bash python/setup.sh\` or pass --python <interpreter>`);
  }
  const argv = trainArgv(a);
  const env = { ...process.env, PYTHONPATH: [PYTHON_DIR, process.env.PYTHONPATH].filter(Boolean).join(delimiter), PYTHONUNBUFFERED: '1' };
  return await new Promise<number>((resolvePromise, reject) => {
    const child = spawn(py, argv, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', io.stdout);
    child.stderr.setEncoding('utf8').on('data', io.stderr);
    child.on('error', (err) => reject(new Error(`${py}: cannot start the trainer (${err.message})`)));
    child.on('close', (code, signal) => {
      const n = signal ? { SIGINT: 2, SIGTERM: 15, SIGKILL: 9 }[signal as string] : undefined;
      resolvePromise(code ?? 128 + (n ?? 1));
    });
  });
}
