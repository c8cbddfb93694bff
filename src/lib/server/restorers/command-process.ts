/**
 * @file The process side of the `command` restorer: running an external program so that it cannot outlive
 * refbench, and temp folders that a later run can recognise as abandoned.
 *
 * Child lifetime (NOTE: the choice, and why):
 * - Every program runs in its own process group (`detached`), so a timeout, an abort (Ctrl-C) or the end of a
 *   sample kills the program AND whatever it started (a shell's children, a Python worker pool), not only the
 *   direct child as `execFile`'s timeout does.
 * - A refbench killed with SIGKILL runs no code, so nothing in this process can clean up. On Linux the program is
 *   started through util-linux `setpriv --pdeathsig KILL`, which asks the kernel to SIGKILL it when its parent dies
 *   (prctl PR_SET_PDEATHSIG survives the exec). We chose setpriv over a watchdog process because it costs no extra
 *   process or polling, and the kernel does the killing. Limits: the death signal reaches the direct child only
 *   (a shell started with `sh -c` usually execs its last command, so that is the program; a program that forks its
 *   own workers must watch its parent itself), and without setpriv (macOS, minimal images) the child may survive a
 *   SIGKILL of refbench. Temp folders are covered on every platform by the reaper below.
 *
 * Temp folders are named `refbench-command-<pid>-<host>-XXXXXX` (mkdtemp). A refbench that starts the command
 * restorer removes such folders whose owner pid is dead on this host (`reapStaleWorkDirs`): a folder left by
 * a SIGKILL lives until the next run, not for good.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../proc/pid-alive.ts';

/** Prefix of the command restorer's temp folders in the temp directory. */
export const WORK_DIR_PREFIX = 'refbench-command-';

/** A short tag of this host, so a temp folder shared across hosts/containers is judged only by its own host. */
function hostTag(): string {
  return createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
}

/** Creates this process's work folder: `<tmp>/refbench-command-<pid>-<host>-XXXXXX`. */
export async function createWorkDir(dir = tmpdir()): Promise<string> {
  return mkdtemp(join(dir, `${WORK_DIR_PREFIX}${process.pid}-${hostTag()}-`));
}


/**
 * Removes work folders left in `dir` by command restorers whose process is gone (killed with SIGKILL, power
 * loss). Only folders named by this module, created on this host, owned by this user, whose owner pid no longer
 * exists, are removed; a live pid (even a reused one) keeps its folder.
 * @returns the folders removed.
 */
export async function reapStaleWorkDirs(dir = tmpdir()): Promise<string[]> {
  const re = new RegExp(`^${WORK_DIR_PREFIX}(\\d+)-${hostTag()}-[A-Za-z0-9]{6}$`);
  const removed: string[] = [];
  const uid = process.getuid?.();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = re.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    const path = join(dir, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    await rm(path, { recursive: true, force: true }).then(
      () => removed.push(path),
      () => undefined,
    );
  }
  return removed;
}

let setprivOk: boolean | undefined;

/** Whether `setpriv --pdeathsig` works here (Linux with util-linux); probed once. */
export function havePdeathsig(): boolean {
  if (setprivOk === undefined) {
    setprivOk = process.platform === 'linux' && spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0;
  }
  return setprivOk;
}

/** How a program run ended. `code` is the exit status, `'timeout'`, `'aborted'`, or a signal name. */
export interface ProgramResult {
  readonly code: number | 'timeout' | 'aborted' | NodeJS.Signals;
  /** The last 64 KiB of stderr. */
  readonly stderr: string;
  /** Set when the program could not be started at all (e.g. ENOENT). */
  readonly spawnError?: string;
}

/** Kills a child's whole process group (it leads its own, see the file header). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/**
 * Runs `program args` without a shell, tied to this process (see the file header): own process group, killed as
 * a group on timeout, abort or exit, and (where setpriv exists) killed by the kernel if refbench dies.
 */
export function runTiedProgram(
  program: string,
  args: readonly string[],
  o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number; signal?: AbortSignal },
): Promise<ProgramResult> {
  return new Promise((resolveRun) => {
    const [cmd, argv] = havePdeathsig() ? ['setpriv', ['--pdeathsig', 'KILL', '--', program, ...args]] : [program, [...args]];
    let child: ChildProcess;
    try {
      child = spawn(cmd, argv, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'ignore', 'pipe'], detached: process.platform !== 'win32' });
    } catch (err) {
      resolveRun({ code: 1, stderr: '', spawnError: (err as Error).message });
      return;
    }
    let stderr = '';
    let ended: ProgramResult['code'] | undefined;
    let spawnError: string | undefined;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-64 * 1024);
    });
    const timer = setTimeout(() => {
      ended ??= 'timeout';
      killGroup(child);
    }, o.timeoutMs);
    const onAbort = (): void => {
      ended ??= 'aborted';
      killGroup(child);
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.signal?.aborted) onAbort();
    child.on('error', (err) => {
      spawnError = err.message;
    });
    // Whatever the program left running in its group dies with the sample (else it would keep stderr open).
    child.on('exit', () => killGroup(child));
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      resolveRun({ code: ended ?? (spawnError ? 1 : (code ?? sig ?? 1)), stderr, ...(spawnError ? { spawnError } : {}) });
    });
  });
}
