/**
 * @file Test-only: runs the real `refbench` CLI (`main`) in-process and captures stdout, stderr and the exit code.
 */
import { vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

/** Output of one CLI invocation. */
export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** `refbench <args...>` in this process; stdout/stderr are captured, not printed. */
export async function cli(args: readonly string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main(['node', 'refbench', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}
