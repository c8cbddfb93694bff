/**
 * @file `refbench dashboard` serves the production build of the SvelteKit app (adapter-node's `build/handler.js`)
 * with node's http server: no vite dev server, so no module graph, source files or checkout paths are reachable
 * over HTTP (docs/security.md). The build is made on first use, and again when the dashboard's sources are newer
 * than it (saying so); concurrent builders (two terminals, parallel tests) wait for one another through an
 * O_EXCL lock file.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { printable } from '../../format.ts';
import { REPO_ROOT } from '../paths.ts';
import { pidAlive } from '../proc/pid-alive.ts';

/** Where adapter-node writes the build (svelte.config.js: the default `out`). */
export const BUILD_DIR = join(REPO_ROOT, 'build');
/** Written after a successful build: which source state it was built from. */
const STAMP = join(BUILD_DIR, '.refbench-build.json');
const LOCK = join(REPO_ROOT, '.svelte-kit', 'refbench-build.lock');

/** Files and folders whose change makes a new build necessary. */
const SOURCES = ['src', 'static', 'svelte.config.js', 'vite.config.ts', 'package.json', 'package-lock.json'];

/** The newest modification time (ms) under the dashboard's sources. */
export function newestSourceMtime(root = REPO_ROOT): number {
  let newest = 0;
  const walk = (p: string): void => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const s of SOURCES) walk(join(root, s));
  return newest;
}

/** Why the build must be (re)made, or null when it is up to date. */
export function buildStaleness(): string | null {
  if (!existsSync(join(BUILD_DIR, 'handler.js')) || !existsSync(STAMP)) return 'no production build of the dashboard yet';
  let built: number;
  try {
    built = (JSON.parse(readFileSync(STAMP, 'utf8')) as { sourcesMtime: number }).sourcesMtime;
  } catch {
    return `${STAMP} is unreadable`;
  }
  return newestSourceMtime() > built ? 'the dashboard sources changed since the last build' : null;
}


/** Takes the build lock, waiting for another builder (or taking over a dead one's lock). */
async function lock(log: (m: string) => void): Promise<() => void> {
  let said = false;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(LOCK, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        (await import('node:fs')).mkdirSync(join(REPO_ROOT, '.svelte-kit'), { recursive: true });
        continue;
      }
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(LOCK, 'utf8') || 0);
      if (holder && !pidAlive(holder)) {
        rmSync(LOCK, { force: true });
        continue;
      }
      if (!said) log(`refbench dashboard: waiting for another build of the dashboard (pid ${holder}, lock ${LOCK})...`);
      said = true;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Makes sure an up-to-date production build exists: builds it (vite build, adapter-node) when missing or older
 * than the sources, saying why.
 * @returns whether a build was made.
 */
export async function ensureDashboardBuild(log: (m: string) => void = () => {}): Promise<boolean> {
  if (buildStaleness() === null) return false;
  const release = await lock(log);
  try {
    const why = buildStaleness(); // another process may have built it while we waited
    if (why === null) return false;
    const t0 = Date.now();
    const sourcesMtime = newestSourceMtime();
    log(`refbench dashboard: ${why}: building it (vite build, about a minute)...`);
    // NOTE: in a child process, so vite's and the adapter's chatter (e.g. "run npm run preview") stays out of the
    // terminal unless the build fails; then all of it is shown.
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
    if (r.status !== 0) throw new Error(`building the dashboard failed (vite build, exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
    writeFileSync(STAMP, JSON.stringify({ sourcesMtime, builtAt: new Date().toISOString() }));
    log(`refbench dashboard: built in ${((Date.now() - t0) / 1000).toFixed(0)} s (${BUILD_DIR})`);
    return true;
  } finally {
    release();
  }
}

/**
 * Whether a request's `Host` header may be served: an IP address or `localhost` (with any port), as vite's
 * `allowedHosts` default did. A DNS name is refused, so a web page cannot reach the dashboard through DNS
 * rebinding (its name resolving to 127.0.0.1).
 */
export function allowedHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || isIP(name) !== 0;
}

/**
 * One line on the dashboard's terminal per refused request (4xx other than 404: a method the page does not take,
 * a cross-site form POST, a Host that is not allowed, a bad parameter): method, path (without the query, control
 * characters escaped, cut at 200 characters) and status. Never a stack trace: a refusal is not a fault.
 */
function logRefusal(method: string | undefined, url: string | undefined, status: number): void {
  const path = printable((url ?? '').split('?')[0]).slice(0, 200);
  process.stderr.write(`refbench dashboard: refused ${printable(method ?? '?').slice(0, 20)} ${path}: ${status}\n`);
}

type Handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, next?: () => void) => void;

/**
 * Serves the production build over `resultsDir` on `host:port` (0 = any free port).
 * @returns the listening server and its URL.
 */
export async function serveDashboard(o: { resultsDir: string; host: string; port: number }): Promise<{ server: Server; url: string }> {
  process.env.REFBENCH_RESULTS_DIR = o.resultsDir;
  const { handler } = (await import(pathToFileURL(join(BUILD_DIR, 'handler.js')).href)) as { handler: Handler };
  const server = createServer((req, res) => {
    res.once('finish', () => {
      if (res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 404) logRefusal(req.method, req.url, res.statusCode);
    });
    if (!allowedHost(req.headers.host)) {
      res.statusCode = 403;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end('refbench dashboard: this Host is not allowed (open the dashboard by its IP address or localhost)\n');
      return;
    }
    handler(req, res, () => {
      res.statusCode = 404;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end('not found');
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen({ host: o.host, port: o.port, exclusive: true }, () => ok());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return { server, url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/` };
}
