/**
 * The run's writer lock across processes: many lockers started in the same millisecond → exactly one wins, every
 * trial; stale locks (dead pid, a pid reused by a non-refbench process) are taken over; a lock of another host or
 * of a live refbench process is refused with a message that says how to clear it.
 */
import { spawn, spawnSync, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../../src/cli/main.ts';
import { processStartTime } from '../../../../src/lib/server/results/run-lock.ts';
import { RunStore } from '../../../../src/lib/server/results/store.ts';
import { writeFolderDataset } from '../../../helpers/folder-dataset.ts';

const REPO = resolve(import.meta.dirname, '../../../..');
const CHILD = join(REPO, 'test/unit/server/results/lock-child.ts');
const CHILDREN = 6;
const TRIALS = 20;

interface Child {
  proc: ChildProcessWithoutNullStreams;
  next: () => Promise<string>;
}

/** A lock-child process; `prefix` runs it under another program (e.g. `unshare -p -f --mount-proc`). */
function startChild(prefix: string[] = []): Child {
  const argv = [...prefix, process.execPath, '--import', 'tsx', CHILD];
  const proc = spawn(argv[0], argv.slice(1), { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  const rl: Interface = createInterface({ input: proc.stdout });
  const queue: string[] = [];
  const waiters: ((s: string) => void)[] = [];
  rl.on('line', (l) => (waiters.length ? waiters.shift()!(l) : queue.push(l)));
  return { proc, next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r))) };
}

describe('run lock: concurrent lockers in separate processes', () => {
  const children: Child[] = [];
  beforeAll(async () => {
    for (let i = 0; i < CHILDREN; i++) children.push(startChild());
    for (const c of children) expect(await c.next()).toBe('ready');
  }, 60_000);
  afterAll(() => {
    for (const c of children) c.proc.stdin.end('exit\n');
  });

  it(`exactly one of ${CHILDREN} processes starting in the same millisecond gets the lock, in each of ${TRIALS} trials`, async () => {
    const root = tmp();
    const winners: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      const dir = join(root, `run${t}`);
      mkdirSync(dir);
      const at = Date.now() + 150;
      for (const c of children) c.proc.stdin.write(`try ${dir} ${at}\n`);
      const answers = await Promise.all(children.map((c) => c.next()));
      winners.push(answers.filter((a) => a === 'won').length);
      for (const a of answers.filter((x) => x !== 'won')) expect(a).toMatch(/^lost .*(another refbench process \(pid \d+|taking the run.s lock right now)/);
      for (const c of children) c.proc.stdin.write('release\n');
      for (const c of children) expect(await c.next()).toBe('released');
    }
    expect(winners).toEqual(Array(TRIALS).fill(1));
  }, 120_000);
});

const roots: string[] = [];
const tmp = () => (roots.push(mkdtempSync(join(tmpdir(), 'refbench-lock-'))), roots[roots.length - 1]);
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
const lockJson = (o: Record<string, unknown>) => `${JSON.stringify({ host: hostname(), lockedAt: '2026-01-01T00:00:00.000Z', token: 'abc', ...o })}\n`;

/** A long-lived child process (killed in afterAll); `argv0Extra` lands in its /proc cmdline. */
const sleepers: ChildProcess[] = [];
async function sleeper(extraArg: string): Promise<number> {
  const p = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', extraArg], { stdio: 'ignore' });
  sleepers.push(p);
  await new Promise((r) => p.once('spawn', r));
  return p.pid!;
}
afterAll(() => {
  for (const p of sleepers) p.kill('SIGKILL');
});

describe('run lock: holders', () => {
  it('records host, pid, start time; unlock removes only its own lock', () => {
    const store = RunStore.create(tmp());
    expect(store.lock()).toBeNull();
    const rec = JSON.parse(readFileSync(store.lockPath, 'utf8'));
    expect(rec).toMatchObject({ pid: process.pid, host: hostname() });
    expect(rec.procStart).toBe(processStartTime(process.pid) ?? undefined);
    expect(() => new RunStore(store.dir).lock()).toThrow(/this process already holds the run's lock/);
    // Someone replaced the lock file: our unlock leaves theirs alone.
    writeFileSync(store.lockPath, lockJson({ pid: 1, token: 'theirs' }));
    store.unlock();
    expect(existsSync(store.lockPath)).toBe(true);
  });

  it('takes over a lock whose pid is dead, or whose pid now belongs to another process', async () => {
    const store = RunStore.create(tmp());
    writeFileSync(store.lockPath, lockJson({ pid: 999_999_999 }));
    expect(store.lock()).toMatch(/took over a stale lock \(left by pid 999999999, which is no longer running\)/);
    store.unlock();
    expect(existsSync(store.lockPath)).toBe(false);
    // Same pid, different kernel start time: the number was reused.
    writeFileSync(store.lockPath, lockJson({ pid: process.ppid, procStart: '1' }));
    expect(store.lock()).toMatch(/left by pid \d+, a number now used by another process/);
    store.unlock();
    // Legacy `<pid>` lock, pid alive but not refbench (checked through /proc/<pid>/cmdline).
    const other = await sleeper('some-other-program');
    writeFileSync(store.lockPath, `${other}\n`);
    expect(store.lock()).toMatch(new RegExp(`left by pid ${other}, which is now a non-refbench process`));
    store.unlock();
  });

  it('refuses a live refbench holder and a lock of another host, saying how to clear it', async () => {
    const store = RunStore.create(tmp());
    const pid = await sleeper('refbench-run-holder');
    writeFileSync(store.lockPath, lockJson({ pid, procStart: processStartTime(pid) ?? undefined, cmd: 'refbench run x.yaml' }));
    const held = (() => { try { store.lock(); return ''; } catch (e) { return (e as Error).message; } })();
    expect(held).toContain(`another refbench process (pid ${pid} on host ${hostname()}`);
    expect(held).toContain(`kill ${pid}`);
    expect(held).toContain(`delete ${store.lockPath}`);
    writeFileSync(store.lockPath, `${pid}\n`); // legacy form, refbench in its command line
    expect(() => store.lock()).toThrow(/another refbench process/);
    writeFileSync(store.lockPath, lockJson({ pid: 999_999_999, host: 'gpu-node-7' }));
    expect(() => store.lock()).toThrow(new RegExp(`locked by another machine \\(pid 999999999 on host gpu-node-7.*never takes such a lock over.*delete ${store.lockPath.replace(/[.]/g, '\\.')}`));
    writeFileSync(store.lockPath, '{"pid": "garbage');
    expect(() => store.lock()).toThrow(/taking the run's lock right now/); // fresh: being written
    const old = new Date(Date.now() - 60_000);
    utimesSync(store.lockPath, old, old);
    expect(() => store.lock()).toThrow(new RegExp(`lock file .*run\\.lock is unreadable.*delete it`));
  });
});

describe('run lock through `refbench run`', () => {
  async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((x) => ((out += String(x)), true));
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((x) => ((err += String(x)), true));
    try {
      return { code: await main(['node', 'refbench', ...args]), out, err };
    } finally {
      o.mockRestore();
      e.mockRestore();
      process.exitCode = undefined;
    }
  }

  it('refuses a run locked by another host, and resumes over a lock its dead writer left', async () => {
    const root = tmp();
    await writeFolderDataset(join(root, 'ds'), 2, 1);
    const spec = join(root, 'lq.yaml');
    writeFileSync(spec, `name: lk\ndataset:\n  adapter: folder\n  options: { root: ${JSON.stringify(join(root, 'ds'))} }\nrestorer:\n  id: lq\n`);
    const results = join(root, 'results');
    const first = await cli(['run', spec, '--results-dir', results, '-q']);
    expect(first.code, first.err).toBe(0);
    const runDir = join(results, 'runs', (await import('node:fs')).readdirSync(join(results, 'runs'))[0]);
    const lockPath = join(runDir, 'run.lock');
    writeFileSync(lockPath, lockJson({ pid: 4242, host: 'other-host' }));
    const refused = await cli(['run', spec, '--results-dir', results, '-q']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`locked by another machine (pid 4242 on host other-host`);
    expect(refused.err).toContain(`delete ${lockPath}`);
    writeFileSync(lockPath, lockJson({ pid: 999_999_999 }));
    const resumed = await cli(['run', spec, '--results-dir', results]);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toContain(`${lockPath}: took over a stale lock (left by pid 999999999, which is no longer running)`);
    expect(existsSync(lockPath)).toBe(false);
  });
});

/** This process's PID namespace (`pid:[4026531836]`), or null without /proc. */
function ownPidNs(): string | null {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

/** True when this machine lets us start a process in a new PID namespace (root, or user namespaces allowed). */
const UNSHARE_PID = ['unshare', '-p', '-f', '--mount-proc'];
const canUnshare = spawnSync(UNSHARE_PID[0], [...UNSHARE_PID.slice(1), 'true'], { stdio: 'ignore' }).status === 0;

describe('run lock: holders in other PID namespaces (containers on one host)', () => {
  it('records the PID namespace and refuses a lock whose holder lives in another one, even if its pid is not visible here', () => {
    const store = RunStore.create(tmp());
    expect(store.lock()).toBeNull();
    const rec = JSON.parse(readFileSync(store.lockPath, 'utf8'));
    if (ownPidNs()) expect(rec.pidNs).toBe(ownPidNs());
    store.unlock();
    // A holder in another namespace whose pid does not exist here: before, taken over as "no longer running".
    writeFileSync(store.lockPath, lockJson({ pid: 999_999_999, pidNs: 'pid:[4026599999]', container: 'docker/0123456789ab' }));
    let msg = '';
    try {
      store.lock();
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('another PID namespace');
    expect(msg).toContain('pid:[4026599999]');
    expect(msg).toContain('docker/0123456789ab');
    expect(msg).toContain(`delete ${store.lockPath}`);
    expect(readFileSync(store.lockPath, 'utf8')).toContain('4026599999'); // left in place
  });

  it.skipIf(!canUnshare)('a second locker started with `unshare -p -f --mount-proc` is refused while the first holds the lock (and vice versa)', async () => {
    const dir = tmp();
    const host = startChild();
    const boxed = startChild(UNSHARE_PID);
    try {
      expect(await host.next()).toBe('ready');
      expect(await boxed.next()).toBe('ready');
      host.proc.stdin.write(`try ${dir} 0\n`);
      expect(await host.next()).toBe('won');
      boxed.proc.stdin.write(`try ${dir} 0\n`);
      const lost = await boxed.next();
      expect(lost).toMatch(/^lost .*another PID namespace/);
      expect(lost).not.toMatch(/took over/);
      host.proc.stdin.write('release\n');
      expect(await host.next()).toBe('released');
      // The other way round: the namespaced process holds it, the host-namespace one is refused.
      boxed.proc.stdin.write(`try ${dir} 0\n`);
      expect(await boxed.next()).toBe('won');
      host.proc.stdin.write(`try ${dir} 0\n`);
      expect(await host.next()).toMatch(/^lost .*another PID namespace/);
    } finally {
      host.proc.stdin.end('exit\n');
      boxed.proc.stdin.end('exit\n');
    }
  }, 60_000);
});
