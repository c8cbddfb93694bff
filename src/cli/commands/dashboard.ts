/**
 * @file `refbench dashboard`: serves the SvelteKit dashboard over a results folder (vite dev server, loopback).
 * What it serves, and to whom: docs/security.md.
 */
import type { Command } from 'commander';
import { createServer as createNetServer } from 'node:net';
import { resolve } from 'node:path';
import { REPO_ROOT } from '../../lib/server/runner/provenance.ts';

/** Parses `--port`: an integer 0–65535 (0 = any free port). */
function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new Error(`--port must be an integer from 0 to 65535, got '${v}'`);
  return n;
}

/**
 * Fails fast, before vite starts (seconds, and watchers that keep the process alive), when `host:port` cannot be
 * listened on.
 * @throws Error naming the port and what to do.
 */
async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((ok, fail) => {
    const probe = createNetServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use (another dashboard?); stop it or pass --port <another port>`
          : err.code === 'EACCES'
            ? `no permission to listen on port ${port} on ${host}; use a port above 1023`
            : `cannot listen on ${host}:${port} (${err.code ?? err.message})`;
      fail(new Error(why));
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => ok()));
  });
}

export function register(program: Command): void {
  program
    .command('dashboard')
    .description('browse runs, metrics and every image side by side in the browser (read-only; see docs/security.md)')
    .option('--results-dir <dir>', 'results folder', 'results')
    .option('--port <n>', 'port', '5173')
    .option('--host <host>', 'interface to listen on (anything but loopback exposes your results: docs/security.md)', '127.0.0.1')
    .addHelpText('after', '\nExamples:\n  $ refbench dashboard\n  $ refbench dashboard --results-dir /data/refbench-results --port 8080\n')
    .action(async (opts: { resultsDir: string; port: string; host: string }) => {
      const port = parsePort(opts.port);
      await assertPortFree(opts.host, port);
      process.env.REFBENCH_RESULTS_DIR = resolve(opts.resultsDir);
      const { createServer } = await import('vite');
      const server = await createServer({
        root: REPO_ROOT,
        configFile: resolve(REPO_ROOT, 'vite.config.ts'),
        server: { host: opts.host, port, strictPort: true },
        logLevel: 'warn',
      });
      try {
        await server.listen();
      } catch (err) {
        // NOTE: a port taken between the probe and here: close vite (its watchers would keep the process alive).
        await server.close();
        throw err;
      }
      const addr = server.httpServer?.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      process.stdout.write(`refbench dashboard: http://${opts.host}:${actual}/  (results: ${process.env.REFBENCH_RESULTS_DIR}; Ctrl-C to stop)\n`);
      await new Promise<void>((done) => {
        const stop = () => void server.close().then(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
