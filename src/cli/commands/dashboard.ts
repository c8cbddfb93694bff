/**
 * @file `refbench dashboard`: serves the production build of the SvelteKit dashboard (adapter-node, built first
 * when missing or older than its sources) over a results folder, read-only, on loopback by default.
 * What it serves, and to whom: docs/security.md.
 */
import type { Command } from 'commander';
import { createServer as createNetServer } from 'node:net';
import { resolve } from 'node:path';
import { ensureDashboardBuild, serveDashboard } from '../../lib/server/dashboard/production.ts';

/** Parses `--port`: an integer 0–65535 (0 = any free port). */
function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new Error(`--port must be an integer from 0 to 65535, got '${v}'`);
  return n;
}

/**
 * Fails fast, before a build (a minute) is started, when `host:port` cannot be listened on.
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
      const resultsDir = resolve(opts.resultsDir);
      await ensureDashboardBuild((m) => process.stderr.write(`${m}\n`));
      const { server, url } = await serveDashboard({ resultsDir, host: opts.host, port });
      process.stdout.write(`refbench dashboard: ${url}  (results: ${resultsDir}; read-only; Ctrl-C to stop)\n`);
      await new Promise<void>((done) => {
        const stop = () => {
          server.closeAllConnections();
          server.close(() => done());
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
