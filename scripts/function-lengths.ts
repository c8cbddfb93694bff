/**
 * @file Lists the functions of a folder's TypeScript files that are longer than a limit (issue 18: no function in
 * src/lib/server longer than about 80 lines). Every function counts, nested ones too: declarations, methods,
 * constructors, accessors, function expressions and arrow functions. A function's length is its lines from its
 * first token (after its doc comment) to its last, both included; a nested function's lines also count in the
 * function around it.
 *
 * Usage: `npx tsx scripts/function-lengths.ts [folder=src/lib/server] [limit=80]`; prints each function over the
 * limit as `path:line name (N lines)`, longest first, and exits 1 if there is one.
 * Test: test/unit/scripts/function-lengths.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** One function: where it starts (1-based line), its name (`<anonymous>` when it has none) and its length. */
export interface FunctionLength {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly lines: number;
}

/** A function's name: its own, or that of the variable, property or parameter it is assigned to. */
function nameOf(n: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(n)) return 'constructor';
  if (n.name) return n.name.getText(sf);
  const p = n.parent;
  if ((ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.name) return p.name.getText(sf);
  return '<anonymous>';
}

/** The length of every function of one file's text. */
export function functionLengths(text: string, file = 'x.ts'): FunctionLength[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: FunctionLength[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const f = n as ts.FunctionLikeDeclaration;
      const first = sf.getLineAndCharacterOfPosition(f.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(f.getEnd()).line;
      out.push({ file, line: first + 1, name: nameOf(f, sf), lines: last - first + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listSources(p));
    else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

/** The functions of the folder's files longer than `limit` lines, longest first (paths relative to `dir`). */
export function longFunctions(dir: string, limit: number): FunctionLength[] {
  const root = resolve(dir);
  return listSources(root)
    .flatMap((p) => functionLengths(readFileSync(p, 'utf8'), relative(root, p)))
    .filter((f) => f.lines > limit)
    .sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? 'src/lib/server';
  const limit = Number(process.argv[3] ?? 80);
  if (!Number.isInteger(limit) || limit < 1) {
    console.error(`function-lengths: the limit must be a positive whole number of lines, got '${process.argv[3]}'`);
    process.exit(2);
  }
  const long = longFunctions(dir, limit);
  for (const f of long) console.log(`${join(dir, f.file)}:${f.line} ${f.name} (${f.lines} lines)`);
  if (long.length) {
    console.log(`${long.length} function(s) in ${dir} longer than ${limit} lines`);
    process.exit(1);
  }
  console.log(`no function in ${dir} is longer than ${limit} lines`);
}
