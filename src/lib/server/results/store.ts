/**
 * @file The results store: the ONLY module that reads or writes `results/` (docs/results-format.md).
 *
 * Crash-safety invariants:
 * - JSON files (run.json, summary.json) and output PNGs are written to a temp file, fsynced, then renamed.
 * - JSONL lines are appended with ONE `appendFileSync` of the whole line + '\n', then fsync. A reader ignores a
 *   final line without '\n' (a torn write) and reports — never crashes on — a corrupt line, naming file and line.
 * - Before appending to a file whose tail is torn, the tail is cut back to the last '\n' (else the next line
 *   would be glued onto the fragment).
 * - An output PNG is renamed into place BEFORE its samples.jsonl line is appended, so every 'ok' line points to
 *   a complete file; a SIGKILL loses at most the image in flight.
 */
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { z } from 'zod';
import {
  assertSchemaVersion,
  describeIssues,
  EvalLineSchema,
  RunJsonSchema,
  SampleLineSchema,
  SummarySchema,
  ThumbLineSchema,
  type EvalLine,
  type RunJson,
  type SampleLine,
  type Summary,
  type ThumbLine,
} from '../../eval/results/schema.ts';
import { suggest } from '../../eval/registry.ts';
import { listWithMore, printable } from '../../format.ts';
import { acquireRunLock, type HeldLock } from './run-lock.ts';

/** sha256 hex of bytes or a string. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes `data` to `path` atomically: temp file in the same directory, fsync, rename. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    // The temp file must not outlive a failed write (e.g. `path` is a directory): nothing but `path` is ours.
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Pretty JSON, atomically. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** What a path is, in words, when it is not the regular file the store expects. */
function notAFile(path: string, err?: NodeJS.ErrnoException, isDirectory = false): Error {
  const what =
    err?.code === 'ELOOP' || err?.code === 'EMLINK'
      ? 'is a symbolic link (the store reads and writes only regular files, never through links)'
      : err?.code === 'EISDIR' || isDirectory
        ? 'is a directory, not a file'
        : err
          ? `cannot be opened (${err.code ?? err.message})`
          : 'is not a regular file (a named pipe, socket or device)';
  return new Error(`${path}: ${what}`);
}

/**
 * Opens a file of the store without following a symlink in its last component and checks that it is a regular
 * file (NOTE: O_NONBLOCK so that a FIFO put in place of a file cannot hang a reader; it has no effect on regular
 * files). Returns null when it does not exist.
 * @throws Error naming the path when it is a directory, a link, a pipe or otherwise not a regular file.
 */
export function openStoreFile(path: string, flags: number): number | null {
  let fd: number;
  try {
    fd = openSync(path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw notAFile(path, err as NodeJS.ErrnoException);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw notAFile(path, undefined, st.isDirectory());
  }
  return fd;
}

/** A store file's text (UTF-8), or null when it does not exist; see `openStoreFile` for what is refused. */
function readStoreText(path: string): string | null {
  const fd = openStoreFile(path, constants.O_RDONLY);
  if (fd === null) return null;
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Cuts a torn final line (bytes after the last '\n') off `path`. Returns the number of bytes removed.
 * NOTE: called only by writers, right before they append; readers never modify files.
 */
export function repairTornTail(path: string): number {
  const fd = openStoreFile(path, constants.O_RDWR);
  if (fd === null) return 0;
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 0;
    const chunk = 64 * 1024;
    let end = size;
    const buf = Buffer.alloc(chunk);
    while (end > 0) {
      const start = Math.max(0, end - chunk);
      const n = readSync(fd, buf, 0, end - start, start);
      const idx = buf.subarray(0, n).lastIndexOf(0x0a);
      if (idx >= 0) {
        const keep = start + idx + 1;
        if (keep < size) {
          ftruncateSync(fd, keep);
          fsyncSync(fd);
        }
        return size - keep;
      }
      end = start;
    }
    ftruncateSync(fd, 0);
    fsyncSync(fd);
    return size;
  } finally {
    closeSync(fd);
  }
}

/**
 * Appends one JSON value as a line: a single appendFileSync of `JSON + '\n'`, then fsync. Never through a
 * symlink: a samples.jsonl linked to a file elsewhere is refused, not appended to.
 */
export function appendJsonLine(path: string, value: unknown): void {
  const line = `${JSON.stringify(value)}\n`;
  const fd = openStoreFile(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT)!;
  try {
    appendFileSync(fd, line);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

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
function readJsonFile<S extends z.ZodType>(path: string, schema: S): z.output<S> {
  const r = readJsonFileIfAny(path, schema);
  if (r === null) throw new Error(`${path}: file not found`);
  return r;
}

/** As `readJsonFile`, but null when the file does not exist (a dangling link or a directory is an error). */
function readJsonFileIfAny<S extends z.ZodType>(path: string, schema: S): z.output<S> | null {
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
function validForWrite<S extends z.ZodType>(schema: S, value: unknown, path: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`${path}: refusing to write an invalid record (${describeIssues(r.error)})`);
  return r.data;
}

/**
 * A file-system-safe name for a sample id (ids with unsafe characters get a short hash suffix, no collisions).
 * The result only holds letters, digits, '.', '_', '-' and never starts with '.' or '-', so it is also safe as
 * a command-line argument (the command restorer's `{id}`).
 */
export function sampleFileStem(sampleId: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(sampleId) && sampleId.length <= 120) return sampleId;
  return `${sampleId.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.-]/, '_').slice(0, 100)}-${sha256Hex(sampleId).slice(0, 8)}`;
}

/** The runs folder under a results root. */
export function runsRoot(resultsDir: string): string {
  return join(resultsDir, 'runs');
}

/**
 * Resolves `<runDir | runId>` to a run directory: an existing path containing run.json, else
 * `<resultsDir>/runs/<runId>`, else a unique runId prefix.
 * @throws naming what was tried and the closest run ids.
 */
export function resolveRunDir(resultsDir: string, ref: string): string {
  if (existsSync(join(ref, 'run.json'))) return resolve(ref);
  const byId = join(runsRoot(resultsDir), ref);
  if (existsSync(join(byId, 'run.json'))) return resolve(byId);
  const ids = listRunIds(resultsDir);
  const pref = ids.filter((id) => id.startsWith(ref));
  if (pref.length === 1) return resolve(join(runsRoot(resultsDir), pref[0]));
  const all = ids.length > 5 ? ' (`refbench ls` lists them all)' : '';
  const close = suggest(ref, ids);
  const hint =
    pref.length > 1
      ? ` Ambiguous prefix '${ref}' matches ${pref.length} runs: ${listWithMore(pref)}${pref.length > 5 ? ' (`refbench ls` lists them all)' : ''}`
      : ids.length
        ? `${close.length ? ` Did you mean: ${close.join(', ')}?` : ''} Known runs (${ids.length}): ${listWithMore(ids)}${all}`
        : '';
  throw new Error(`No run '${ref}': neither a run directory nor a run id under ${runsRoot(resultsDir)}.${hint}`);
}

/**
 * Run ids under `resultsDir` (directories holding a run.json), sorted; none when there is no runs folder.
 * @throws naming the runs folder when it is a file or cannot be listed.
 */
export function listRunIds(resultsDir: string): string[] {
  const root = runsRoot(resultsDir);
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new Error(`${root}: ${code === 'ENOTDIR' ? 'is not a folder' : `cannot be listed (${code ?? (err as Error).message})`}; the results root keeps its runs in this folder`);
  }
  return entries
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'run.json')))
    .map((d) => d.name)
    .sort();
}

/** Latest line per sampleId (highest seq, then latest line), plus problems found while reading. */
export interface SampleState {
  readonly latest: Map<string, SampleLine>;
  readonly problems: JsonlProblem[];
  readonly lines: number;
  readonly maxSeq: number;
}

/** A handle on one run directory. All reads and writes of a run go through here. */
export class RunStore {
  readonly runJsonPath: string;
  readonly samplesPath: string;
  readonly evalPath: string;
  readonly summaryPath: string;
  readonly outputsDir: string;
  readonly lockPath: string;
  /** thumbs.jsonl: sample image → thumbnail content hash (results/thumbs.ts). */
  readonly thumbsPath: string;
  #lock: HeldLock | null = null;

  constructor(readonly dir: string) {
    this.runJsonPath = join(dir, 'run.json');
    this.samplesPath = join(dir, 'samples.jsonl');
    this.evalPath = join(dir, 'eval.jsonl');
    this.summaryPath = join(dir, 'summary.json');
    this.outputsDir = join(dir, 'outputs');
    this.lockPath = join(dir, 'run.lock');
    this.thumbsPath = join(dir, 'thumbs.jsonl');
  }

  /** Opens (creating the folders of) a run directory. */
  static create(dir: string): RunStore {
    mkdirSync(join(dir, 'outputs'), { recursive: true });
    return new RunStore(dir);
  }

  get runId(): string {
    return basename(this.dir);
  }

  exists(): boolean {
    return existsSync(this.runJsonPath);
  }

  readRunJson(): RunJson {
    return readJsonFile(this.runJsonPath, RunJsonSchema);
  }

  writeRunJson(run: RunJson): void {
    writeJsonAtomic(this.runJsonPath, run);
  }

  /**
   * Takes the run's writer lock (run-lock.ts: atomic O_EXCL create; host, pid and process start time recorded).
   * A stale lock (its process is gone, or its pid now belongs to another program) is taken over.
   * @returns why a stale lock was taken over, or null.
   * @throws when a live refbench process or another host holds it, saying how to clear it.
   */
  lock(): string | null {
    this.#lock = acquireRunLock(this.lockPath, this.dir);
    return this.#lock.tookOver;
  }

  /** Releases the lock taken by `lock()` (only if the file is still this process's lock). */
  unlock(): void {
    try {
      this.#lock?.release();
    } catch {
      /* best effort */
    }
    this.#lock = null;
  }

  /** Prepares the JSONL files for appending (cuts torn tails). Returns the bytes cut per file. */
  prepareAppend(): { samples: number; eval: number; thumbs: number } {
    return { samples: repairTornTail(this.samplesPath), eval: repairTornTail(this.evalPath), thumbs: repairTornTail(this.thumbsPath) };
  }

  /**
   * Writes a sample's PNG atomically; returns its path relative to the run directory.
   * Must complete before the sample's line is appended.
   */
  writeOutput(sampleId: string, png: Uint8Array): string {
    const rel = `outputs/${sampleFileStem(sampleId)}.png`;
    writeFileAtomic(join(this.dir, rel), png);
    return rel;
  }

  outputPath(rel: string): string {
    return join(this.dir, rel);
  }

  appendSample(line: SampleLine): void {
    appendJsonLine(this.samplesPath, validForWrite(SampleLineSchema, line, this.samplesPath));
  }

  readSamples(): SampleState {
    const r = readJsonl(this.samplesPath, SampleLineSchema);
    const latest = new Map<string, SampleLine>();
    let maxSeq = -1;
    for (const { value } of r.records) {
      maxSeq = Math.max(maxSeq, value.seq);
      const prev = latest.get(value.sampleId);
      if (!prev || value.seq >= prev.seq) latest.set(value.sampleId, value);
    }
    return { latest, problems: r.problems, lines: r.records.length, maxSeq };
  }

  appendEval(line: EvalLine): void {
    appendJsonLine(this.evalPath, validForWrite(EvalLineSchema, line, this.evalPath));
  }

  readEval(): JsonlRead<EvalLine> {
    return readJsonl(this.evalPath, EvalLineSchema);
  }

  /** Appends which thumbnails belong to one sample's images (the thumbnails themselves: results/thumbs.ts). */
  appendThumbs(line: ThumbLine): void {
    appendJsonLine(this.thumbsPath, validForWrite(ThumbLineSchema, line, this.thumbsPath));
  }

  /** Every valid thumbs.jsonl line, in file order, and the bad ones as problems (a missing file is empty). */
  readThumbs(): JsonlRead<ThumbLine> {
    return readJsonl(this.thumbsPath, ThumbLineSchema);
  }

  writeSummary(s: Summary): void {
    writeJsonAtomic(this.summaryPath, validForWrite(SummarySchema, s, this.summaryPath));
  }

  readSummary(): Summary | null {
    return readJsonFileIfAny(this.summaryPath, SummarySchema);
  }

  /** Modification time of samples.jsonl (for `ls`), or null. */
  lastWrite(): Date | null {
    return existsSync(this.samplesPath) ? statSync(this.samplesPath).mtime : null;
  }
}
