/**
 * @file What the dashboard may serve, in one place (threat model: docs/security.md). Every route that answers
 * with data from disk goes through here:
 * - run ids in URLs are ids, never paths: they must match the run-id pattern AND be one of the run folders under
 *   `<results>/runs/` (`dashboardRunDir`); an encoded '/' or '..' is just an unknown id;
 * - a file is served only when its real path (symlinks resolved) lies inside an allowed root: the results folder,
 *   or a dataset folder that the run's own run.json declares (`readServableImage`); a symlink that leads out of
 *   those folders is refused;
 * - a served file must be an image by its magic bytes, and its content-type comes from those bytes, never from
 *   the file name;
 * - error bodies name runs, samples and image kinds only, never an absolute path (`DashboardError`,
 *   `publicError`, `redactPaths`).
 */
import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, sep } from 'node:path';
import { listRunIds, runsRoot } from '../results/store.ts';

/** An error whose message is safe to show to the browser (no absolute paths), with its HTTP status. */
export class DashboardError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 413 | 415 | 422 | 500,
    message: string,
  ) {
    super(message);
    this.name = 'DashboardError';
  }
}

/** What a run id looks like (spec names + hash + optional timestamp; run-spec.ts). */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The folder of run `runId` under `<root>/runs/`, for the dashboard: an exact, existing run id only (no path, no
 * prefix matching).
 * @throws DashboardError 404 naming the id; 422 when the runs folder cannot be listed.
 */
export function dashboardRunDir(root: string, runId: string): string {
  let ids: string[];
  try {
    ids = RUN_ID_PATTERN.test(runId) && runId.length <= 255 ? listRunIds(root) : [];
  } catch (err) {
    throw new DashboardError(422, redactPaths((err as Error).message, [[`${root}/`, 'results/']]));
  }
  if (!ids.includes(runId)) {
    throw new DashboardError(404, `no run '${runId}'`);
  }
  return join(runsRoot(root), runId);
}

/** True when `child` lies strictly inside `parent` (both absolute, already real paths). */
export function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && !isAbsolute(rel) && rel.split(sep)[0] !== '..';
}

/** Real paths of the folders that exist among `dirs` (missing ones are dropped: nothing can lie inside them). */
export async function realRoots(dirs: readonly string[]): Promise<string[]> {
  const out = await Promise.all(dirs.map((d) => realpath(d).catch(() => undefined)));
  return [...new Set(out.filter((d): d is string => d !== undefined))];
}

/** Image formats the dashboard serves, by magic bytes. */
const MAGIC: readonly { readonly type: string; readonly test: (b: Uint8Array) => boolean }[] = [
  { type: 'image/png', test: (b) => b.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((v, i) => b[i] === v) },
  { type: 'image/jpeg', test: (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { type: 'image/webp', test: (b) => b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP' },
  { type: 'image/bmp', test: (b) => b.length >= 14 && b[0] === 0x42 && b[1] === 0x4d },
  { type: 'image/tiff', test: (b) => b.length >= 4 && ((ascii(b, 0, 2) === 'II' && b[2] === 42 && b[3] === 0) || (ascii(b, 0, 2) === 'MM' && b[2] === 0 && b[3] === 42)) },
];

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}

/** The image content-type of `bytes` by their magic number, or null when they are not an image we serve. */
export function sniffImageType(bytes: Uint8Array): string | null {
  return MAGIC.find((m) => m.test(bytes))?.type ?? null;
}

/** Larger files are refused (the biggest legitimate image, a 1024² PNG, is a few MiB). */
export const MAX_IMAGE_BYTES = 64 * 1024 * 1024;

/** An image ready to send. `path` is its real path (for tests and logs; never sent to the browser). */
export interface ServedImage {
  readonly path: string;
  readonly body: Uint8Array;
  readonly contentType: string;
}

/**
 * Reads `path` for serving, after checking that its real path lies inside one of `roots` (real paths, see
 * `realRoots`) and that it is a regular image file.
 * @param what names the file in errors (e.g. "run 'x': the lq image of sample 's01'"); never a path.
 * @throws DashboardError 404 (missing), 403 (outside the allowed roots), 413 (too large), 415 (not an image).
 */
export async function readServableImage(path: string, roots: readonly string[], what: string): Promise<ServedImage> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw new DashboardError(404, `${what} is missing`);
  }
  if (!roots.some((r) => isInside(real, r))) throw new DashboardError(403, `${what} lies outside the results folder and the run's dataset folders; not served`);
  // NOTE: opened by its real path with O_NOFOLLOW, so a last-moment swap of the file for a symlink fails; a swap
  // of a parent folder between realpath and open is not covered (docs/security.md: other local users).
  // O_NONBLOCK: a named pipe opens at once (and is then refused as not a file) instead of hanging the request.
  const fh = await open(real, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | constants.O_NONBLOCK).catch(() => {
    throw new DashboardError(404, `${what} cannot be opened`);
  });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new DashboardError(404, `${what} is not a file`);
    if (st.size > MAX_IMAGE_BYTES) throw new DashboardError(413, `${what} is larger than ${MAX_IMAGE_BYTES >> 20} MiB; not served`);
    const body = new Uint8Array(await fh.readFile());
    const contentType = sniffImageType(body);
    if (!contentType) throw new DashboardError(415, `${what} is not an image (PNG, JPEG, WebP, BMP or TIFF by its first bytes); not served`);
    return { path: real, body, contentType };
  } finally {
    await fh.close();
  }
}

/**
 * Replaces absolute paths in a message: each known folder by its label (e.g. the results root by `results`), any
 * other absolute path by `…/<file name>`.
 */
export function redactPaths(message: string, known: readonly (readonly [path: string, label: string])[] = []): string {
  let m = message;
  for (const [p, label] of [...known].sort((a, b) => b[0].length - a[0].length)) if (p.length > 1) m = m.split(p).join(label);
  return m.replace(/(^|[\s'"`(=[{,])(\/[^\s'"`()[\]{},;]*)/g, (_all, pre: string, p: string) => `${pre}…/${basename(p)}`);
}

/**
 * Turns any error into what a route may send: a DashboardError as is, anything else as a 500 whose message has
 * its paths redacted (the full error is logged on the server).
 */
export function publicError(err: unknown): { status: number; message: string } {
  if (err instanceof DashboardError) return { status: err.status, message: redactPaths(err.message) };
  console.error('refbench dashboard:', err);
  return { status: 500, message: redactPaths(err instanceof Error ? err.message : String(err)) };
}
