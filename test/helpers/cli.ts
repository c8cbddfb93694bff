/**
 * @file Test helpers: run the real `refbench` CLI (`main`) in-process with stdout/stderr captured, and read a run's
 * files back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

/** Runs `refbench <args>`; returns the exit code and everything printed. */
export async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  process.exitCode = undefined;
  try {
    const code = await main(['node', 'refbench', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

/** The only run directory under `<resultsDir>/runs` whose id starts with `name-`. */
export function runDirOf(resultsDir: string, name: string): string {
  const dirs = readdirSync(join(resultsDir, 'runs')).filter((d) => d.startsWith(`${name}-`));
  if (dirs.length !== 1) throw new Error(`expected one run '${name}' in ${resultsDir}, found ${dirs.length}`);
  return join(resultsDir, 'runs', dirs[0]);
}

/** The latest samples.jsonl line of every sample, by id. */
export function sampleLines(runDir: string): Map<string, { status: string; error?: string; output?: string; metrics: Record<string, number> }> {
  const m = new Map();
  for (const l of readFileSync(join(runDir, 'samples.jsonl'), 'utf8').split('\n').filter(Boolean)) {
    const j = JSON.parse(l);
    m.set(j.sampleId, j);
  }
  return m;
}
