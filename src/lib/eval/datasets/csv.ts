/**
 * @file RFC 4180 CSV parsing (runtime-neutral): quoted fields, embedded commas/newlines, `""` escapes, CRLF or
 * LF line ends, an optional UTF-8 BOM, a trailing newline. Every record keeps the 1-based line number it
 * starts on, so errors can name `file:line`.
 *
 * NOTE: written here rather than taken from csv-parse for its error rules: every malformed record is reported with
 * the line it STARTS on (a quoted field may span lines) and parsing carries on with the next record, so one
 * `refbench validate` lists all of a dataset's problems. csv-parse stops at its first error by default; with
 * `skip_records_with_error` it carries on, but reports where it noticed the error rather than where the record
 * began, and its documentation warns that it cannot tell a record delimiter from one inside a quoted field when
 * resuming. This module also stays runtime-neutral (eval/ imports no node:* and no I/O package).
 */
import type { DatasetProblem } from './types.ts';

export interface CsvRecord {
  /** 1-based line number of the record's first character in the file. */
  readonly line: number;
  readonly fields: readonly string[];
}

export interface CsvTable {
  readonly header: readonly string[];
  readonly headerLine: number;
  readonly records: readonly CsvRecord[];
}

/**
 * Splits `text` into records. Blank lines are skipped. Syntax problems (a quote in an unquoted field, text after a
 * closing quote, an unterminated quoted field) are collected, not thrown.
 * @param file named in every problem.
 */
export function parseCsvRecords(text: string, file: string): { records: CsvRecord[]; problems: DatasetProblem[] } {
  const records: CsvRecord[] = [];
  const problems: DatasetProblem[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let line = 1;
  while (i < n) {
    const startLine = line;
    // Blank line.
    if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n')) {
      i += text[i] === '\r' ? 2 : 1;
      line++;
      continue;
    }
    const fields: string[] = [];
    let bad: string | undefined;
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        let closed = false;
        while (i < n) {
          const ch = text[i];
          if (ch === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (ch === '\n') line++;
          field += ch;
          i++;
        }
        if (!closed) bad ??= 'unterminated quoted field';
        // After the closing quote only a separator or a line end may follow.
        if (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          bad ??= `unexpected character '${text[i]}' after a closing quote`;
          while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') field += text[i++];
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          if (text[i] === '"') bad ??= 'a double quote inside an unquoted field (quote the whole field)';
          field += text[i++];
        }
      }
      fields.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') {
      i++;
      line++;
    }
    if (bad) problems.push({ file, line: startLine, message: `malformed CSV: ${bad}` });
    else records.push({ line: startLine, fields });
  }
  return { records, problems };
}

/**
 * Parses a CSV with a header row and checks that the header is exactly `expected` (in order) and that every
 * record has that many fields.
 */
export function parseCsvTable(
  text: string,
  file: string,
  expected: readonly string[],
): { table: CsvTable | undefined; problems: DatasetProblem[] } {
  const { records, problems } = parseCsvRecords(text, file);
  if (records.length === 0) {
    problems.push({ file, line: 1, message: `empty CSV: expected a header ${expected.join(',')}` });
    return { table: undefined, problems };
  }
  const [head, ...rest] = records;
  const header = head.fields.map((f) => f.trim());
  if (header.length !== expected.length || header.some((h, k) => h !== expected[k])) {
    problems.push({ file, line: head.line, message: `header is '${header.join(',')}', expected '${expected.join(',')}'` });
    return { table: undefined, problems };
  }
  const good: CsvRecord[] = [];
  for (const r of rest) {
    if (r.fields.length !== expected.length) {
      problems.push({ file, line: r.line, message: `expected ${expected.length} fields (${expected.join(',')}), got ${r.fields.length}` });
    } else good.push(r);
  }
  return { table: { header, headerLine: head.line, records: good }, problems };
}
