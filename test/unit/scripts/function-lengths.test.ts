// scripts/function-lengths.ts: counts every kind of function (nested ones too) from its first token to its last,
// names arrows by what they are assigned to, and src/lib/server has no function over 80 lines (issue 18).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { functionLengths, longFunctions } from '../../../scripts/function-lengths.ts';
import { REPO_ROOT } from '../../../src/lib/server/paths.ts';

const tmp = mkdtempSync(join(tmpdir(), 'function-lengths-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A function body of `n` lines in all (the header line, n - 2 statements, the closing brace). */
const body = (n: number) => `{\n${'  x++;\n'.repeat(n - 2)}}`;

describe('function lengths', () => {
  it('measures declarations, methods, constructors, accessors, arrows and function expressions', () => {
    const text = [
      '/** doc comment: not counted */',
      `export function decl() ${body(4)}`,
      'class C {',
      `  constructor() ${body(3)}`,
      `  method() ${body(5)}`,
      `  get acc() ${body(3)}`,
      '}',
      `const arrow = () => ${body(6)};`,
      `const obj = { prop: function () ${body(3)} };`,
      'const short = (a: number) => a + 1;',
      'declare function noBody(): void;',
    ].join('\n');
    const got = functionLengths(text).map((f) => [f.name, f.line, f.lines]);
    expect(got).toEqual([
      ['decl', 2, 4],
      ['constructor', 7, 3],
      ['method', 10, 5],
      ['acc', 15, 3],
      ['arrow', 19, 6],
      ['prop', 25, 3],
      ['short', 28, 1],
    ]);
  });

  it('counts a nested function on its own and inside the one around it', () => {
    const text = `function outer() {\n  const inner = () => ${body(10)};\n  return inner;\n}\n`;
    expect(functionLengths(text).map((f) => [f.name, f.lines])).toEqual([
      ['outer', 13],
      ['inner', 10],
    ]);
  });

  it('lists only the functions over the limit in a folder, longest first', () => {
    const dir = join(tmp, 'tree');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'a.ts'), `export function a81() ${body(81)}\nexport function a80() ${body(80)}\n`);
    writeFileSync(join(dir, 'sub', 'b.ts'), `export const b90 = () => ${body(90)};\n`);
    writeFileSync(join(dir, 'sub', 'c.d.ts'), `export function skipped(): void;\n`);
    expect(longFunctions(dir, 80).map((f) => `${f.file}:${f.line} ${f.name} ${f.lines}`)).toEqual(['sub/b.ts:1 b90 90', 'a.ts:1 a81 81']);
    expect(longFunctions(dir, 90)).toEqual([]);
  });

  it('src/lib/server has no function longer than 80 lines', () => {
    expect(longFunctions(join(REPO_ROOT, 'src/lib/server'), 80).map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`)).toEqual([]);
  });
});
