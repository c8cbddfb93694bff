/**
 * @file `precomputed`: scores a folder of restored images that another program made (how most baselines are
 * compared: their authors or the user ran the official code and kept the outputs). Each sample's image is found by
 * its id through `pattern` (default `{id}.png`, e.g. `final_results/{id}.png` for CodeFormer's layout).
 *
 * What can go wrong, and what happens (never a crash of the run, never a silently fixed image):
 * - no file for a sample: that sample fails with "no output file", so it counts against coverage (N/M), as the
 *   paper's DMDNet row is computed on the images DMDNet produced;
 * - a corrupt or undecodable file, one that is not 8-bit RGB (see `outputConversion`), or one whose size is not
 *   the benchmark's 512×512: that sample fails with a message naming the file (images are never resized here);
 * - a file that changed after the run started: that sample fails (the recorded folder hash would be wrong);
 * - a named pipe, socket, device or folder where an output should be: that sample fails as "not a regular file"
 *   (never opened for reading: a FIFO would block);
 * - outputs with semi-transparent alpha: scored on their RGB values (alpha dropped, as `decodeRgb` does; not
 *   composited on any background), with one warning per run naming the files (`Restorer.warnings`).
 *
 * Provenance: the folder's content hash (sha256 over the sorted `relative path, sha256` lines of every file the
 * pattern matches) is recorded in run.json as `restorer.weights` `{ kind: 'outputs', files: [...] }`, so resuming a
 * run over a folder whose content changed is refused, like a changed weight file.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { SampleFailure, type Restorer } from '../../eval/restorers/restorer.ts';
import { parseOptions } from '../../eval/spec/run-spec.ts';
import type { WeightFileRecord } from '../../eval/types.ts';
import { HQ_SIZE } from '../datasets/load.ts';
import { listWithMore } from '../../format.ts';
import { NotRegularFileError, readRegularFile } from '../fs/read-regular.ts';
import { BitDepthError, decodeRgb, minAlpha } from '../image/io.ts';
import { PrecomputedOptionsSchema } from './options.ts';

/** Matches the relative paths a pattern can produce (`{id}` = any name without a path separator). */
export function patternRegex(pattern: string): RegExp {
  const parts = pattern.split('{id}').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[^/]+')}$`);
}

/**
 * Every entry under `dir` that is not a folder (recursively, relative paths with '/'), sorted: regular files,
 * symlinks, and named pipes, sockets or devices (listed so that a pipe named like an output is reported as what it
 * is, not as missing). Symlinked folders are not entered.
 */
async function listFiles(dir: string, sub = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, sub), { withFileTypes: true })) {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

/** The hash recorded for an entry that is not a regular file (a FIFO, socket, device, or a link to a folder). */
const NOT_REGULAR = 'not-a-regular-file';

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** The content of an outputs folder: every file the pattern matches, with its sha256, and the folder hash. */
export interface OutputsFolder {
  readonly dir: string;
  readonly files: ReadonlyMap<string, string>;
  /** sha256 over the sorted `relative path\tsha256\n` lines. */
  readonly sha256: string;
  readonly sizeBytes: number;
  /** Matching files with an alpha channel that is not fully opaque somewhere (relative paths). */
  readonly translucent: readonly string[];
}

/**
 * Hashes the files of `dir` that `pattern` can name.
 * @throws Error naming the folder when it does not exist, or holds no file the pattern matches (with examples of
 *   the names it does hold, so a wrong pattern is obvious).
 */
export async function hashOutputsFolder(dir: string, pattern: string): Promise<OutputsFolder> {
  let all: string[];
  try {
    all = await listFiles(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`restorer.options.dir: ${dir}: ${code === 'ENOENT' ? 'folder not found' : code === 'ENOTDIR' ? 'not a folder' : `cannot read (${code})`}`);
  }
  const re = patternRegex(pattern);
  const matching = all.filter((f) => re.test(f));
  if (!matching.length) {
    const examples = all.slice(0, 3).join(', ');
    throw new Error(
      `restorer.options.pattern: no file in ${dir} matches '${pattern}'${all.length ? ` (it holds ${all.length} file(s), e.g. ${examples})` : ' (the folder is empty)'}; ` +
        "set pattern to the outputs' file names, e.g. '{id}.png' or 'final_results/{id}.png'",
    );
  }
  const files = new Map<string, string>();
  let sizeBytes = 0;
  const lines: string[] = [];
  const translucent: string[] = [];
  for (const f of matching) {
    // An unreadable file fails its sample later (restore reads it again), not the whole run. A file that is not a
    // regular one is never read (stat follows links; readRegularFile refuses what changed type since).
    const path = join(dir, f);
    const st = await stat(path).catch(() => null);
    let h: string;
    if (st && !st.isFile()) h = NOT_REGULAR;
    else {
      h = await readRegularFile(path).then(
        async (buf) => {
          sizeBytes += buf.length;
          const a = await minAlpha(buf);
          if (a !== null && a < 1) translucent.push(f);
          return sha256(buf);
        },
        (err: NodeJS.ErrnoException) => (err instanceof NotRegularFileError ? NOT_REGULAR : `unreadable:${err.code ?? 'error'}`),
      );
    }
    files.set(f, h);
    lines.push(`${f}\t${h}\n`);
  }
  return { dir, files, sha256: sha256(lines.join('')), sizeBytes, translucent };
}

/**
 * Creates the restorer (reads and hashes the folder once).
 * @example
 * const r = await createPrecomputedRestorer({ dir: 'outputs/codeformer/ffhq-ref-severe', pattern: '{id}.png' });
 * (await r.restore({ sampleId: '00123', lq, refs: [] })).image.width; // 512
 */
export async function createPrecomputedRestorer(options: Readonly<Record<string, unknown>>): Promise<Restorer> {
  const o = parseOptions(PrecomputedOptionsSchema, options, { path: ['restorer', 'options'] });
  const dir = resolve(o.dir);
  // The pattern's fixed part must stay inside the folder (a sample id never holds a separator: sample-id.ts).
  const probe = normalize(o.pattern.replaceAll('{id}', 'x'));
  if (isAbsolute(o.pattern) || probe === '..' || probe.startsWith(`..${sep}`)) {
    throw new Error(`restorer.options.pattern: '${o.pattern}' points outside restorer.options.dir; give a path relative to it`);
  }
  const folder = await hashOutputsFolder(dir, o.pattern);
  const record: WeightFileRecord = { name: `outputs folder (${folder.files.size} files matching ${o.pattern})`, path: dir, sha256: folder.sha256, sizeBytes: folder.sizeBytes, pinned: false };
  return {
    info: {
      id: 'precomputed',
      version: o.version,
      weights: { kind: 'outputs', files: [record] },
      settings: { dir, pattern: o.pattern, files: folder.files.size, contentSha256: folder.sha256, outputConversion: o.outputConversion, ...(o.method ? { method: o.method } : {}) },
    },
    weightFiles: [record],
    // NOTE: alpha is checked once, when the folder is hashed, so the warning is one per run (not one per sample).
    warnings: folder.translucent.length
      ? [
          `${folder.translucent.length} output(s) have semi-transparent alpha (${listWithMore(folder.translucent, 8)} in ${dir}); ` +
            'alpha is dropped: the RGB values are scored as they are, not composited on a background. If the method means them to be ' +
            'composited, composite them (e.g. on black or white) before scoring.',
        ]
      : [],
    async restore(input, opts) {
      opts?.signal?.throwIfAborted();
      const t0 = performance.now();
      const rel = o.pattern.replaceAll('{id}', input.sampleId);
      const file = join(dir, rel);
      if (relative(dir, file).startsWith('..')) throw new SampleFailure(`sample id '${input.sampleId}' makes pattern '${o.pattern}' point outside ${dir}`, input.sampleId);
      const known = folder.files.get(rel.split(sep).join('/'));
      if (known === undefined) {
        throw new SampleFailure(`no output file for sample '${input.sampleId}': ${file} is not in the folder (a missing output counts against coverage)`, input.sampleId);
      }
      if (known === NOT_REGULAR) throw new SampleFailure(`${file}: is not a regular file (a named pipe, socket, device or folder); an output must be an image file`, input.sampleId);
      let buf: Buffer;
      try {
        buf = await readRegularFile(file);
      } catch (err) {
        if (err instanceof NotRegularFileError) throw new SampleFailure(`${file}: is not a regular file (a named pipe, socket, device or folder); an output must be an image file`, input.sampleId);
        throw new SampleFailure(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, input.sampleId);
      }
      const h = sha256(buf);
      if (h !== known) throw new SampleFailure(`${file} changed after the run started (sha256 ${known.slice(0, 12)}… → ${h.slice(0, 12)}…); the recorded folder hash would be wrong`, input.sampleId);
      let image;
      try {
        image = await decodeRgb(buf, file, { bitDepth: o.outputConversion });
      } catch (err) {
        const hint = err instanceof BitDepthError && o.outputConversion === 'require-8bit' && !/non-finite/.test(err.message) ? "; or set restorer option outputConversion: 'rescale-16bit-and-float'" : '';
        throw new SampleFailure(`corrupt or unusable output for sample '${input.sampleId}': ${(err as Error).message}${hint}`, input.sampleId);
      }
      if (image.width !== HQ_SIZE || image.height !== HQ_SIZE) {
        throw new SampleFailure(`${file} is ${image.width}×${image.height}, expected ${HQ_SIZE}×${HQ_SIZE} (the benchmark's size; precomputed outputs are scored as they are, never resized)`, input.sampleId);
      }
      return { image, timings: { read: performance.now() - t0, total: performance.now() - t0 }, info: { refsUsed: 0, file: rel, sha256: h } };
    },
    async dispose() {},
  };
}
