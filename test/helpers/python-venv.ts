/**
 * @file Whether the repository's Python environment (python/.venv with torch + numpy, made by python/setup.sh)
 * can run the PyTorch worker. Without it the tests that need it are skipped, their titles naming what is missing
 * and the command that enables them (`bash python/setup.sh`): `npm test` on a fresh clone passes. With
 * REFBENCH_REQUIRE_TORCH=1 (the CI's main run sets it, after setup.sh) nothing is skipped: a missing or broken
 * environment fails those tests instead of hiding them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '../..');
export const VENV_PYTHON = join(REPO, 'python/.venv/bin/python');

function probe(): string | undefined {
  if (!existsSync(VENV_PYTHON)) return 'no python/.venv/bin/python';
  const r = spawnSync(VENV_PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `python/.venv/bin/python cannot import torch/numpy: ${(r.stderr ?? '').trim().split('\n').pop()}`;
}

/** Why the torch tests cannot run here, or undefined when they can. */
export const TORCH_MISSING = probe();
/** REFBENCH_REQUIRE_TORCH=1: the environment must be there (CI), so nothing is skipped. */
export const REQUIRE_TORCH = process.env.REFBENCH_REQUIRE_TORCH === '1';
/** Skip when the environment is missing, unless it is required. */
export const SKIP_TORCH = TORCH_MISSING !== undefined && !REQUIRE_TORCH;
/** A describe title suffix saying why a suite was skipped and how to enable it. */
export const TORCH_NOTE = SKIP_TORCH ? ` (skipped: ${TORCH_MISSING}; enable with \`bash python/setup.sh\`)` : '';
// Said once per test file that imports this (the default reporter does not list skipped tests by name).
if (SKIP_TORCH) console.warn(`PyTorch-engine tests in this file skipped: ${TORCH_MISSING}; enable them with \`bash python/setup.sh\``);

/** Pids of the PyTorch workers (`-m refbench_model.worker`) whose parent is `ppid` (Linux /proc). */
export function workerPids(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === ppid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('refbench_model.worker')) out.push(Number(d));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}
