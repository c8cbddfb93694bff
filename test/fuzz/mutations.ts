/**
 * @file Test-only: seeded mutations of the files a user can break (run.json, samples.jsonl, eval.jsonl,
 * summary.json, dataset CSVs, images, folders), for the store/dashboard fuzz test. Every mutation is a pure
 * function of the random stream and the file's current content, so a seed replays the same case.
 *
 * Kinds: byte flips, truncation, empty files, deleted / duplicated / swapped / garbage lines, wrong types, huge
 * numbers, NaN/Infinity tokens, unknown keys, missing keys, deep nesting, very long strings, unicode and control
 * characters, path-like values (`../`, absolute, URL-encoded), invalid UTF-8, directories where files should be,
 * symlinks (out of the tree, dangling, loops), named pipes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A uniform [0, 1) stream (mulberry32). */
export type Rand = () => number;

export const int = (r: Rand, n: number): number => Math.floor(r() * n);
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

/** What a file is, which decides the mutations that make sense for it. */
export type FileKind = 'json' | 'jsonl' | 'csv' | 'image';

/** Where mutations may point symlinks and paths: files outside every allowed root. */
export interface Outside {
  readonly secretPng: string;
  readonly passwd: string;
}

/** Values that look like paths out of the tree, however they are spelled. */
export function pathLikeValues(o: Outside): string[] {
  return [
    '../../../../../../etc/passwd',
    '../secret.png',
    'outputs/../../../../../../../../../../' + o.secretPng.slice(1),
    o.secretPng,
    o.passwd,
    '%2e%2e%2f%2e%2e%2fsecret.png',
    '..%2F..%2F..%2Fetc%2Fpasswd',
    '..',
    '.',
    '...png',
    '',
    '/',
    '~/secret.png',
    'file:///etc/passwd',
    'C:\\Windows\\win.ini',
    '..\\..\\secret.png',
    'outputs/s00.png\u0000.txt',
  ];
}

/** Strings that are hard on parsers, terminals and file systems. */
const NASTY_STRINGS = [
  '\u0000\u0001\u001b[31mred\u001b[0m\u007f',
  '\u202eevil\u202c',
  '\ud800', // a lone surrogate
  'é🙂中文\u200b',
  'line1\nline2\r\nline3',
  '"quoted", \'single\', `back`',
  '<script>alert(1)</script>',
  '${process.exit(1)}',
  ' ',
];

/** Raw number tokens JSON does not have or JavaScript turns into non-finite / odd values. */
const NUMBER_TOKENS = ['NaN', 'Infinity', '-Infinity', '1e999', '-1e999', '1e-999', '-0', '0x10', '1_000', '+1', '.5', '9007199254740993', '1e308'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every (parent, key) position inside a JSON value, depth-first. */
function positions(v: Json, out: { parent: Json[] | { [k: string]: Json }; key: string | number }[] = []) {
  if (Array.isArray(v)) v.forEach((c, i) => (out.push({ parent: v, key: i }), positions(c, out)));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) out.push({ parent: v, key: k }), positions(v[k], out);
  return out;
}

const MARK = '"__FUZZ_RAW_TOKEN__"';

/**
 * One structural mutation of a parsed JSON value; returns the new text (raw tokens such as NaN or 5000-deep
 * nesting are spliced in as text) and what was done.
 */
export function mutateJsonValue(r: Rand, value: Json, o: Outside): { text: string; what: string } {
  const pos = positions(value);
  const objects = [value, ...pos.map((p) => (p.parent as Record<string, Json>)[p.key as string])].filter(
    (v): v is { [k: string]: Json } => !!v && typeof v === 'object' && !Array.isArray(v),
  );
  const op = pick(r, ['wrong-type', 'huge-number', 'raw-token', 'unknown-key', 'missing-key', 'deep-nesting', 'long-string', 'nasty-string', 'path-like', 'negative'] as const);
  let raw: string | null = null;
  let what: string = op;
  const set = (v: Json) => {
    if (!pos.length) return void (value = v);
    const p = pick(r, pos);
    (p.parent as Record<string, Json>)[p.key as string] = v;
    what = `${op} at ${String(p.key)}`;
  };
  switch (op) {
    case 'wrong-type':
      set(pick(r, ['a string', 0, -1, 1.5, true, false, null, [], {}, [1, 2], { x: 1 }] as Json[]));
      break;
    case 'huge-number':
      set(pick(r, [1e308, -1e308, Number.MAX_SAFE_INTEGER * 1024, 5e-324, 2 ** 31, -(2 ** 53)]));
      break;
    case 'raw-token':
      raw = pick(r, NUMBER_TOKENS);
      set(MARK);
      what += ` ${raw}`;
      break;
    case 'unknown-key': {
      const obj = objects.length ? pick(r, objects) : null;
      if (obj) obj[pick(r, ['__proto__', 'constructor', 'extra', 'Status', 'sampleid', 'toString'])] = pick(r, [1, 'x', null, { a: [1] }] as Json[]);
      break;
    }
    case 'missing-key': {
      const obj = objects.length ? pick(r, objects) : null;
      const keys = obj ? Object.keys(obj) : [];
      if (obj && keys.length) {
        const k = pick(r, keys);
        delete obj[k];
        what += ` ${k}`;
      }
      break;
    }
    case 'deep-nesting': {
      const depth = pick(r, [200, 5000, 100_000]);
      raw = pick(r, [`${'['.repeat(depth)}${']'.repeat(depth)}`, `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`]);
      set(MARK);
      what += ` ${depth}`;
      break;
    }
    case 'long-string':
      set(pick(r, ['x', 'é', '../', '\u0000']).repeat(pick(r, [10_000, 1_000_000])));
      break;
    case 'nasty-string':
      set(pick(r, NASTY_STRINGS));
      break;
    case 'path-like':
      set(pick(r, pathLikeValues(o)));
      break;
    case 'negative':
      set(pick(r, [-1, -0.5, -1e9, 0]));
      break;
  }
  const text = JSON.stringify(value);
  return { text: raw === null ? text : text.replace(MARK, raw), what };
}

/** Lines of a text file without the final empty element; the trailing newline is remembered by the caller. */
const linesOf = (s: string) => s.split('\n').slice(0, s.endsWith('\n') ? -1 : undefined);

/**
 * Applies one seeded mutation to the file at `path` (of kind `kind`) in place; returns a one-line description
 * (for failure messages).
 */
export function mutateFile(r: Rand, path: string, kind: FileKind, o: Outside): string {
  const exists = existsSync(path) && lstatSync(path).isFile();
  const bytes = exists ? readFileSync(path) : Buffer.alloc(0);
  const generic = ['byte-flip', 'truncate', 'empty', 'invalid-utf8', 'control-chars', 'directory', 'symlink-out', 'symlink-dangling', 'symlink-loop', 'delete', 'fifo'] as const;
  const textual = ['line-delete', 'line-duplicate', 'line-swap', 'line-garbage', 'crlf', 'bom', 'no-final-newline'] as const;
  const structured = ['structure', 'structure', 'structure', 'structure'] as const;
  const csv = ['csv-field', 'csv-field', 'csv-field', 'csv-columns'] as const;
  const ops: readonly string[] =
    kind === 'image' ? [...generic, 'text-as-image', 'byte-flip', 'truncate'] : kind === 'csv' ? [...generic, ...textual, ...csv] : [...generic, ...textual, ...structured];
  const op = pick(r, ops);
  const write = (b: Buffer | string) => writeFileSync(path, b);
  const replaceWith = (make: () => void) => {
    rmSync(path, { recursive: true, force: true });
    mkdirSync(dirname(path), { recursive: true });
    make();
  };
  const text = bytes.toString('utf8');
  const lines = linesOf(text);
  const at = (n: number) => int(r, Math.max(1, n));
  switch (op) {
    case 'byte-flip': {
      const b = Buffer.from(bytes);
      const n = 1 + int(r, 8);
      for (let i = 0; i < n && b.length; i++) b[at(b.length)] ^= 1 << int(r, 8);
      write(b);
      return `${op} ×${n}`;
    }
    case 'truncate': {
      const n = at(bytes.length);
      write(bytes.subarray(0, n));
      return `${op} to ${n} of ${bytes.length} bytes`;
    }
    case 'empty':
      write('');
      return op;
    case 'invalid-utf8':
    case 'control-chars': {
      const i = at(bytes.length);
      const ins = op === 'invalid-utf8' ? Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]) : Buffer.from('\u0000\u0007\u001b[2J\u202e\r', 'utf8');
      write(Buffer.concat([bytes.subarray(0, i), ins, bytes.subarray(i)]));
      return `${op} at ${i}`;
    }
    case 'directory':
      replaceWith(() => (mkdirSync(path), writeFileSync(join(path, 'inner.txt'), 'a file inside a directory that should be a file')));
      return op;
    case 'symlink-out': {
      const target = pick(r, [o.secretPng, o.passwd, dirname(o.secretPng)]);
      replaceWith(() => symlinkSync(target, path));
      return `${op} → ${target}`;
    }
    case 'symlink-dangling':
      replaceWith(() => symlinkSync(join(dirname(path), 'no-such-file-here'), path));
      return op;
    case 'symlink-loop':
      replaceWith(() => symlinkSync(path, path));
      return op;
    case 'delete':
      rmSync(path, { recursive: true, force: true });
      return op;
    case 'fifo':
      replaceWith(() => execFileSync('mkfifo', [path]));
      return `${op} (a named pipe: a reader that opens it blocking would hang)`;
    case 'text-as-image':
      write(pick(r, ['not an image', '\x89PNG\r\n\x1a\n' + 'garbage after the PNG signature', '\xff\xd8\xff garbage after a JPEG signature']));
      return op;
    case 'line-delete':
    case 'line-duplicate':
    case 'line-swap':
    case 'line-garbage':
    case 'crlf':
    case 'bom':
    case 'no-final-newline': {
      const ls = [...lines];
      const i = at(ls.length);
      if (op === 'line-delete') ls.splice(i, 1);
      if (op === 'line-duplicate') ls.splice(i, 0, ls[i] ?? '');
      if (op === 'line-swap' && ls.length > 1) [ls[i], ls[(i + 1) % ls.length]] = [ls[(i + 1) % ls.length], ls[i]];
      if (op === 'line-garbage') ls.splice(i, 0, pick(r, ['garbage', '{', '[]', 'null', '{}', '"str"', '1', ',,,,', '{"sampleId":"s00"}', '\u0000\u0000']));
      let out = ls.join(op === 'crlf' ? '\r\n' : '\n') + (op === 'no-final-newline' ? '' : op === 'crlf' ? '\r\n' : '\n');
      if (op === 'bom') out = `\ufeff${out}`;
      write(out);
      return `${op} at line ${i + 1}`;
    }
    case 'structure': {
      if (kind === 'json') {
        let v: Json;
        try {
          v = JSON.parse(text) as Json;
        } catch {
          return mutateFile(r, path, 'image', o); // already unparseable: fall back to a byte-level mutation
        }
        const m = mutateJsonValue(r, v, o);
        write(m.text + (text.endsWith('\n') ? '\n' : ''));
        return `json ${m.what}`;
      }
      const ls = [...lines];
      const i = at(ls.length);
      let v: Json;
      try {
        v = JSON.parse(ls[i] ?? 'null') as Json;
      } catch {
        return mutateFile(r, path, 'image', o);
      }
      const m = mutateJsonValue(r, v, o);
      ls[i] = m.text.replace(/\n/g, '\\n');
      write(ls.join('\n') + '\n');
      return `jsonl line ${i + 1}: ${m.what}`;
    }
    case 'csv-field': {
      const ls = [...lines];
      const i = at(ls.length);
      const cells = (ls[i] ?? '').split(',');
      const c = at(cells.length);
      const value = pick(r, [
        ...pathLikeValues(o),
        ...NASTY_STRINGS.filter((s) => !s.includes('\n')),
        '"unbalanced',
        '"[\'00000.png\', \'../../secret.png\']"',
        '"[]"',
        '"[\'\']"',
        "\"['00000.png'\"",
        'x'.repeat(100_000),
        '00000.png',
      ]);
      cells[c] = value;
      ls[i] = cells.join(',');
      write(ls.join('\n') + '\n');
      return `csv line ${i + 1} field ${c + 1} = ${JSON.stringify(value.slice(0, 60))}`;
    }
    case 'csv-columns': {
      const ls = [...lines];
      const i = at(ls.length);
      const how = pick(r, ['extra', 'missing', 'rename-header']);
      if (how === 'extra') ls[i] = `${ls[i] ?? ''},extra`;
      if (how === 'missing') ls[i] = (ls[i] ?? '').split(',').slice(0, -1).join(',');
      if (how === 'rename-header') ls[0] = (ls[0] ?? '').replace(/[a-z]_image/, 'GT_Image');
      write(ls.join('\n') + '\n');
      return `csv ${how} column at line ${i + 1}`;
    }
  }
  throw new Error(`unknown mutation ${op}`);
}
