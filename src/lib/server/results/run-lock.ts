/**
 * @file The writer lock of one run directory (`run.lock`), used through `RunStore.lock()` / `unlock()`.
 *
 * - Taking the lock is one atomic step: the file is created with O_EXCL (`'wx'`), so of any number of processes
 *   starting in the same millisecond exactly one succeeds; no check-then-write window.
 * - The file records who holds it: host, pid, the process's kernel start time, boot id and PID namespace (Linux),
 *   its container identity where there is one (cgroup path), the time the lock was taken, the command line, and a
 *   random token (so `unlock` removes only its own lock).
 * - A lock is stale, and taken over with a note, only when this host can prove its holder is gone: the pid is not
 *   running, the machine was rebooted since (boot id), or the pid now belongs to another process (its start time
 *   differs, or, for a lock without a start time, its command line is not refbench's). A lock from another host, or
 *   from another PID namespace of this host (another container: its pids mean nothing here, so "pid N is not
 *   running" proves nothing), is never taken over silently; a live holder is refused. Each message says how to clear
 *   the lock by hand.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, linkSync, openSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pidAlive } from '../proc/pid-alive.ts';

/** What `run.lock` holds (JSON). Older refbench wrote only `<pid>\n`; that form is still understood. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** ISO time the lock was taken. */
  readonly lockedAt: string;
  /** `/proc/<pid>/stat` field 22 (start time in clock ticks since boot), Linux only. */
  readonly procStart?: string;
  /** `/proc/sys/kernel/random/boot_id`, Linux only. */
  readonly bootId?: string;
  /** `readlink /proc/self/ns/pid` (e.g. `pid:[4026531836]`), Linux only: pids are only meaningful inside it. */
  readonly pidNs?: string;
  /** The holder's cgroup path (`/proc/self/cgroup`) when it is not the root one: names a container, for the message. */
  readonly container?: string;
  /** The holder's command line (for the message). */
  readonly cmd?: string;
  /** Random token identifying this lock instance. */
  readonly token: string;
}

/** A lock younger than this whose content cannot be read is taken to be in the middle of being written. */
const UNREADABLE_GRACE_MS = 10_000;

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The kernel start time of `pid` (Linux), or null where /proc is not available. */
export function processStartTime(pid: number): string | null {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return null;
  // Fields after the parenthesised command name (which may itself contain spaces or ')'); starttime is field 22.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[22 - 3] ?? null;
}

function bootId(): string | null {
  return readProc('/proc/sys/kernel/random/boot_id')?.trim() ?? null;
}

/** This process's PID namespace, or null without /proc. */
export function pidNamespace(): string | null {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

/**
 * This process's cgroup path when it is not the root one (cgroup v2 `0::<path>` first, else the first non-root v1
 * path), e.g. `/docker/<id>` or `/kubepods/...`: a container's identity where the runtime exposes one. Null otherwise.
 */
function containerId(): string | null {
  const text = readProc('/proc/self/cgroup');
  if (!text) return null;
  const paths = text
    .split('\n')
    .map((l) => /^(\d+):[^:]*:(.*)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1] !== '0') - Number(b[1] !== '0')) // v2 line first
    .map((m) => m[2])
    .filter((p) => p !== '/' && p !== '');
  return paths[0]?.slice(0, 200) ?? null;
}


/** The owner record of the current process. */
function selfOwner(): LockOwner {
  const procStart = processStartTime(process.pid);
  const boot = bootId();
  const pidNs = pidNamespace();
  const container = containerId();
  return {
    pid: process.pid,
    host: hostname(),
    lockedAt: new Date().toISOString(),
    ...(procStart ? { procStart } : {}),
    ...(boot ? { bootId: boot } : {}),
    ...(pidNs ? { pidNs } : {}),
    ...(container ? { container } : {}),
    cmd: process.argv.join(' ').slice(0, 300),
    token: randomBytes(8).toString('hex'),
  };
}

/** Parses a lock file's content; null when it is neither the JSON form nor the legacy `<pid>` form. */
export function parseLockOwner(text: string): LockOwner | null {
  const t = text.trim();
  if (/^\d+$/.test(t)) return { pid: Number(t), host: hostname(), lockedAt: '', token: '' }; // legacy: this host
  try {
    const o = JSON.parse(t) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && Number.isInteger(o.pid) && o.pid > 0 && typeof o.host === 'string' && typeof o.token === 'string') return o as LockOwner;
  } catch {
    /* fall through */
  }
  return null;
}

type Verdict = { stale: false; message: string } | { stale: true; reason: string };

function ownerText(o: LockOwner): string {
  const where = [o.pidNs ? `PID namespace ${o.pidNs}` : '', o.container ? `cgroup ${o.container}` : ''].filter(Boolean).join(', ');
  return `pid ${o.pid} on host ${o.host}${where ? ` (${where})` : ''}${o.lockedAt ? `, since ${o.lockedAt}` : ''}${o.cmd ? `: ${o.cmd}` : ''}`;
}

/** Decides whether the lock of `o` still has a live holder. */
function judge(o: LockOwner, dir: string, lockPath: string): Verdict {
  const clear = `If you are sure no refbench process is writing this run, delete ${lockPath} and start again.`;
  if (o.host !== hostname()) {
    return {
      stale: false,
      message: `${dir}: locked by another machine (${ownerText(o)}). refbench cannot check a process on another host, so it never takes such a lock over. ${clear}`,
    };
  }
  // A reboot ends every holder on this host, whatever its namespace (the boot id is the kernel's, shared by containers).
  if (o.bootId && bootId() && o.bootId !== bootId()) return { stale: true, reason: `left by pid ${o.pid} before this machine restarted` };
  // NOTE: a lock without `pidNs` (older refbench) is judged as from this namespace, as before.
  const ns = pidNamespace();
  if (o.pidNs && o.pidNs !== ns) {
    return {
      stale: false,
      message:
        `${dir}: locked by a process in another PID namespace (${ownerText(o)}; this process is in ${ns ?? 'an unknown PID namespace'}), ` +
        `e.g. another container on this host. refbench cannot see processes there, so it never takes such a lock over. ${clear}`,
    };
  }
  const held = (): Verdict => ({
    stale: false,
    message:
      o.pid === process.pid
        ? `${dir}: this process already holds the run's lock (another operation on this run is in progress). ${clear}`
        : `${dir}: another refbench process (${ownerText(o)}) is writing this run; wait for it to finish or stop it (kill ${o.pid}). ${clear}`,
  });
  if (!pidAlive(o.pid)) return { stale: true, reason: `left by pid ${o.pid}, which is no longer running` };
  const start = processStartTime(o.pid);
  if (o.procStart && start) return start === o.procStart ? held() : { stale: true, reason: `left by pid ${o.pid}, a number now used by another process` };
  // No start time recorded (legacy lock) or no /proc: the command line tells a refbench process from another.
  const cmdline = readProc(`/proc/${o.pid}/cmdline`);
  if (cmdline !== null && !/refbench/i.test(cmdline.replace(/\0/g, ' '))) {
    return { stale: true, reason: `left by pid ${o.pid}, which is now a non-refbench process (${cmdline.replace(/\0/g, ' ').trim().slice(0, 80)})` };
  }
  return held();
}

/**
 * Removes the lock file only if it is still the inode that was judged stale: it is renamed aside first (atomic),
 * and put back if another process replaced it meanwhile.
 * NOTE: if a third process creates a new lock between our rename and the put-back, the replaced lock cannot be
 * restored; that needs three processes racing over a stale lock within microseconds.
 */
function removeIfSame(lockPath: string, ino: number): void {
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(lockPath, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else removed it
    throw err;
  }
  if (statSync(aside).ino !== ino) {
    try {
      linkSync(aside, lockPath);
    } catch {
      /* see NOTE */
    }
  }
  unlinkSync(aside);
}

/** Reads the lock file and its inode; null when it vanished. */
function readLock(lockPath: string): { text: string; ino: number; mtimeMs: number } | null {
  let fd: number;
  try {
    fd = openSync(lockPath, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    return { text: readFileSync(fd, 'utf8'), ino: st.ino, mtimeMs: st.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/** A held lock; `release()` removes the file if it is still ours. */
export interface HeldLock {
  readonly owner: LockOwner;
  /** Why a previous lock was taken over (stale), or null. */
  readonly tookOver: string | null;
  release(): void;
}

/**
 * Takes the writer lock `lockPath` of run directory `dir`.
 * @throws when a live process (or another host, or an unreadable lock file) holds it; the message says how to clear it.
 */
export function acquireRunLock(lockPath: string, dir: string): HeldLock {
  const me = selfOwner();
  const text = `${JSON.stringify(me)}\n`;
  let tookOver: string | null = null;
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      writeFileSync(lockPath, text, { flag: 'wx' }); // O_CREAT|O_EXCL: the atomic step
      return {
        owner: me,
        tookOver,
        release: () => {
          const cur = readLock(lockPath);
          if (cur && parseLockOwner(cur.text)?.token === me.token) removeIfSame(lockPath, cur.ino);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const cur = readLock(lockPath);
    if (!cur) continue; // released meanwhile: try again
    const owner = parseLockOwner(cur.text);
    if (!owner) {
      if (Date.now() - cur.mtimeMs < UNREADABLE_GRACE_MS) {
        throw new Error(`${dir}: another refbench process is taking the run's lock right now (${lockPath} is being written); try again in a moment.`);
      }
      throw new Error(`${dir}: the lock file ${lockPath} is unreadable, so its holder is unknown. If you are sure no refbench process is writing this run, delete it and start again.`);
    }
    const v = judge(owner, dir, lockPath);
    if (!v.stale) throw new Error(v.message);
    removeIfSame(lockPath, cur.ino);
    tookOver = `${lockPath}: took over a stale lock (${v.reason})`;
  }
  throw new Error(`${dir}: could not take the run's lock ${lockPath}: other processes keep taking it; try again.`);
}
