/**
 * @file The crash-safe file primitives of the results store (docs/results-format.md):
 * - whole files (run.json, summary.json, output PNGs, saved states) are written to a temp file in the same
 *   directory, fsynced, then renamed;
 * - a JSONL line is appended with ONE `appendFileSync` of the whole line + '\n', then fsync;
 * - before appending to a file whose tail is torn, the tail is cut back to the last '\n' (else the next line would
 *   be glued onto the fragment);
 * - files are opened without following a symlink and must be regular files (a FIFO cannot hang a reader).
 */
import { appendFileSync, closeSync, constants, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

/** A temp file name next to `path` (made sure its folder exists), keeping `path`'s extension when asked. */
function tempFor(path: string, keepExtension: boolean): string {
  mkdirSync(dirname(path), { recursive: true });
  return join(dirname(path), `.${basename(path)}.${process.pid}.tmp${keepExtension ? extname(path) : ''}`);
}

/**
 * Runs `step` on the temp file `tmp`; on a failure removes `tmp` and rethrows. The temp file must not outlive a
 * failed write (e.g. `path` is a directory): nothing but `path` is ours.
 */
function orRemove<T>(tmp: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** fsyncs the complete temp file and renames it to `path`. */
function commitTemp(tmp: string, path: string): void {
  orRemove(tmp, () => {
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  });
}

/** Writes `data` to `path` atomically: temp file in the same directory, fsync, rename. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = tempFor(path, false);
  orRemove(tmp, () => writeFileSync(tmp, data));
  commitTemp(tmp, path);
}

/**
 * Lets `write` produce `path` atomically: it writes a temp file in the same directory (same extension, so a writer
 * that picks its format by extension picks the same one), which is then fsynced and renamed into place. For
 * writers that only take a path (the FID statistics, `.npz` files).
 */
export async function writeFileAtomicWith(path: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempFor(path, true);
  try {
    await write(tmp);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  commitTemp(tmp, path);
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
export function readStoreText(path: string): string | null {
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

