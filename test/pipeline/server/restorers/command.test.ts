import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync as mkdtempFs, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createCommandRestorer, expandArgs, isShellTemplate } from '../../../../src/lib/server/restorers/command.ts';
import { reapStaleWorkDirs, WORK_DIR_PREFIX } from '../../../../src/lib/server/restorers/command-process.ts';
import { SampleFailure } from '../../../../src/lib/eval/restorers/restorer.ts';

// The "external program": node copying {in} to {out} unless the sample id says "fail" (like DMDNet's
// landmark failures), checking that it received every reference path.
const SCRIPT = [
  "const fs = require('fs');",
  'const [inp, out, id, ...refs] = process.argv.slice(1);',
  "if (id.includes('fail')) { console.error('no landmarks found'); process.exit(3); }",
  "if (!refs.every((r) => fs.existsSync(r))) process.exit(4);",
  "if (id.includes('silent')) process.exit(0);",
  'fs.copyFileSync(inp, out);',
].join('\n');

const img = (v: number) => ({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(v) });

describe('command restorer (execFile, no shell)', () => {
  it('expands placeholders; {refs} as a whole argument becomes one argument per reference', () => {
    const a = expandArgs(['-i', '{in}', '--refs={refs}', '{refs}', '{outDir}/x'], { in: '/a/in.png', out: '/b/out.png', refs: ['/r0', '/r1'], refDir: '/r', id: 's' });
    expect(a).toEqual(['-i', '/a/in.png', '--refs=/r0,/r1', '/r0', '/r1', '/b/x']);
  });

  it('runs the program per sample and records failures as SampleFailure', async () => {
    const r = await createCommandRestorer({ program: process.execPath, args: ['-e', SCRIPT, '{in}', '{out}', '{id}', '{refs}'], maxRefs: 2 });
    try {
      const ok = await r.restore({ sampleId: 'ok', lq: img(77), refs: [img(1), img(2), img(3)] });
      expect(ok.image.data[0]).toBe(77);
      expect(ok.info?.refsUsed).toBe(2);
      const failed = r.restore({ sampleId: 'will-fail', lq: img(5), refs: [] });
      await expect(failed).rejects.toBeInstanceOf(SampleFailure);
      await expect(r.restore({ sampleId: 'will-fail', lq: img(5), refs: [] })).rejects.toThrow(/exited with 3.*no landmarks/);
      await expect(r.restore({ sampleId: 'silent', lq: img(5), refs: [] })).rejects.toThrow(/no readable output/);
    } finally {
      await r.dispose();
    }
  });

  it('a timeout is a per-sample failure', async () => {
    const r = await createCommandRestorer({ program: process.execPath, args: ['-e', 'setTimeout(() => {}, 10000)'], timeoutS: 0.5 });
    try {
      await expect(r.restore({ sampleId: 'slow', lq: img(1), refs: [] })).rejects.toThrow(/timeout/);
    } finally {
      await r.dispose();
    }
  });
});

/** Whether a pid names a live (non-zombie) process. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/^\d+ \(.*\) Z/.test(stat);
}

describe('command restorer safety (defence in depth, whatever the dataset lets through)', () => {
  const savedTmp = process.env.TMPDIR;
  const made: string[] = [];
  const mkdtempSync = (prefix: string): string => {
    const d = mkdtempFs(prefix);
    made.push(d);
    return d;
  };
  afterEach(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  });
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });

  it("works in mkdtemp folders: ids like '..' or '../x' never reach $TMPDIR, and cleanup removes only its own folders", async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'refbench-cmd-tmp-'));
    writeFileSync(join(tmp, 'canary.txt'), 'still here');
    mkdirSync(join(tmp, 'someone-elses-dir'));
    const seen = join(mkdtempSync(join(tmpdir(), 'refbench-cmd-seen-')), 'seen.txt');
    process.env.TMPDIR = tmp;
    const r = await createCommandRestorer({
      program: process.execPath,
      args: ['-e', `const fs=require('fs');fs.appendFileSync(${JSON.stringify(seen)}, process.argv[1]+'|'+process.argv[3]+'\\n');fs.copyFileSync(process.argv[1], process.argv[2])`, '{in}', '{out}', '{id}'],
    });
    try {
      for (const id of ['..', '.', '../x', '-rf', 'a b']) {
        const out = await r.restore({ sampleId: id, lq: img(9), refs: [] });
        expect(out.image.data[0]).toBe(9);
      }
    } finally {
      await r.dispose();
    }
    expect(readFileSync(join(tmp, 'canary.txt'), 'utf8')).toBe('still here');
    expect(readdirSync(tmp).sort()).toEqual(['canary.txt', 'someone-elses-dir']);
    // Every {in} lay inside the restorer's own work folder; {id} was a safe stem, never '..' or an option.
    for (const line of readFileSync(seen, 'utf8').trim().split('\n')) {
      const [inPath, id] = line.split('|');
      expect(inPath.startsWith(join(tmp, WORK_DIR_PREFIX))).toBe(true);
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/);
    }
  });

  it('an id with ; $() or backticks under an `sh -c` template does not execute, and the template is flagged', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'refbench-cmd-sh-'));
    const r = await createCommandRestorer({ program: 'sh', args: ['-c', 'cp {in} {out} && echo {id} >> ids.txt'], cwd });
    expect(r.warnings?.[0]).toMatch(/'sh' runs its arguments as shell code/);
    try {
      for (const id of ['x;touch PWNED1', '$(touch PWNED2)', '`touch PWNED3`', "'; touch PWNED4; '", 'a&&touch PWNED5']) {
        expect((await r.restore({ sampleId: id, lq: img(3), refs: [] })).image.data[0]).toBe(3);
      }
    } finally {
      await r.dispose();
    }
    expect(readdirSync(cwd)).toEqual(['ids.txt']);
    expect(readFileSync(join(cwd, 'ids.txt'), 'utf8').trim().split('\n')).toHaveLength(5);
  });

  it('refuses placeholder values a shell could interpret', () => {
    const v = { in: '/w/in.png', out: '/w/out.png', refs: [], refDir: '/w/refs', id: 's' };
    expect(() => expandArgs(['{id}'], { ...v, id: '$(x)' })).toThrow(/placeholder \{id\}.*refusing/);
    expect(() => expandArgs(['{in}'], { ...v, in: '/a b/in.png' })).toThrow(/placeholder \{in\}/);
    expect(() => expandArgs(['{refs}'], { ...v, refs: ['-rf'] })).toThrow(/placeholder \{refs\}/);
    // A value is substituted once: a placeholder-looking id is not expanded again.
    expect(expandArgs(['{id}{in}'], { ...v, id: 'x' })).toEqual(['x/w/in.png']);
  });

  it('recognises shell templates', () => {
    expect(isShellTemplate('sh', ['-c', 'x'])).toBe(true);
    expect(isShellTemplate('/bin/bash', ['-lc', 'x'])).toBe(true);
    expect(isShellTemplate('powershell.exe', ['-Command', 'x'])).toBe(true);
    expect(isShellTemplate('cmd', ['/C', 'x'])).toBe(true);
    expect(isShellTemplate('python3', ['-c', 'x'])).toBe(false);
    expect(isShellTemplate('bash', ['script.sh'])).toBe(false);
  });

  it('a timeout kills the program and everything it started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refbench-cmd-to-'));
    const pidFile = join(dir, 'pid');
    const r = await createCommandRestorer({ program: 'sh', args: ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], timeoutS: 1 });
    try {
      await expect(r.restore({ sampleId: 's', lq: img(1), refs: [] })).rejects.toThrow(/timeout/);
    } finally {
      await r.dispose();
    }
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await expect.poll(() => alive(pid), { timeout: 5000 }).toBe(false);
  });

  it('reaps work folders whose owner process is dead, and keeps those of live processes', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'refbench-cmd-reap-'));
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((done) => dead.on('exit', done));
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      const { createHash } = await import('node:crypto');
      const { hostname } = await import('node:os');
      const host = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
      const stale = join(tmp, `${WORK_DIR_PREFIX}${dead.pid}-${host}-abc123`);
      const kept = join(tmp, `${WORK_DIR_PREFIX}${live.pid}-${host}-abc123`);
      const otherHost = join(tmp, `${WORK_DIR_PREFIX}${dead.pid}-00000000-abc123`);
      for (const d of [stale, kept, otherHost]) mkdirSync(join(d, 's-x', 'in'), { recursive: true });
      expect(await reapStaleWorkDirs(tmp)).toEqual([stale]);
      expect(readdirSync(tmp).sort()).toEqual([kept, otherHost].map((d) => d.slice(tmp.length + 1)).sort());
    } finally {
      live.kill('SIGKILL');
    }
  });
});
