/**
 * @file `refbench dashboard --static OUT`: a self-contained snapshot of a results folder (docs/dashboard.md).
 *
 * The pages are rendered by the dashboard's own production server, started in this process on a loopback port:
 * the leaderboard, every run page (all of its pages), the paper and fusion pages (and every variant they link
 * to) are fetched over HTTP, SvelteKit's client is removed, and every URL is rewritten to a relative one
 * (urls.ts). Compare and the image browser are drawn in the browser by the snapshot's own script
 * (static/client/main.ts, bundled here with esbuild), from per-sample values written as data scripts (data.ts),
 * so any set of runs of one benchmark can be compared without a server. Data is loaded through `<script>` tags,
 * not fetch, because browsers refuse fetch() from file://.
 *
 * Nothing in the snapshot may name a path of the machine it was made on: text is scrubbed (urls.ts scrubPaths) and
 * every written file is checked for the results folder, the checkout, $HOME and the temp folder at the end.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { REPO_ROOT } from '../../paths.ts';
import { listRunIds, RunStore, runsRoot } from '../../results/store.ts';
import { ensureDashboardBuild, serveDashboard } from '../production.ts';
import { readStaticData } from './data.ts';
import { packBench } from './pack.ts';
import { makeRunsView } from './view.ts';
import { classify, relativePath, rewriteUrls, scrubJson, scrubPaths, scrubRules, stripSvelteKitClient, type ScrubRule } from './urls.ts';

export type ImageMode = 'thumbs' | 'full' | 'none';
export const IMAGE_MODES: readonly ImageMode[] = ['thumbs', 'full', 'none'];

/** Written at the snapshot's root: marks a folder `--static` may replace. */
const MARKER = '.refbench-static.json';
/** A 1×1 transparent GIF: the image of `--images none`. */
const NO_IMAGE = 'data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==';
/** The look of the pages the snapshot's script draws (compare, browse): the live pages' styles are scoped to them. */
const SHELL_CSS =
  '.scroll{overflow-x:auto;max-width:100%}.ci{font-size:11px;color:#6a737d;white-space:nowrap}.delta{font-size:12px;white-space:nowrap}.delta.better{color:#1a7f37;font-weight:600}.delta.worse{color:#cf222e;font-weight:600}tr.current th{background:#dbe9f9}.samples{display:flex;flex-wrap:wrap;gap:4px 8px}.samples a.cur{font-weight:700}.outputs{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:8px}.outputs figure{margin:0;min-width:0}.outputs img{width:100%;height:auto;aspect-ratio:1;display:block}.outputs figcaption{font-size:12px;overflow-wrap:anywhere}.tag{border:1px solid #d0d7de;background:#f6f8fa;border-radius:8px;font-size:11px;padding:0 6px}.noimg{aspect-ratio:1;background:#eee;display:flex;align-items:center;justify-content:center;font-size:12px;color:#6a737d}' +
  // The metric headers' modes, as src/lib/components/MetricMode.svelte styles them (its styles are scoped to it).
  'details.mode{display:inline-block;position:relative;font-weight:400;text-align:left}details.mode>summary{list-style:none;cursor:pointer;color:#0366d6;font-size:12px;padding:0 2px}details.mode>summary::-webkit-details-marker{display:none}details.mode .panel{position:absolute;z-index:20;left:0;top:1.4em;width:28em;max-width:80vw;background:#fff;border:1px solid #d0d7de;border-radius:6px;box-shadow:0 4px 12px rgba(0,0,0,.12);padding:8px 10px;font-size:12px;white-space:normal}details.mode dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 8px;margin:0 0 6px}details.mode dt{color:#6a737d}details.mode dd{margin:0;overflow-wrap:anywhere}details.mode .runs{font-weight:600;margin:4px 0 2px;overflow-wrap:anywhere}';
/** Pages fetched at most (a guard against a link cycle through ever-new queries). */
const MAX_PAGES = 20_000;

export interface SnapshotOptions {
  readonly resultsDir: string;
  readonly out: string;
  /** Run ids to include (default: every run). */
  readonly runs?: readonly string[];
  readonly images?: ImageMode;
  readonly log?: (m: string) => void;
}

export interface SizeReport {
  /** Bytes and files per kind: pages, data, script, styles, provenance, images:<kind>. */
  readonly kinds: Record<string, { bytes: number; files: number }>;
  readonly total: { bytes: number; files: number };
  /** Pages the server could not render (each written as a page saying so). */
  readonly problems: readonly string[];
}

/** The kind of image a route's last segment names (lq, gt, output, ref-0 → ref). */
function imageKind(image: string): string {
  return image.startsWith('ref') ? 'ref' : image;
}

const EXT: Record<string, string> = { 'image/webp': 'webp', 'image/png': 'png', 'image/jpeg': 'jpg', 'text/css': 'css', 'image/svg+xml': 'svg' };

/**
 * Writes the snapshot.
 * @throws Error when OUT is a non-empty folder that is not an earlier snapshot, a page cannot be rendered, or a
 *   written file still names a local path.
 */
export async function writeStaticSnapshot(o: SnapshotOptions): Promise<SizeReport> {
  const log = o.log ?? (() => {});
  const images = o.images ?? 'thumbs';
  const resultsDir = resolve(o.resultsDir);
  const out = resolve(o.out);
  if (!existsSync(runsRoot(resultsDir))) throw new Error(`${resultsDir}: no runs/ folder (is this a refbench results folder?)`);
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new Error(`${out}: exists and is not a folder`);
    if (readdirSync(out).length && !existsSync(join(out, MARKER))) throw new Error(`${out}: a folder that is not empty and not an earlier refbench snapshot; pick a new folder`);
    rmSync(out, { recursive: true, force: true });
  }
  const all = listRunIds(resultsDir);
  const runIds = o.runs?.length ? [...new Set(o.runs)] : all;
  for (const id of runIds) if (!all.includes(id)) throw new Error(`run '${id}' is not in ${resultsDir}/runs (refbench ls lists them)`);
  const picked = new Set(runIds);
  // Some runs: the dashboard renders a results folder of only those (view.ts), so the leaderboard is theirs.
  const view = runIds.length < all.length ? makeRunsView(resultsDir, runIds) : null;
  const rules = scrubRules({ resultsDir, repoRoot: REPO_ROOT, home: homedir(), tmp: tmpdir(), aliases: view ? [view.resultsDir, view.root] : [] });
  try {
    return await writeSnapshot({ resultsDir, out, images, runIds, picked, rules, served: view?.resultsDir ?? resultsDir, log });
  } finally {
    view?.remove();
  }
}

/** What writeSnapshot was asked for (`served`: the results folder the dashboard serves, a view when runs were picked). */
interface SnapshotPlan {
  readonly resultsDir: string;
  readonly out: string;
  readonly images: ImageMode;
  readonly runIds: readonly string[];
  readonly picked: ReadonlySet<string>;
  readonly rules: ScrubRule[];
  readonly served: string;
  readonly log: (m: string) => void;
}

type WriteFile = (rel: string, data: string | Uint8Array, kind: string) => void;

/** The files written so far (snapshot path → bytes and kind) and the function that writes one under `out`. */
function fileWriter(out: string): { files: Map<string, { bytes: number; kind: string }>; write: WriteFile } {
  const files = new Map<string, { bytes: number; kind: string }>();
  const write: WriteFile = (rel, data, kind) => {
    const p = join(out, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
    files.set(rel, { bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength, kind });
  };
  return { files, write };
}

/** The state of one crawl of the served dashboard. */
interface Crawl {
  readonly plan: SnapshotPlan;
  /** The served dashboard's URL and origin. */
  readonly base: string;
  readonly origin: string;
  readonly files: ReadonlyMap<string, { bytes: number; kind: string }>;
  readonly write: WriteFile;
  /** URL → the snapshot file of its body (null: the server refused it); each URL is fetched once. */
  readonly fetched: Map<string, Promise<string | null>>;
  /** runId → sampleId → image → snapshot file. */
  readonly manifest: Record<string, Record<string, Record<string, string>>>;
  readonly problems: string[];
}

/** Renders and writes the snapshot. */
async function writeSnapshot(plan: SnapshotPlan): Promise<SizeReport> {
  const { resultsDir, out, images, runIds, rules, log } = plan;
  const { files, write } = fileWriter(out);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, MARKER), JSON.stringify({ tool: 'refbench dashboard --static', images }));

  log(`refbench dashboard --static: reading ${runIds.length} run(s)...`);
  const benches = await readStaticData(resultsDir, runIds);

  await ensureDashboardBuild(log);
  const { server, url: base } = await serveDashboard({ resultsDir: plan.served, host: '127.0.0.1', port: 0 });
  const crawl: Crawl = { plan, base, origin: new URL(base).origin, files, write, fetched: new Map(), manifest: {}, problems: [] };
  try {
    const shell = await crawlPages(crawl);
    writeShellPages(shell, write);
    writeData(benches, crawl.manifest, plan, write);
    writeProvenance(plan, write);
    write('assets/static.js', await bundleClient(), 'script');
  } finally {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  }

  assertNoLocalPaths(out, rules);
  return sizeReport(files, crawl.problems);
}

/**
 * Fetches `url` once: later calls get the first call's promise. `store` writes the body and returns its snapshot file.
 * Images and assets are fetched once per URL and stored once per content (thumbnails of the same LQ/GT/reference in
 * several runs are one file).
 */
function fetchOnce(c: Crawl, url: string, store: (body: Uint8Array, r: Response) => string): Promise<string | null> {
  let p = c.fetched.get(url);
  if (!p) {
    p = (async () => {
      const r = await fetch(url);
      if (!r.ok) return null;
      return store(new Uint8Array(await r.arrayBuffer()), r);
    })();
    c.fetched.set(url, p);
  }
  return p;
}

/** Fetches one image of a sample (thumbnail or full size, per `--images`) into img/ and the manifest. */
function fetchImage(c: Crawl, t: { runId: string; sampleId: string; image: string }): Promise<string | null> {
  const route = c.plan.images === 'full' ? 'images' : 'thumbs';
  const url = `${c.origin}/api/runs/${encodeURIComponent(t.runId)}/${route}/${encodeURIComponent(t.sampleId)}/${encodeURIComponent(t.image)}`;
  return fetchOnce(c, url, (buf, r) => {
    const ext = EXT[(r.headers.get('content-type') ?? '').split(';')[0].trim()] ?? 'bin';
    const rel = `img/${createHash('sha256').update(buf).digest('hex').slice(0, 20)}.${ext}`;
    if (!c.files.has(rel)) c.write(rel, buf, `images:${imageKind(t.image)}`);
    ((c.manifest[t.runId] ??= {})[t.sampleId] ??= {})[t.image] = rel;
    return rel;
  });
}

/** Fetches one asset (styles, fonts) to `file`. */
function fetchAsset(c: Crawl, file: string, url: string): Promise<string | null> {
  return fetchOnce(c, url, (buf) => {
    c.write(file, buf, file.endsWith('.css') ? 'styles' : 'assets');
    return file;
  });
}

/**
 * The pages: BFS over the links, starting at the leaderboard, the paper and fusion pages and every run. Writes every
 * page reached (with its images and assets) and returns the leaderboard's HTML, the shell of the script's pages.
 */
async function crawlPages(c: Crawl): Promise<string> {
  const queue: { url: string; file: string }[] = [];
  const seen = new Set<string>();
  const enqueue = (path: string) => {
    const t = classify(path, c.base);
    if (t.kind !== 'page' || seen.has(t.file)) return;
    const m = /^runs\/(.+?)(--.*)?\.html$/.exec(t.file);
    if (m && !c.plan.picked.has(decodeURIComponent(m[1]))) return;
    seen.add(t.file);
    queue.push({ url: t.url, file: t.file });
  };
  for (const p of ['/', '/paper', '/fusion', ...c.plan.runIds.map((id) => `/runs/${encodeURIComponent(id)}`)]) enqueue(p);
  let shell: string | null = null;
  const pageCount = () => [...c.files.values()].filter((f) => f.kind === 'pages').length;
  while (queue.length) {
    if (seen.size > MAX_PAGES) throw new Error(`more than ${MAX_PAGES} pages: a link cycle? (last: ${queue[0].url})`);
    const { url, file } = queue.shift()!;
    const r = await fetch(url);
    if (!r.ok) {
      await writeErrorPage(c, file, r);
      continue;
    }
    const html = await renderPage(c, stripSvelteKitClient(await r.text()), url, file, seen, enqueue);
    if (file === 'index.html') shell = html;
    c.write(file, html, 'pages');
    if (pageCount() % 50 === 0) c.plan.log(`refbench dashboard --static: ${pageCount()} pages...`);
  }
  // Images of every sample the run pages did not reach (none: each run page lists all of its samples) are not
  // fetched; compare and the browser show what the manifest has.
  if (!shell) throw new Error('the leaderboard could not be rendered');
  return shell;
}

/**
 * A page the server cannot render (e.g. a paper variant whose runs are incomplete) must not sink the whole snapshot:
 * it says so where the link leads, and the command says so at the end. The leaderboard must render.
 */
async function writeErrorPage(c: Crawl, file: string, r: Response): Promise<void> {
  const why = `HTTP ${r.status}: ${(await r.text()).replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300)}`;
  if (file === 'index.html') throw new Error(`rendering the leaderboard failed (${why})`);
  const rules = c.plan.rules;
  c.problems.push(`${file}: ${scrubPaths(why, rules)}`);
  c.write(file, `<!doctype html><meta charset="utf-8"><title>refbench</title><p>This page could not be rendered when the snapshot was made (${scrubPaths(why, rules).replace(/[<&]/g, '')}).</p><p><a href="${relativePath(file, 'index.html')}">leaderboard</a></p>`, 'pages');
}

/** One fetched page (`html`, SvelteKit's client removed) made self-contained: what it links fetched, URLs relative. */
async function renderPage(c: Crawl, html: string, url: string, file: string, seen: ReadonlySet<string>, enqueue: (path: string) => void): Promise<string> {
  const images = c.plan.images;
  // First pass: collect the images and assets, fetch them (in parallel).
  const pending: Promise<unknown>[] = [];
  rewriteUrls(html, (u) => {
    const t = classify(u, url);
    if (t.kind === 'image' && images !== 'none') pending.push(fetchImage(c, t));
    if (t.kind === 'asset') pending.push(fetchAsset(c, t.file, t.url));
    if (t.kind === 'page') enqueue(t.url.slice(c.origin.length));
    return u;
  });
  await Promise.all(pending);
  html = rewriteUrls(html, (u, attr) => {
    const t = classify(u, url);
    switch (t.kind) {
      case 'keep':
        return u;
      case 'page':
        return seen.has(t.file) ? relativePath(file, t.file) + t.hash : null;
      case 'client':
        return relativePath(file, t.file) + t.search + t.hash;
      case 'image': {
        if (images === 'none') return attr === 'src' ? NO_IMAGE : null;
        const rel = c.manifest[t.runId]?.[t.sampleId]?.[t.image];
        return rel ? relativePath(file, rel) : attr === 'src' ? NO_IMAGE : null;
      }
      case 'asset':
        return c.files.has(t.file) ? relativePath(file, t.file) : null;
      default:
        return null;
    }
  });
  const runM = /^runs\/([^/]+?)(--.*)?\.html$/.exec(file);
  if (runM) {
    const id = decodeURIComponent(runM[1]);
    html = html.replace(/(<h1[^>]*>[\s\S]*?<\/h1>)/, `$1<p class="muted" data-testid="provenance"><a href="${relativePath(file, `provenance/${id}.run.json`)}">provenance (run.json)</a></p>`);
  }
  html = html.replace(/<\/body>/i, `${scriptTags(file)}</body>`);
  return scrubPaths(html, c.plan.rules);
}

/** Compare and the image browser: the leaderboard's shell with the snapshot script's mount point as its main. */
function writeShellPages(shell: string, write: WriteFile): void {
  for (const [file, page] of [
    ['compare.html', 'compare'],
    ['browse.html', 'browse'],
  ] as const) {
    write(file, shell.replace(/<main\b([^>]*)>[\s\S]*<\/main>/, `<main$1><style>${SHELL_CSS}</style><div id="refbench-static" data-page="${page}"><p class="muted">Loading…</p></div><noscript>This page needs JavaScript.</noscript></main>`).replace(/<title>[^<]*<\/title>/, `<title>${page === 'compare' ? 'Compare' : 'Image browser'} · refbench</title>`), 'pages');
  }
}

/** Data: one script per benchmark (values, images) and an index. */
function writeData(benches: Awaited<ReturnType<typeof readStaticData>>, manifest: Crawl['manifest'], plan: SnapshotPlan, write: WriteFile): void {
  const index: Record<string, string> = {};
  for (const b of benches) {
    for (const r of b.runs) index[r.runId] = b.key;
    // Per-sample facts the runs share (ids, input hashes, LQ/GT/reference images) once, per-run values per run (pack.ts).
    write(`data/${b.key}.js`, `(window.REFBENCH_DATA ??= {})[${JSON.stringify(b.key)}] = ${JSON.stringify(scrubJson(packBench(b, manifest), plan.rules))};\n`, 'data');
  }
  write('data/index.js', `window.REFBENCH_INDEX = ${JSON.stringify(scrubJson({ runs: index, benchmarks: benches.map((b) => ({ key: b.key, name: b.name, runs: b.runs.map((r) => r.runId) })), images: plan.images }, plan.rules))};\n`, 'data');
}

/** Provenance: run.json with absolute paths removed. */
function writeProvenance(plan: SnapshotPlan, write: WriteFile): void {
  for (const id of plan.runIds) {
    const raw = JSON.parse(readFileSync(new RunStore(join(runsRoot(plan.resultsDir), id)).runJsonPath, 'utf8')) as unknown;
    write(`provenance/${id}.run.json`, `${JSON.stringify(scrubJson(raw, plan.rules), null, 2)}\n`, 'provenance');
  }
}

/** Bytes and files per kind and in all. */
function sizeReport(files: ReadonlyMap<string, { bytes: number; kind: string }>, problems: readonly string[]): SizeReport {
  const kinds: SizeReport['kinds'] = {};
  let bytes = 0;
  for (const f of files.values()) {
    const k = (kinds[f.kind] ??= { bytes: 0, files: 0 });
    k.bytes += f.bytes;
    k.files++;
    bytes += f.bytes;
  }
  return { kinds, total: { bytes, files: files.size }, problems };
}

/** The script tags every page ends with: the data index and the snapshot's script. */
function scriptTags(file: string): string {
  return `<script src="${relativePath(file, 'data/index.js')}"></script><script src="${relativePath(file, 'assets/static.js')}"></script>`;
}

/** Bundles static/client/main.ts (and the statistics code it imports) into one classic script. */
async function bundleClient(): Promise<string> {
  const esbuild = await import('esbuild');
  const r = await esbuild.build({
    entryPoints: [join(import.meta.dirname, 'client', 'main.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return r.outputFiles[0].text;
}

/**
 * Checks every written file for the folders of `rules` (as bytes, so images and scripts are checked too).
 * @throws Error naming the files and the path found.
 */
export function assertNoLocalPaths(out: string, rules: readonly ScrubRule[]): void {
  const bad: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const buf = readFileSync(p);
        for (const r of rules) if (buf.includes(`${r.path}/`) || buf.includes(`${r.path}"`)) bad.push(`${p.slice(out.length + 1)} (names ${r.as})`);
      }
    }
  };
  walk(out);
  if (bad.length) throw new Error(`the snapshot still names local paths, refusing it: ${bad.slice(0, 10).join(', ')}`);
}

/** The size report as lines of text (per kind, then the total). */
export function formatSizeReport(r: SizeReport): string {
  const mb = (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(1)} kB`);
  const rows = Object.entries(r.kinds).sort((a, b) => b[1].bytes - a[1].bytes);
  const w = Math.max(...rows.map(([k]) => k.length), 5);
  return [
    ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${mb(v.bytes).padStart(9)}  ${v.files} file(s)`),
    `  ${'total'.padEnd(w)}  ${mb(r.total.bytes).padStart(9)}  ${r.total.files} file(s)`,
    ...r.problems.map((p) => `  not rendered: ${p}`),
  ].join('\n');
}
