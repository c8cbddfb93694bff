/**
 * @file Test helper: `refbench dashboard` as a user starts it (a child process: the production build, built first
 * when missing or stale, served by node's http server), on a free loopback port over a results folder.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../..');

/** Starts the dashboard; resolves with its base URL (no trailing slash) and a stop function. */
export function startProductionDashboard(resultsDir: string, timeoutMs = 300_000): Promise<{ base: string; stop: () => Promise<void>; log: () => string }> {
  const child = spawn(process.execPath, [resolve(REPO, 'bin/refbench.js'), 'dashboard', '--port', '0', '--results-dir', resultsDir], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const stop = () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => (void stop(), fail(new Error(`refbench dashboard did not start in ${timeoutMs} ms:\n${out}`))), timeoutMs);
    child.once('exit', (code) => (clearTimeout(timer), fail(new Error(`refbench dashboard exited with ${code}:\n${out}`))));
    child.stdout.on('data', () => {
      const m = /refbench dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        ok({ base: m[1], stop, log: () => out });
      }
    });
  });
}
