/**
 * Hardening through the real CLI (`node bin/refbench.js`, one child process per call), where a user meets it:
 * - a sample id that would name a folder (`...png` → '..') is a clear dataset error, and $TMPDIR is untouched;
 * - file names with `;`, `$()` or backticks under an `sh -c` command template do not execute, and the template
 *   is warned about;
 * - `kill -9` of a run mid-sample takes the command's program with it, and the next run reaps the temp folder;
 * - `data synth` refuses a non-empty folder that is not its own;
 * - `dashboard --port <busy>` says so at once and exits non-zero.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';

const REPO = resolve(import.meta.dirname, '../..');
let root: string;

interface Cli {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string; ms: number }>;
}

function cli(args: string[], o: { env?: Record<string, string>; cwd?: string } = {}): Cli {
  const t0 = Date.now();
  const child = spawn(process.execPath, [join(REPO, 'bin/refbench.js'), ...args], { cwd: o.cwd ?? REPO, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string; ms: number }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal, out, err, ms: Date.now() - t0 })),
  );
  return { child, done };
}

/** Whether a pid names a live process (a zombie awaiting its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/^\d+ \(.*\) Z/.test(stat);
}

/** $TMPDIR's entries, less tsx's own compile cache (`tsx-<uid>`), which the CLI's loader puts there. */
function ours(tmp: string): string[] {
  return readdirSync(tmp)
    .filter((n) => !n.startsWith('tsx-'))
    .sort();
}

function writeSpec(name: string, spec: object): string {
  const p = join(root, `${name}.json`);
  writeFileSync(p, JSON.stringify(spec));
  return p;
}

/** A fresh $TMPDIR holding a canary file and someone else's folder. */
function fakeTmp(name: string): string {
  const t = join(root, name);
  mkdirSync(join(t, 'someone-elses'), { recursive: true });
  writeFileSync(join(t, 'canary.txt'), 'alive');
  return t;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'refbench-cli-hard-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('sample ids and the command restorer, through `refbench run`', () => {
  it("an LQ file named '...png' is a clear dataset error naming the file; $TMPDIR is untouched", async () => {
    const ds = join(root, 'dots');
    await writeFolderDataset(ds, 2, 0);
    renameSync(join(ds, 'lq', 's01.png'), join(ds, 'lq', '...png'));
    renameSync(join(ds, 'gt', 's01.png'), join(ds, 'gt', '...png'));
    const tmp = fakeTmp('tmp-dots');
    const spec = writeSpec('dots', {
      name: 'dots',
      dataset: { adapter: 'folder', options: { root: ds } },
      restorer: { id: 'command', options: { program: process.execPath, args: ['-e', "require('fs').copyFileSync(process.argv[1], process.argv[2])", '{in}', '{out}'] } },
    });
    const r = await cli(['run', spec, '--results-dir', join(root, 'results-dots'), '-q'], { env: { TMPDIR: tmp } }).done;
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(ds, 'lq', '...png')}: sample id '..' would name a folder`);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    expect(ours(tmp)).toEqual(['canary.txt', 'someone-elses']);
    expect(readFileSync(join(tmp, 'canary.txt'), 'utf8')).toBe('alive');
  });

  it('file names with ; $() or backticks under an `sh -c` template do not execute; the template is warned about', async () => {
    const ds = join(root, 'inject');
    await writeFolderDataset(ds, 3, 0);
    const names = ['x;touch PWNED1', '$(touch PWNED2)', '`touch PWNED3`'];
    names.forEach((n, i) => {
      renameSync(join(ds, 'lq', `s0${i}.png`), join(ds, 'lq', `${n}.png`));
      renameSync(join(ds, 'gt', `s0${i}.png`), join(ds, 'gt', `${n}.png`));
    });
    const work = join(root, 'inject-cwd');
    mkdirSync(work);
    const tmp = fakeTmp('tmp-inject');
    const spec = writeSpec('inject', {
      name: 'inject',
      dataset: { adapter: 'folder', options: { root: ds } },
      restorer: { id: 'command', options: { program: 'sh', args: ['-c', 'cp {in} {out} && echo {id} >> ids.txt'], cwd: work } },
      metrics: ['psnr'],
    });
    const r = await cli(['run', spec, '--results-dir', join(root, 'results-inject'), '--progress', 'lines'], { env: { TMPDIR: tmp }, cwd: work }).done;
    expect(r.err).toMatch(/warning: .*inject\.json: restorer\.options\.program 'sh' runs its arguments as shell code/);
    expect(r.code).toBe(0);
    expect(readdirSync(work)).toEqual(['ids.txt']);
    expect(readFileSync(join(work, 'ids.txt'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(ours(tmp)).toEqual(['canary.txt', 'someone-elses']);
    const runDir = join(root, 'results-inject', 'runs', readdirSync(join(root, 'results-inject', 'runs'))[0]);
    const lines = readFileSync(join(runDir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.sampleId, l.status]).sort()).toEqual(names.map((n) => [n, 'ok']).sort());
  });

  it('kill -9 mid-sample takes the program with it; the next run removes the abandoned temp folder', async () => {
    const ds = join(root, 'kill');
    await writeFolderDataset(ds, 2, 0);
    const tmp = fakeTmp('tmp-kill');
    const pidFile = join(root, 'program.pid');
    const hang = writeSpec('hang', {
      name: 'hang',
      dataset: { adapter: 'folder', options: { root: ds } },
      restorer: {
        id: 'command',
        options: { program: process.execPath, args: ['-e', "require('fs').writeFileSync(process.env.PIDFILE, String(process.pid)); setTimeout(() => {}, 120000)", '{in}', '{out}'], env: { PIDFILE: pidFile } },
      },
    });
    const run = cli(['run', hang, '--results-dir', join(root, 'results-kill'), '-q'], { env: { TMPDIR: tmp } });
    const t0 = Date.now();
    while (!existsSync(pidFile) && Date.now() - t0 < 90_000) await new Promise((r) => setTimeout(r, 50));
    const programPid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(programPid)).toBe(true);
    const stale = readdirSync(tmp).filter((n) => n.startsWith('refbench-command-'));
    expect(stale).toEqual([expect.stringMatching(new RegExp(`^refbench-command-${run.child.pid}-`))]);
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
    const tKill = Date.now();
    while (alive(programPid) && Date.now() - tKill < 5000) await new Promise((r) => setTimeout(r, 50));
    expect(alive(programPid), `program ${programPid} outlived its killed parent`).toBe(false);
    expect(readdirSync(tmp)).toContain(stale[0]); // nothing could clean up after SIGKILL...

    const copy = writeSpec('copy', {
      name: 'copy',
      dataset: { adapter: 'folder', options: { root: ds } },
      restorer: { id: 'command', options: { program: process.execPath, args: ['-e', "require('fs').copyFileSync(process.argv[1], process.argv[2])", '{in}', '{out}'] } },
    });
    const next = await cli(['run', copy, '--results-dir', join(root, 'results-kill'), '-q'], { env: { TMPDIR: tmp } }).done;
    expect(next.code).toBe(0);
    expect(ours(tmp)).toEqual(['canary.txt', 'someone-elses']); // ...the next run did
  });
});

describe('generation only where it is allowed', () => {
  it('`data synth --out` and `run` refuse a non-empty folder that is not synthfaces-ref\'s own, naming it; nothing changes', async () => {
    const dir = join(root, 'my-photos');
    mkdirSync(join(dir, 'images512x512'), { recursive: true });
    writeFileSync(join(dir, 'images512x512', 'holiday.png'), 'precious');
    writeFileSync(join(dir, 'params.jsonl'), 'mine\n');
    const r = await cli(['data', 'synth', '--out', dir]).done;
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${dir}: the folder is not empty and has no synthfaces-ref manifest.json`);
    expect(readdirSync(dir).sort()).toEqual(['images512x512', 'params.jsonl']);
    expect(readFileSync(join(dir, 'images512x512', 'holiday.png'), 'utf8')).toBe('precious');
    expect(readdirSync(root).filter((n) => n.startsWith('my-photos.tmp'))).toEqual([]);
    // `run` materialises synthfaces-ref under the same rule.
    const spec = writeSpec('synth-foreign', { name: 'synth-foreign', dataset: { adapter: 'synthfaces-ref', options: { root: dir } }, restorer: { id: 'lq' } });
    const run = await cli(['run', spec, '--results-dir', join(root, 'results-foreign'), '-q']).done;
    expect(run.code).toBe(1);
    expect(run.err).toContain(`synth-foreign.json: dataset 'synthfaces-ref': ${dir}: the folder is not empty`);
    expect(readdirSync(dir).sort()).toEqual(['images512x512', 'params.jsonl']);
  });
});

describe('refbench dashboard', () => {
  it('on a busy port says so at once and exits non-zero', async () => {
    const busy: Server = createServer();
    await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', ok));
    const port = (busy.address() as { port: number }).port;
    try {
      const run = cli(['dashboard', '--port', String(port), '--results-dir', join(root, 'no-results')]);
      const timer = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
      const r = await run.done;
      clearTimeout(timer);
      expect(r.signal).toBeNull(); // exited by itself, not killed by the guard above
      expect(r.code).toBe(1);
      expect(r.err).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(r.ms).toBeLessThan(30_000);
    } finally {
      busy.close();
    }
    const bad = await cli(['dashboard', '--port', 'http']).done;
    expect([bad.code, bad.err.trim()]).toEqual([1, "refbench: error: --port must be an integer from 0 to 65535, got 'http'"]);
  });
});
