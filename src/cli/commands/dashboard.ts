/**
 * @file `refbench dashboard`: serves the SvelteKit dashboard over a results folder (vite dev server, loopback).
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { REPO_ROOT } from '../../lib/server/runner/provenance.ts';

export function register(program: Command): void {
  program
    .command('dashboard')
    .description('browse runs, metrics and every image side by side in the browser')
    .option('--results-dir <dir>', 'results folder', 'results')
    .option('--port <n>', 'port', '5173')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .addHelpText('after', '\nExamples:\n  $ refbench dashboard\n  $ refbench dashboard --results-dir /data/refbench-results --port 8080\n')
    .action(async (opts: { resultsDir: string; port: string; host: string }) => {
      process.env.REFBENCH_RESULTS_DIR = resolve(opts.resultsDir);
      const { createServer } = await import('vite');
      const server = await createServer({
        root: REPO_ROOT,
        configFile: resolve(REPO_ROOT, 'vite.config.ts'),
        server: { host: opts.host, port: Number(opts.port), strictPort: true },
        logLevel: 'warn',
      });
      await server.listen();
      process.stdout.write(`refbench dashboard: http://${opts.host}:${opts.port}/  (results: ${process.env.REFBENCH_RESULTS_DIR}; Ctrl-C to stop)\n`);
      await new Promise<void>((done) => {
        const stop = () => void server.close().then(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
