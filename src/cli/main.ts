/**
 * @file The `refbench` CLI. Each subcommand lives in `commands/<name>.ts` and registers itself through
 * `commands/index.ts` (one line per command), so adding a command never edits a dispatch ladder.
 */
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.ts';
import { codeVersion } from '../lib/server/runner/provenance.ts';
import { printable } from '../lib/format.ts';

/** Builds the commander program with every registered subcommand. */
export function buildProgram(): Command {
  const program = new Command('refbench')
    .description('Evaluation and benchmarking suite for reference-based face restoration (ReF-LDM and baselines).')
    .showHelpAfterError('(run with --help for usage and examples)')
    .exitOverride();
  // NOTE: the git sha is looked up only when --version is asked for (two git calls would slow every command).
  program.option('-V, --version', 'print the refbench version (package and git commit) and exit').on('option:version', () => {
    const v = codeVersion();
    const git = v.gitSha ? ` (git ${v.gitSha.slice(0, 12)}${v.dirty ? ', uncommitted changes' : ''})` : '';
    process.stdout.write(`refbench ${v.packageVersion}${git}\n`);
    throw new CommanderError(0, 'refbench.version', 'version printed');
  });
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs the CLI; returns the process exit code. Errors are printed as one clear line, not a stack trace. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const msg = err instanceof Error ? err.message : String(err);
    // NOTE: printable(): an error can quote a corrupt file (or a file name); no raw control bytes reach the terminal.
    process.stderr.write(`refbench: error: ${printable(msg)}\n`);
    if (process.env.REFBENCH_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
