// scripts/import-cycles.ts: src has no runtime import cycle, and the walker finds planted ones (static, dynamic,
// re-export, $lib) while ignoring type-only imports.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCycles, importGraph, runtimeSpecifiers } from '../../../scripts/import-cycles.ts';
import { REPO_ROOT } from '../../../src/lib/server/paths.ts';

const tmp = mkdtempSync(join(tmpdir(), 'import-cycles-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes `files` (path → text) under a fresh folder and returns the cycles, as paths relative to it. */
function cyclesOf(name: string, files: Record<string, string>): string[][] {
  const dir = join(tmp, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return findCycles(importGraph(dir)).map((c) => c.map((p) => relative(dir, p)));
}

describe('import cycles', () => {
  it('src has no runtime import cycle', () => {
    const graph = importGraph(join(REPO_ROOT, 'src'));
    expect(graph.size).toBeGreaterThan(100);
    // The ref-ldm restorer imports its engines, which must not import it back.
    const restorer = join(REPO_ROOT, 'src/lib/server/restorers/ref-ldm/restorer.ts');
    expect(graph.get(restorer)!.map((p) => relative(REPO_ROOT, p))).toContain('src/lib/server/restorers/ref-ldm/torch-engine.ts');
    expect(findCycles(graph).map((c) => c.map((p) => relative(REPO_ROOT, p)).join(' → '))).toEqual([]);
  });

  it('finds a cycle closed by a dynamic import', () => {
    const cycles = cyclesOf('dynamic', {
      'a.ts': "import { b } from './b.ts';\nexport const a = 1 + b;\n",
      'b.ts': "export const b = 2;\nexport async function f() { return (await import('./a.ts')).a; }\n",
    });
    expect(cycles).toEqual([['a.ts', 'b.ts', 'a.ts']]);
  });

  it('finds cycles through re-exports, the $lib alias and index files', () => {
    const cycles = cyclesOf('reexport', {
      'lib/x/index.ts': "export * from './y.ts';\n",
      'lib/x/y.ts': "import '$lib/z.ts';\nexport const y = 1;\n",
      'lib/z.ts': "export { y } from './x';\n",
    });
    expect(cycles).toEqual([['lib/x/index.ts', 'lib/x/y.ts', 'lib/z.ts', 'lib/x/index.ts']]);
  });

  it('ignores import type and export type, but not an inline type specifier (kept under verbatimModuleSyntax)', () => {
    expect(
      cyclesOf('types', {
        'a.ts': "import type { B } from './b.ts';\nexport type { B } from './b.ts';\nexport const a = 1;\n",
        'b.ts': "import { a } from './a.ts';\nexport type B = number;\nexport const b = a;\n",
      }),
    ).toEqual([]);
    expect(runtimeSpecifiers("import { type A } from './a.ts';")).toEqual(['./a.ts']);
  });

  it('reads the script blocks of .svelte files', () => {
    const cycles = cyclesOf('svelte', {
      'lib/C.svelte': "<script lang=\"ts\">\n  import { s } from './s.ts';\n</script>\n<p>{s}</p>\n",
      'lib/s.ts': "export const s = 's';\nexport const load = () => import('./C.svelte');\n",
    });
    expect(cycles).toEqual([['lib/C.svelte', 'lib/s.ts', 'lib/C.svelte']]);
  });
});
