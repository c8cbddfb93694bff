/**
 * @file Downloads a model's files with HTTP range resume and sha256 checks.
 *
 * Per file: bytes go to `<name>.part`; a later attempt sends `Range: bytes=<part size>-` and appends on 206 (a
 * 200 restarts from zero). The finished file is hashed before it is renamed into place: a published sha256 must
 * match (else the part is deleted and the fetch fails), otherwise the hash is pinned in `weights/lock.json`.
 * When every URL fails (no network, Google Drive confirmation page), the error names each URL and says where
 * to place the file by hand.
 */
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ModelEntry, ModelFile } from './manifest.ts';
import { hashProblem, lockEntry, readLock, record, sha256File, writeLock } from './lock.ts';
import { modelDir } from './paths.ts';

export interface FetchOptions {
  readonly modelsDir?: string;
  /** Progress/info lines. */
  readonly log?: (line: string) => void;
  /** Milliseconds to wait for response headers per URL (default 30 s). */
  readonly headersTimeoutMs?: number;
}

/** Outcome per file. */
export interface FetchResult {
  readonly name: string;
  readonly path: string;
  readonly sha256: string;
  readonly action: 'already present' | 'downloaded' | 'resumed';
}

/**
 * Downloads one URL into `part`, resuming from its current size.
 * @returns whether it resumed
 * @throws Error with the HTTP status or network failure (the part file is kept for the next attempt).
 */
export async function downloadWithResume(url: string, part: string, headersTimeoutMs = 30_000): Promise<boolean> {
  const have = existsSync(part) ? statSync(part).size : 0;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error(`no response within ${headersTimeoutMs} ms`)), headersTimeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, redirect: 'follow', signal: ctl.signal });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? '';
    const offline = /^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ENETUNREACH|EHOSTUNREACH|ETIMEDOUT)$/.test(code) ? ' (network unreachable?)' : '';
    throw new Error(`${code || cause?.message || (err instanceof Error ? err.message : String(err))}${offline}`);
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 416 && have > 0) {
    // Range past the end: the part is complete if the server says so.
    const total = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
    await res.body?.cancel();
    if (total === have) return true;
    await rm(part, { force: true });
    throw new Error(`HTTP 416 for a ${have}-byte partial file; the partial file was deleted, retry`);
  }
  let append = false;
  if (res.status === 206) {
    const start = Number(/bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1]);
    if (start !== have) {
      await res.body?.cancel();
      throw new Error(`server resumed at byte ${start}, expected ${have}`);
    }
    append = true;
  } else if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status} ${res.statusText}`);
  }
  const type = res.headers.get('content-type') ?? '';
  if (/text\/html/i.test(type)) {
    await res.body?.cancel();
    throw new Error('the server returned an HTML page (a login or confirmation page?), not the file');
  }
  if (!res.body) throw new Error('empty response body');
  const expectedLen = Number(res.headers.get('content-length') ?? NaN);
  const before = append ? have : 0;
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(part, { flags: append ? 'a' : 'w' }));
  const got = statSync(part).size - before;
  if (Number.isFinite(expectedLen) && got !== expectedLen) throw new Error(`connection closed after ${got} of ${expectedLen} bytes (partial file kept for resume)`);
  return append;
}

function manualHint(entry: ModelEntry, f: ModelFile, dest: string): string {
  return (
    `Download it yourself (${f.urls.join(' or ')}) and place it at ${dest}` +
    `${f.sha256 ? ` (sha256 ${f.sha256})` : ''}, then run: refbench models fetch ${entry.id} (it checks and pins files already in place)` +
    (f.note ? `. Note: ${f.note}` : '')
  );
}

/**
 * Fetches every file of `entry` into `weights/<id>/`, skipping files already present and valid.
 * @throws Error naming the URLs tried and how to place the file by hand; or a sha256 mismatch.
 */
export async function fetchEntry(entry: ModelEntry, opts: FetchOptions = {}): Promise<FetchResult[]> {
  const log = opts.log ?? (() => {});
  const dir = modelDir(opts.modelsDir, entry.id);
  await mkdir(dir, { recursive: true });
  const lock = await readLock(opts.modelsDir);
  const le = lockEntry(lock, entry.id);
  const out: FetchResult[] = [];
  try {
    for (const f of entry.files) {
      const dest = join(dir, f.name);
      if (existsSync(dest)) {
        const sha = await sha256File(dest);
        const problem = hashProblem(f, sha, le.files[f.name]?.pinned);
        if (problem) throw new Error(`${dest}: ${problem}; delete it and fetch again`);
        le.files[f.name] = { ...record(dest, sha, true), ...(f.sha256 ? {} : { pinned: le.files[f.name]?.pinned ?? sha }) };
        out.push({ name: f.name, path: dest, sha256: sha, action: 'already present' });
        log(`${entry.id}: ${f.name} already present (sha256 ${sha})`);
        continue;
      }
      const part = `${dest}.part`;
      const errors: string[] = [];
      let resumed: boolean | undefined;
      for (const url of f.urls) {
        try {
          log(`${entry.id}: downloading ${url}${existsSync(part) ? ` (resuming at ${statSync(part).size} bytes)` : ''}`);
          resumed = await downloadWithResume(url, part, opts.headersTimeoutMs);
          break;
        } catch (err) {
          errors.push(`${url}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      if (resumed === undefined) {
        throw new Error(`${entry.id}: could not download ${f.name}: ${errors.join('; ')}. ${manualHint(entry, f, dest)}`);
      }
      const sha = await sha256File(part);
      const problem = hashProblem(f, sha, le.files[f.name]?.pinned);
      if (problem) {
        await rm(part, { force: true });
        throw new Error(`${entry.id}: downloaded ${f.name} has the wrong hash (${problem}); the download was deleted`);
      }
      if (f.sha256Unverified && sha !== f.sha256Unverified) log(`${entry.id}: warning: ${f.name} sha256 ${sha} differs from the unverified third-party value ${f.sha256Unverified}`);
      await rename(part, dest);
      le.files[f.name] = { ...record(dest, sha, true), ...(f.sha256 ? {} : { pinned: le.files[f.name]?.pinned ?? sha }) };
      out.push({ name: f.name, path: dest, sha256: sha, action: resumed ? 'resumed' : 'downloaded' });
      log(`${entry.id}: ${f.name} ${resumed ? 'resumed and ' : ''}verified (sha256 ${sha}${f.sha256 ? '' : ', pinned in lock.json'})`);
    }
  } finally {
    await writeLock(lock, opts.modelsDir);
  }
  return out;
}
