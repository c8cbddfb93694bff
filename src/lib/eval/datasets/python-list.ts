/**
 * @file Parses a Python list literal of strings, as written by pandas for FFHQ-Ref's `ref_image` column and read
 * by the reference code with `ast.literal_eval` (e.g. `['00001.png', '00002.png']`). A small tokenizer:
 * never `JSON.parse` (the lists use single quotes). Runtime-neutral.
 *
 * Accepted: `[]`, single- or double-quoted strings, Python escapes (`\\`, `\'`, `\"`, `\n`, `\t`, `\r`, `\xhh`,
 * `\uXXXX`, `\UXXXXXXXX`, unknown escapes kept verbatim as Python does), whitespace anywhere between tokens,
 * a trailing comma, adjacent string literals concatenated ('a' 'b' → 'ab'). Rejected with a positioned message:
 * anything else (numbers, nested lists, unterminated strings, missing commas, trailing text).
 */

/** A parse error; `column` is 1-based within the literal. */
export class PythonListError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(`${message} (at character ${column})`);
    this.name = 'PythonListError';
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0',
};

/**
 * Parses `text` as a Python list of str.
 * @throws PythonListError naming the character position of the problem.
 */
export function parsePythonStringList(text: string): string[] {
  let i = 0;
  const n = text.length;
  const ws = (): void => {
    while (i < n && /\s/.test(text[i])) i++;
  };
  const fail = (msg: string): never => {
    throw new PythonListError(msg, i + 1);
  };
  const readString = (): string => {
    const q = text[i];
    if (text.startsWith(q.repeat(3), i)) fail('triple-quoted strings are not supported');
    i++;
    let out = '';
    for (;;) {
      if (i >= n) fail(`unterminated string (missing closing ${q})`);
      const ch = text[i];
      if (ch === q) {
        i++;
        return out;
      }
      if (ch === '\n') fail('newline inside a string');
      if (ch === '\\') {
        const e = text[i + 1];
        if (e === undefined) fail('dangling backslash');
        if (e in SIMPLE_ESCAPES) {
          out += SIMPLE_ESCAPES[e];
          i += 2;
        } else if (e === 'x' || e === 'u' || e === 'U') {
          const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
          const hex = text.slice(i + 2, i + 2 + len);
          if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) fail(`bad \\${e} escape`);
          out += String.fromCodePoint(parseInt(hex, 16));
          i += 2 + len;
        } else {
          // Python keeps unknown escapes verbatim (with a DeprecationWarning), e.g. '\d' → '\\d'.
          out += `\\${e}`;
          i += 2;
        }
        continue;
      }
      out += ch;
      i++;
    }
  };

  ws();
  if (text[i] !== '[') fail(`expected '[' to start a list, got ${text[i] === undefined ? 'end of text' : `'${text[i]}'`}`);
  i++;
  const items: string[] = [];
  ws();
  if (text[i] === ']') {
    i++;
  } else {
    for (;;) {
      ws();
      if (text[i] !== "'" && text[i] !== '"') fail(`expected a quoted string, got ${text[i] === undefined ? 'end of text' : `'${text[i]}'`}`);
      let s = readString();
      ws();
      while (text[i] === "'" || text[i] === '"') {
        s += readString();
        ws();
      }
      items.push(s);
      if (text[i] === ',') {
        i++;
        ws();
        if (text[i] === ']') {
          i++;
          break;
        }
        continue;
      }
      if (text[i] === ']') {
        i++;
        break;
      }
      fail(`expected ',' or ']', got ${text[i] === undefined ? 'end of text' : `'${text[i]}'`}`);
    }
  }
  ws();
  if (i < n) fail(`unexpected text after the list: '${text.slice(i, i + 20)}'`);
  return items;
}
