/**
 * @file sha256 of weight files, computed once: a persistent cache keyed by (absolute path, size, mtime, ctime),
 * so a run over multi-GB weights hashes each file the first time only. The cache lives in
 * `.cache/refbench/sha256.json` under the working directory (never inside results; `REFBENCH_SHA256_CACHE`
 * names another file). It is written through on every miss (temp file + rename, merged with what another
 * process wrote meanwhile); a cache that cannot be read or written only costs a re-hash.
 *
 * NOTE: ctime is part of the key although the hash only needs (size, mtime): a file replaced by a copy that
 * keeps the old mtime (`cp -p`, `rsync -a`) changes ctime, so it is re-hashed instead of trusted.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Streaming sha256 of a file (hex). @throws Error naming the file when it cannot be read. */
export function sha256File(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', (e) => rej(new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? e.message})`)))
      .on('end', () => res(h.digest('hex')));
  });
}

interface Entry {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  sha256: string;
}

interface CacheFile {
  schemaVersion: 1;
  files: Record<string, Entry>;
}

/** The default cache file (`$REFBENCH_SHA256_CACHE`, else `.cache/refbench/sha256.json` under the cwd). */
export function defaultSha256CachePath(): string {
  return resolve(process.env.REFBENCH_SHA256_CACHE || '.cache/refbench/sha256.json');
}

/** One hashed file. */
export interface HashedFile {
  /** The absolute, symlink-resolved path. */
  readonly path: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  /** Whether the hash came from the cache. */
  readonly cached: boolean;
}

/** A sha256 cache over one cache file; counts hits and misses (`hashed`, `hits`). */
export class Sha256Cache {
  private entries: Record<string, Entry> | null = null;
  /** Files hashed (cache misses) and cache hits since this object was created. */
  hashed = 0;
  hits = 0;

  constructor(readonly file: string) {}

  private async load(): Promise<Record<string, Entry>> {
    if (this.entries) return this.entries;
    this.entries = await readEntries(this.file);
    return this.entries;
  }

  /**
   * sha256 of `path`, from the cache when its (path, size, mtime, ctime) is known.
   * @throws Error naming the file when it is missing or unreadable.
   */
  async sha256(path: string): Promise<HashedFile> {
    let abs: string;
    try {
      abs = await realpath(resolve(path));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(`${path}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(err)})`}`);
    }
    const st = await stat(abs);
    const entries = await this.load();
    const e = entries[abs];
    if (e && e.size === st.size && e.mtimeMs === st.mtimeMs && e.ctimeMs === st.ctimeMs) {
      this.hits++;
      return { path: abs, sha256: e.sha256, sizeBytes: st.size, cached: true };
    }
    const sha256 = await sha256File(abs);
    this.hashed++;
    const after = await stat(abs);
    // Only a file that did not change while it was read is cached.
    if (after.size === st.size && after.mtimeMs === st.mtimeMs) {
      entries[abs] = { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, sha256 };
      await this.save(abs, entries[abs]);
    }
    return { path: abs, sha256, sizeBytes: st.size, cached: false };
  }

  /** Saves are serialised within the process (concurrent hashes would otherwise overwrite each other's entry). */
  private saving: Promise<void> = Promise.resolve();

  /** Merges one new entry into the cache file (best effort: a read-only location just means no cache). */
  private save(abs: string, entry: Entry): Promise<void> {
    this.saving = this.saving.then(() => this.write(abs, entry));
    return this.saving;
  }

  private async write(abs: string, entry: Entry): Promise<void> {
    try {
      const onDisk = await readEntries(this.file);
      // Entries of files that no longer exist (temporary folders, deleted models) are dropped.
      for (const p of Object.keys(onDisk)) if (!existsSync(p)) delete onDisk[p];
      onDisk[abs] = entry;
      await mkdir(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify({ schemaVersion: 1, files: onDisk } satisfies CacheFile) + '\n');
      await rename(tmp, this.file);
    } catch {
      // NOTE: a cache that cannot be written costs a re-hash next time, nothing else.
    }
  }
}

async function readEntries(file: string): Promise<Record<string, Entry>> {
  try {
    const j = JSON.parse(await readFile(file, 'utf8')) as CacheFile;
    return j && j.schemaVersion === 1 && typeof j.files === 'object' && j.files ? j.files : {};
  } catch {
    return {};
  }
}

const BY_FILE = new Map<string, Sha256Cache>();

/** The process-wide cache for the default cache file (one in-memory view per file path). */
export function sha256Cache(file = defaultSha256CachePath()): Sha256Cache {
  let c = BY_FILE.get(file);
  if (!c) BY_FILE.set(file, (c = new Sha256Cache(file)));
  return c;
}
