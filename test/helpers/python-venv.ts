/**
 * @file Whether the repository's Python environment (python/.venv with torch + numpy, made by python/setup.sh)
 * can run the PyTorch worker. Tests of the `ref-ldm` torch engine are skipped, saying why, only outside CI: under
 * CI (which runs setup.sh before npm test) a missing environment fails them instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '../..');
export const VENV_PYTHON = join(REPO, 'python/.venv/bin/python');

function probe(): string | undefined {
  if (!existsSync(VENV_PYTHON)) return `no ${VENV_PYTHON} (run bash python/setup.sh)`;
  const r = spawnSync(VENV_PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${VENV_PYTHON} cannot import torch/numpy: ${r.stderr.trim().split('\n').pop()}`;
}

/** Why the torch tests cannot run here, or undefined when they can. */
export const TORCH_MISSING = probe();
/** Skip only outside CI. */
export const SKIP_TORCH = TORCH_MISSING !== undefined && !process.env.CI;
/** A describe title suffix saying why a suite was skipped. */
export const TORCH_NOTE = SKIP_TORCH ? ` (skipped: ${TORCH_MISSING})` : '';

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
