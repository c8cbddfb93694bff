/**
 * @file Network features of the ground-truth / reference side, computed once per benchmark: a persistent cache of
 * float32 feature vectors keyed by sha256 of (feature version, weight file sha256, the image's pixels as the network
 * is fed them). N runs over one benchmark (different restorers, shards, re-scorings) pay for the GT and reference
 * embeddings once; predictions are never cached (they change with every run).
 *
 * Invalidation: a new weight file (another sha256) or a new preprocessing (the version string) gives other keys,
 * so nothing computed with other weights or another pipeline is ever read. The pixels are hashed after decoding and
 * resizing, so a changed image file misses too.
 *
 * Location: `$REFBENCH_FEATURE_CACHE`, else `.cache/refbench/features` under the working directory (never inside
 * results); `REFBENCH_FEATURE_CACHE=off` disables it. Only scoring (`run`, `eval`, `merge`'s metrics) writes it;
 * a read-only command (report, ls, dashboard) creates no metric and never touches it. One file per vector:
 * `<dir>/<version>/<weights sha256 prefix>/<key[0:2]>/<key>.f32` = the float32 values, then the sha256 of those
 * bytes (a torn or foreign file is a miss and is rewritten). Writes are temp file + rename, so concurrent runs on
 * one machine may share the folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RgbImage } from '../../eval/types.ts';

/** Hits and computations, over every cache of this process (the runner logs them). */
export interface FeatureCacheStats {
  /** Vectors read from the cache. */
  hits: number;
  /** Vectors computed (misses), and written unless the cache is off. */
  computed: number;
}

const totals: FeatureCacheStats = { hits: 0, computed: 0 };

/** A copy of the process-wide counters. */
export function featureCacheStats(): FeatureCacheStats {
  return { ...totals };
}

/** The cache folder, or null when `REFBENCH_FEATURE_CACHE=off`. */
export function featureCacheDir(): string | null {
  const v = process.env.REFBENCH_FEATURE_CACHE;
  if (v === 'off') return null;
  return resolve(v || '.cache/refbench/features');
}

const sha256 = (...parts: (string | Uint8Array)[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** What a cached vector depends on besides the image. */
export interface FeatureKey {
  /** Names the network output and every preprocessing step; change it when either changes. */
  readonly version: string;
  /** sha256 of the weight file the vectors come from. */
  readonly weightsSha256: string;
}

/**
 * Returns one feature vector per image: from the cache where present, else from `compute` (called once, with the
 * missing images in order), then stored.
 */
export async function cachedFeatures(
  key: FeatureKey,
  images: readonly RgbImage[],
  compute: (missing: readonly RgbImage[], index: readonly number[]) => Promise<Float32Array[]>,
): Promise<Float32Array[]> {
  const dir = featureCacheDir();
  if (!dir || !images.length) {
    totals.computed += images.length;
    return images.length ? compute(images, images.map((_, i) => i)) : [];
  }
  const folder = join(dir, key.version.replace(/[^A-Za-z0-9._-]/g, '_'), key.weightsSha256.slice(0, 16));
  const files = images.map((img) => {
    const k = sha256(key.version, '\n', key.weightsSha256, '\n', `${img.width}x${img.height}\n`, img.data).toString('hex');
    return join(folder, k.slice(0, 2), `${k}.f32`);
  });
  const out: (Float32Array | undefined)[] = files.map(read);
  const miss = out.flatMap((v, i) => (v ? [] : [i]));
  totals.hits += images.length - miss.length;
  totals.computed += miss.length;
  if (miss.length) {
    const vecs = await compute(
      miss.map((i) => images[i]),
      miss,
    );
    miss.forEach((i, j) => {
      out[i] = vecs[j];
      write(files[i], vecs[j]);
    });
  }
  return out as Float32Array[];
}

/** A cached vector, or undefined when absent or not intact. */
function read(file: string): Float32Array | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return undefined;
  }
  const n = buf.length - 32;
  if (n <= 0 || n % 4 !== 0) return undefined;
  const body = buf.subarray(0, n);
  if (!sha256(body).equals(buf.subarray(n))) return undefined;
  // A copy: the Buffer's offset may not be 4-aligned.
  return new Float32Array(Uint8Array.from(body).buffer);
}

/** Stores a vector (temp file + rename); a cache that cannot be written only costs a recomputation later. */
function write(file: string, v: Float32Array): void {
  const body = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(tmp, Buffer.concat([body, sha256(body)]));
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true });
  }
}

/** The log line for the cache use since `before` (a `featureCacheStats()` snapshot), or null when unused. */
export function featureCacheReport(before: FeatureCacheStats): string | null {
  const hits = totals.hits - before.hits;
  const computed = totals.computed - before.computed;
  if (!hits && !computed) return null;
  return `feature cache (GT/reference side): ${hits} reused, ${computed} computed (${featureCacheDir() ?? 'off: REFBENCH_FEATURE_CACHE=off'})`;
}
