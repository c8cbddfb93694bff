/**
 * @file `refbench dashboard`: serves the production build of the SvelteKit dashboard (adapter-node, built first
 * when missing or older than its sources) over a results folder, read-only, on loopback by default.
 * What it serves, and to whom: docs/security.md.
 */
import type { Command } from 'commander';
import { createServer as createNetServer } from 'node:net';
import { resolve } from 'node:path';
import { ensureDashboardBuild, serveDashboard } from '../../lib/server/dashboard/production.ts';
import { formatSizeReport, IMAGE_MODES, writeStaticSnapshot, type ImageMode } from '../../lib/server/dashboard/static/snapshot.ts';

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
    .option('--static <out>', 'write a self-contained snapshot to this folder instead of serving: plain HTML, relative links, no server; opens from file:// or any static host (docs/dashboard.md)')
    .option('--runs <ids>', 'with --static: only these runs (comma-separated run ids; default: all)')
    .option('--images <mode>', `with --static: images in the snapshot: ${IMAGE_MODES.join('|')} (thumbs: the 256-px thumbnails)`, 'thumbs')
    .addHelpText(
      'after',
      '\nExamples:\n  $ refbench dashboard\n  $ refbench dashboard --results-dir /data/refbench-results --port 8080\n  $ refbench dashboard --static site/            # snapshot: open site/index.html, or upload site/\n  $ refbench dashboard --static site/ --images none --runs runA,runB\n\nThe snapshot has the leaderboard, run pages (with each run.json, absolute paths removed), the paper and\nfusion pages, the image browser and compare for any runs of one benchmark (computed in the browser from\nper-sample values). It names no path of this machine. A size report is printed at the end.\n',
    )
    .action(async (opts: { resultsDir: string; port: string; host: string; static?: string; runs?: string; images: string }, cmd: Command) => {
      if (opts.static === undefined && (opts.runs !== undefined || cmd.getOptionValueSource('images') === 'cli')) throw new Error('--runs and --images belong to --static <out> (a snapshot); the live dashboard shows every run');
      if (opts.static !== undefined) {
        if (!(IMAGE_MODES as readonly string[]).includes(opts.images)) throw new Error(`--images must be one of ${IMAGE_MODES.join(', ')}, got '${opts.images}'`);
        const report = await writeStaticSnapshot({
          resultsDir: opts.resultsDir,
          out: opts.static,
          images: opts.images as ImageMode,
          runs: opts.runs?.split(',').map((s) => s.trim()).filter(Boolean),
          log: (m) => process.stderr.write(`${m}\n`),
        });
        process.stdout.write(`refbench dashboard --static: wrote ${resolve(opts.static)} (open index.html)\n${formatSizeReport(report)}\n`);
        return;
      }
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
