/**
 * @file Reading the results store's JSON and JSONL files, and validating records before they are written: the
 * writers produce exactly what the readers accept. A reader ignores a final line without '\n' (a torn write) and
 * reports (never crashes on) a corrupt line, naming file and line.
 */
import type { z } from 'zod';
import { assertSchemaVersion, describeIssues } from '../../eval/results/schema.ts';
import { printable } from '../../format.ts';
import { readStoreText } from './atomic.ts';

/** A line the reader could not use; `line` is 1-based, absent when the whole file is unusable. */
export interface JsonlProblem {
  readonly file: string;
  readonly line?: number;
  readonly message: string;
}

/** `file:line: message` (or `file: message` for a whole file) for a store problem: the one way they are shown. */
export function problemText(p: JsonlProblem): string {
  return `${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.message}`;
}

export interface JsonlRead<T> {
  readonly records: { readonly line: number; readonly value: T }[];
  readonly problems: JsonlProblem[];
  /** True when the file ended with an incomplete line (ignored). */
  readonly tornTail: boolean;
}

/**
 * Reads a JSONL file, validating each line with `schema`. Missing file → empty. A final line without '\n' is a
 * torn write and is ignored; any other bad line becomes a `problem` naming file and line number.
 */
export function readJsonl<S extends z.ZodType>(path: string, schema: S): JsonlRead<z.output<S>> {
  let text: string | null;
  try {
    text = readStoreText(path);
  } catch (err) {
    // The whole file is unusable (a directory, a link, a pipe...): one problem naming it; the run's other files
    // are still read.
    return { records: [], problems: [{ file: path, message: (err as Error).message.slice(path.length + 2) }], tornTail: false };
  }
  if (text === null) return { records: [], problems: [], tornTail: false };
  const parts = text.split('\n');
  const tornTail = parts[parts.length - 1] !== '';
  parts.pop(); // either '' after the final '\n', or the torn fragment
  const records: { line: number; value: z.output<S> }[] = [];
  const problems: JsonlProblem[] = [];
  parts.forEach((s, i) => {
    if (s.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(s);
    } catch (err) {
      problems.push({ file: path, line: i + 1, message: printable(`not valid JSON (${(err as Error).message})`) });
      return;
    }
    const r = schema.safeParse(json);
    if (!r.success) {
      problems.push({ file: path, line: i + 1, message: printable(describeIssues(r.error)) });
      return;
    }
    records.push({ line: i + 1, value: r.data });
  });
  return { records, problems, tornTail };
}

/** Reads and validates a JSON file, rejecting unknown schema versions; a missing file is an error. */
export function readJsonFile<S extends z.ZodType>(path: string, schema: S): z.output<S> {
  const r = readJsonFileIfAny(path, schema);
  if (r === null) throw new Error(`${path}: file not found`);
  return r;
}

/** As `readJsonFile`, but null when the file does not exist (a dangling link or a directory is an error). */
export function readJsonFileIfAny<S extends z.ZodType>(path: string, schema: S): z.output<S> | null {
  const text = readStoreText(path);
  if (text === null) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(printable(`${path}: not valid JSON (${(err as Error).message})`));
  }
  assertSchemaVersion((raw as { schemaVersion?: unknown })?.schemaVersion, path);
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(printable(`${path}: ${describeIssues(r.error)}`));
  return r.data;
}

/**
 * Validates a record before it is written: the writers produce exactly what the readers accept.
 * @throws Error naming the file and field (not a raw ZodError) — a bug or a non-finite value upstream.
 */
export function validForWrite<S extends z.ZodType>(schema: S, value: unknown, path: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`${path}: refusing to write an invalid record (${describeIssues(r.error)})`);
  return r.data;
}

