/**
 * The dashboard cannot generate a benchmark: starting from every route and server hook, the static and dynamic
 * imports never reach the generator (`datasets/synthfaces/generate.ts`) or the materialise capability. Opening
 * datasets (the read-only registry) is reachable, as it must be for the run pages.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../../../..');
const SRC = join(REPO, 'src');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Module files imported by `file` (relative and `$lib/` specifiers; `import x from`, `import(...)`, `export ... from`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]);
  const out: string[] = [];
  for (const s of specs) {
    let p: string | undefined;
    if (s.startsWith('$lib/')) p = join(SRC, 'lib', s.slice(5));
    else if (s.startsWith('.')) p = resolve(dirname(file), s);
    if (!p) continue;
    const hit = [p, `${p}.ts`, join(p, 'index.ts')].find((c) => existsSync(c) && !c.endsWith('/'));
    if (hit && /\.(ts|svelte)$/.test(hit)) out.push(hit);
  }
  return out;
}

function reachable(entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...importsOf(f));
  }
  return new Set([...seen].map((f) => relative(SRC, f)));
}

describe('dashboard is read-only by construction', () => {
  const entries = [...filesUnder(join(SRC, 'routes')).filter((f) => /\.(ts|svelte)$/.test(f)), join(SRC, 'hooks.server.ts')];
  const graph = reachable(entries);

  it('reaches the read-only dataset registry and the synthfaces reader', () => {
    expect(graph).toContain('lib/server/dashboard/run-page.ts');
    expect(graph).toContain('lib/server/datasets/index.ts');
    expect(graph).toContain('lib/server/datasets/synthfaces.ts');
  });

  it('never reaches benchmark generation', () => {
    for (const m of ['lib/server/datasets/synthfaces/generate.ts', 'lib/server/datasets/materialise.ts', 'lib/server/runner/evaluate.ts']) expect(graph).not.toContain(m);
  });

  it('reads thumbnails but never reaches the code that makes them', () => {
    expect(graph).toContain('lib/server/results/thumbs.ts');
    expect(graph).not.toContain('lib/server/results/thumbs-write.ts');
  });
});
