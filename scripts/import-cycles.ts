/**
 * @file Finds runtime import cycles among a folder's modules (default: src/). Counts every import that exists when
 * the code runs: static `import ... from`, side-effect `import '...'`, re-exports `export ... from`, and dynamic
 * `import('...')` with a literal path. Ignores `import type` / `export type` (erased before running). Under the
 * project's `verbatimModuleSyntax`, `import { type A } from 'x'` stays as `import {} from 'x'` and so counts.
 * Follows relative paths and the `$lib/` alias (src/lib); packages and SvelteKit's virtual modules are leaves.
 *
 * Usage: `npx tsx scripts/import-cycles.ts [folder]`; prints each cycle and exits 1 if there is one.
 * Test: test/unit/scripts/import-cycles.test.ts (src has none; a planted cycle is found).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Module path (absolute) → the modules it imports at runtime (absolute, inside the folder). */
export type ImportGraph = Map<string, string[]>;

const SOURCE = /\.(ts|js|mjs|svelte)$/;

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listSources(p));
    else if (SOURCE.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The runtime import specifiers of one file's TypeScript/JavaScript text. */
export function runtimeSpecifiers(text: string, fileName = 'x.ts'): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const specs: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      if (!n.importClause?.isTypeOnly) specs.push(n.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      if (!n.isTypeOnly) specs.push(n.moduleSpecifier.text);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const a = n.arguments[0];
      if (a && (ts.isStringLiteral(a) || ts.isNoSubstitutionTemplateLiteral(a))) specs.push(a.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return specs;
}

/** The text of a .svelte file's `<script>` blocks; other files whole. */
function scriptText(path: string): string {
  const text = readFileSync(path, 'utf8');
  if (!path.endsWith('.svelte')) return text;
  return [...text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n');
}

/** Resolves a specifier from `from` to a file, or undefined for packages and virtual modules. */
function resolveSpecifier(spec: string, from: string, libDir: string): string | undefined {
  let base: string;
  if (spec.startsWith('./') || spec.startsWith('../')) base = resolve(dirname(from), spec);
  else if (spec === '$lib' || spec.startsWith('$lib/')) base = join(libDir, spec.slice(4));
  else return undefined;
  const candidates = [base, `${base}.ts`, `${base}.js`, join(base, 'index.ts'), join(base, 'index.js')];
  if (base.endsWith('.js')) candidates.push(base.replace(/\.js$/, '.ts'));
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** The runtime import graph of every module under `dir` (`$lib` = `<dir>/lib` unless given). */
export function importGraph(dir: string, libDir = join(dir, 'lib')): ImportGraph {
  const files = listSources(resolve(dir));
  const inside = new Set(files);
  const graph: ImportGraph = new Map();
  for (const f of files) {
    const deps = runtimeSpecifiers(scriptText(f), f)
      .map((s) => resolveSpecifier(s, f, resolve(libDir)))
      .filter((p): p is string => p !== undefined && inside.has(p));
    graph.set(f, [...new Set(deps)]);
  }
  return graph;
}

/** Every cycle of the graph, each once, as a path that starts and ends at the same module (Tarjan's SCCs). */
export function findCycles(graph: ImportGraph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const sccs: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) sccs.push(scc);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  // One concrete cycle per strongly connected component: walk from its first module until a module repeats.
  return sccs.map((scc) => {
    const members = new Set(scc);
    const start = [...scc].sort()[0];
    const path = [start];
    for (let v = start; ; ) {
      v = (graph.get(v) ?? []).filter((w) => members.has(w)).sort()[0];
      const at = path.indexOf(v);
      if (at >= 0) return [...path.slice(at), v];
      path.push(v);
    }
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = resolve(process.argv[2] ?? 'src');
  const graph = importGraph(dir);
  const cycles = findCycles(graph);
  const edges = [...graph.values()].reduce((n, d) => n + d.length, 0);
  if (!cycles.length) {
    console.log(`${relative(process.cwd(), dir) || '.'}: ${graph.size} modules, ${edges} runtime imports, no import cycle`);
  } else {
    for (const c of cycles) console.log(`cycle: ${c.map((p) => relative(process.cwd(), p)).join(' → ')}`);
    process.exitCode = 1;
  }
}
