/**
 * @file Dead-link check for the docs: every relative Markdown link and image in README.md and docs/*.md must name
 * an existing file (or folder), and a `#anchor` must name a heading of its target page (GitHub's heading slugs).
 * Links inside code spans and fenced code blocks are not links; absolute URLs (http:, https:, mailto:) are not
 * checked (no network).
 *
 *   npx tsx scripts/check-doc-links.ts        # prints every dead link as file:line: link (why); exit 1 if any
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One dead link. */
export interface DeadLink {
  readonly file: string;
  readonly line: number;
  readonly link: string;
  readonly why: string;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped (hyphens and underscores kept), spaces → '-'. */
export function headingSlug(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The text with code blocks and inline code blanked (same line count, so line numbers stay right). */
function withoutCode(text: string): string {
  const lines = text.split('\n');
  let fence: string | null = null;
  return lines
    .map((l) => {
      const m = /^\s*(```|~~~)/.exec(l);
      if (fence) {
        if (m && m[1] === fence) fence = null;
        return '';
      }
      if (m) {
        fence = m[1];
        return '';
      }
      return l.replace(/`[^`]*`/g, (s) => ' '.repeat(s.length));
    })
    .join('\n');
}

/** Anchors of a Markdown file's headings (duplicates get -1, -2 … as on GitHub). */
function anchors(file: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fence = false;
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    if (/^\s*(```|~~~)/.test(l)) fence = !fence;
    const m = fence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(l);
    if (!m) continue;
    const base = headingSlug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

/** Dead relative links of one Markdown file. */
export function deadLinksIn(file: string): DeadLink[] {
  const out: DeadLink[] = [];
  const text = withoutCode(readFileSync(file, 'utf8'));
  text.split('\n').forEach((l, i) => {
    // [text](target) and ![alt](target); the target ends at the first space (an optional "title" may follow).
    for (const m of l.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const link = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // http:, https:, mailto:
      const [pathPart, anchor] = link.split('#', 2) as [string, string | undefined];
      const target = pathPart ? resolve(dirname(file), decodeURI(pathPart)) : file;
      if (!existsSync(target)) {
        out.push({ file, line: i + 1, link, why: 'no such file' });
        continue;
      }
      if (anchor !== undefined && statSync(target).isFile() && target.endsWith('.md') && !anchors(target).has(anchor)) {
        out.push({ file, line: i + 1, link, why: `no heading with anchor #${anchor}` });
      }
    }
  });
  return out;
}

/** README.md and every docs/*.md under `root`. */
export function docFiles(root: string): string[] {
  const docs = join(root, 'docs');
  return [join(root, 'README.md'), ...readdirSync(docs).filter((f) => f.endsWith('.md')).sort().map((f) => join(docs, f))].filter((f) => existsSync(f));
}

/** Every dead relative link of README.md and docs/*.md under `root`. */
export function deadLinks(root: string): DeadLink[] {
  return docFiles(root).flatMap(deadLinksIn);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const dead = deadLinks(root);
  for (const d of dead) process.stdout.write(`${relative(root, d.file)}:${d.line}: ${d.link} (${d.why})\n`);
  process.stdout.write(dead.length ? `${dead.length} dead link(s)\n` : `no dead links in ${docFiles(root).length} files\n`);
  process.exitCode = dead.length ? 1 : 0;
}
