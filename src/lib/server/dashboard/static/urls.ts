/**
 * @file The static snapshot's addressing (`refbench dashboard --static`, docs/dashboard.md): which file of the
 * snapshot each URL of the live dashboard becomes, relative links between those files, rewriting the `href`/`src`/
 * `action` attributes of a rendered page, and scrubbing the making machine's absolute paths out of text.
 * Pure functions (no I/O), so every rule is unit-tested (test/unit/server/dashboard/static/urls.test.ts).
 */

/** Where a live dashboard URL goes in the snapshot. */
export type Target =
  /** A server-rendered page saved as a file (the leaderboard, run pages, paper, fusion). */
  | { readonly kind: 'page'; readonly file: string; readonly url: string; readonly hash: string }
  /** A page the snapshot's own script draws (compare, browse): the file, with the live query and fragment kept. */
  | { readonly kind: 'client'; readonly file: string; readonly search: string; readonly hash: string }
  /** An image of a sample (`thumb`: the 256-px thumbnail route; otherwise the full image). */
  | { readonly kind: 'image'; readonly runId: string; readonly sampleId: string; readonly image: string; readonly thumb: boolean; readonly url: string }
  /** A build asset (CSS, fonts): copied under the same relative path. */
  | { readonly kind: 'asset'; readonly file: string; readonly url: string }
  /** Another site, a mailto:, an in-page anchor: left as written. */
  | { readonly kind: 'keep' }
  /** A URL of the dashboard that the snapshot has no file for (made inert). */
  | { readonly kind: 'none' };

/** Server-rendered routes saved as pages (first path segment; '' is the leaderboard). */
const PAGE_ROUTES = new Set(['', 'paper', 'fusion']);
/** Routes drawn in the browser by the snapshot's script. */
const CLIENT_ROUTES = new Set(['compare', 'browse']);

/**
 * A file-name-safe form of a query string: `[A-Za-z0-9._,=-]` kept, every other byte as `~` + two hex digits (so
 * two different queries never share a file, and no `%` or `?` reaches a static host's path decoding).
 */
export function queryStem(search: string): string {
  const q = search.startsWith('?') ? search.slice(1) : search;
  let out = '';
  for (const b of new TextEncoder().encode(q)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9._,=-]/.test(c) ? c : `~${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The snapshot file of a server-rendered page: `index.html`, `paper.html`, `runs/<id>.html`, `paper--<query>.html`. */
export function pageFile(pathname: string, search: string): string {
  const segs = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const stem = segs.length === 0 ? 'index' : segs.map((s) => queryStem(s)).join('/');
  const sorted = new URLSearchParams(search);
  sorted.sort();
  const q = sorted.toString();
  return `${stem}${q ? `--${queryStem(q)}` : ''}.html`;
}

/**
 * Classifies `href` as found on the page at `pageUrl` (both resolved against the live dashboard's origin).
 */
export function classify(href: string, pageUrl: string): Target {
  if (href.startsWith('#')) return { kind: 'keep' };
  let u: URL;
  try {
    u = new URL(href, pageUrl);
  } catch {
    return { kind: 'none' };
  }
  if (u.origin !== new URL(pageUrl).origin) return { kind: 'keep' };
  const segs = u.pathname.split('/').filter(Boolean);
  if (segs[0] === '_app' || /\.(css|woff2?|ttf|svg|png|ico|webp|jpg)$/.test(u.pathname)) {
    if (segs[0] !== '_app' && segs.length !== 1) return { kind: 'none' };
    return { kind: 'asset', file: segs.map(decodeURIComponent).map(queryStem).join('/'), url: u.origin + u.pathname };
  }
  // /api/runs/<runId>/(thumbs|images)/<sampleId>/<kind>
  if (segs[0] === 'api' && segs[1] === 'runs' && segs.length === 6 && (segs[3] === 'thumbs' || segs[3] === 'images')) {
    return { kind: 'image', runId: decodeURIComponent(segs[2]), sampleId: decodeURIComponent(segs[4]), image: decodeURIComponent(segs[5]), thumb: segs[3] === 'thumbs', url: u.origin + u.pathname };
  }
  const first = segs[0] ?? '';
  if (CLIENT_ROUTES.has(first) && segs.length === 1) return { kind: 'client', file: `${first}.html`, search: u.search, hash: u.hash };
  if ((PAGE_ROUTES.has(first) && segs.length <= 1) || (first === 'runs' && segs.length === 2)) {
    return { kind: 'page', file: pageFile(u.pathname, u.search), url: u.origin + u.pathname + u.search, hash: u.hash };
  }
  return { kind: 'none' };
}

/** The relative URL from the snapshot file `from` to the snapshot file `to` (both relative to the snapshot root, '/'-separated). */
export function relativePath(from: string, to: string): string {
  const a = from.split('/').slice(0, -1);
  const b = to.split('/');
  let i = 0;
  while (i < a.length && i < b.length - 1 && a[i] === b[i]) i++;
  const up = a.length - i;
  // NOTE: no percent-encoding: snapshot file names are made of URL-safe characters only (queryStem).
  return `${'../'.repeat(up)}${b.slice(i).join('/')}` || '.';
}

const ENTITIES: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>' };

/** Decodes the character references an HTML attribute value can hold. */
export function decodeAttr(v: string): string {
  return v.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** Escapes a value for a double-quoted HTML attribute. */
export function encodeAttr(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * Rewrites every `href`, `src` and `action` attribute (double- or single-quoted, as Svelte's SSR writes them) of
 * `html` through `map`, which gets the decoded value and returns the new one (null: drop the attribute's value to
 * an inert one, `#`).
 */
export function rewriteUrls(html: string, map: (url: string, attr: string) => string | null): string {
  return html.replace(/(\s)(href|src|action)=("([^"]*)"|'([^']*)')/gi, (_m, sp: string, attr: string, _q, dq?: string, sq?: string) => {
    const next = map(decodeAttr(dq ?? sq ?? ''), attr.toLowerCase());
    return `${sp}${attr}="${encodeAttr(next ?? '#')}"`;
  });
}

/**
 * Removes SvelteKit's client from a server-rendered page: the module preloads and the inline start script (the
 * snapshot's pages are plain HTML; their interactive parts come from the snapshot's own script).
 */
export function stripSvelteKitClient(html: string): string {
  return html
    .replace(/<link\b[^>]*rel="modulepreload"[^>]*>/gi, '')
    .replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, (s) => (/__sveltekit|kit\.start|\/_app\//.test(s) ? '' : s));
}

/** The machine's folders to remove from text, with what each becomes (the longest, most specific first). */
export interface ScrubRule {
  readonly path: string;
  /** What the folder becomes; '…' drops the folders below it too (`…/<last segment>`). */
  readonly as: string;
}

/**
 * The rules for a snapshot: the results folder becomes its base name (paths inside it are the snapshot's own
 * layout); the checkout `[refbench]` (its layout is public); anything under $HOME or the temp folder `…/<last
 * segment>` (the folder names there are the user's).
 */
export function scrubRules(o: { resultsDir: string; repoRoot: string; home?: string; tmp?: string; aliases?: readonly string[] }): ScrubRule[] {
  const base = o.resultsDir.replace(/\/+$/, '').split('/').pop() || 'results';
  const rules: ScrubRule[] = [
    // aliases: other folders the results were rendered from (a view of some runs: view.ts).
    ...[o.resultsDir, ...(o.aliases ?? [])].map((p) => ({ path: p.replace(/\/+$/, ''), as: base })),
    { path: o.repoRoot.replace(/\/+$/, ''), as: '[refbench]' },
    ...(o.home && o.home.length > 1 ? [{ path: o.home.replace(/\/+$/, ''), as: '…' }] : []),
    ...(o.tmp && o.tmp.length > 1 ? [{ path: o.tmp.replace(/\/+$/, ''), as: '…' }] : []),
  ];
  return rules.filter((r) => r.path.startsWith('/') && r.path.length > 1).sort((a, b) => b.path.length - a.path.length);
}

/**
 * Replaces each rule's folder where it appears as a path (followed by '/', a quote, whitespace, a separator or the
 * end), longest folder first, then any remaining absolute path of two or more segments by `…/<its last segment>`
 * (URLs, `a/b` relative paths and a lone `/x` are left alone).
 */
export function scrubPaths(text: string, rules: readonly ScrubRule[]): string {
  let out = text;
  for (const r of rules) {
    const esc = r.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (r.as === '…') out = out.replace(new RegExp(`${esc}(?=[/"'\\s,;:)<>\\]}]|$)((?:/[^\\s"'/<>]+)*)`, 'g'), (_m, rest: string) => `…${rest ? `/${rest.split('/').pop()}` : ''}`);
    else out = out.replace(new RegExp(`${esc}(?=[/"'\\s,;:)<>\\]}]|$)`, 'g'), r.as);
  }
  return out.replace(/(^|[\s"'=(,[{:;>])\/(?:[^\s"'/<>]+\/)+([^\s"'/<>)\]},;]*)/g, (_m, pre: string, last: string) => `${pre}…/${last}`);
}

/** Deep-copies a JSON value with `scrubPaths` applied to every string (keys included). */
export function scrubJson(v: unknown, rules: readonly ScrubRule[]): unknown {
  if (typeof v === 'string') return scrubPaths(v, rules);
  if (Array.isArray(v)) return v.map((x) => scrubJson(x, rules));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [scrubPaths(k, rules), scrubJson(x, rules)]));
  return v;
}
