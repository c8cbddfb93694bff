/**
 * @file The writer side of thumbnails (layout and read side: `thumbs.ts`): `refbench run` makes a sample's
 * thumbnails as it processes it (`writeSampleThumbs`), `refbench thumbs` fills them in for older runs
 * (`fillThumbs`). Never imported by the dashboard (test/unit/server/dashboard/read-only.test.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { SampleRef } from '../../eval/datasets/types.ts';
import type { ThumbLine } from '../../eval/results/schema.ts';
import { encodeThumbWebp } from '../image/io.ts';
import { readRegularFile as readFile } from '../fs/read-regular.ts';
import { DATASETS } from '../datasets/index.ts';
import { RunStore, sha256Hex, writeFileAtomic } from './store.ts';
import { THUMB_SIZE, thumbFile, thumbIndex, thumbPath } from './thumbs.ts';

/**
 * Makes the thumbnail of `bytes` unless one for that content exists. Atomic (temp file + rename), so two runs
 * making the same thumbnail at once both end with a whole file.
 * @returns the content hash and whether a file was written.
 */
export async function ensureThumb(resultsDir: string, bytes: Uint8Array, sha = sha256Hex(bytes)): Promise<{ sha: string; made: boolean }> {
  const path = thumbPath(resultsDir, sha);
  if (existsSync(path)) return { sha, made: false };
  writeFileAtomic(path, await encodeThumbWebp(bytes, THUMB_SIZE));
  return { sha, made: true };
}

/** What `writeSampleThumbs` did for one sample. */
export interface SampleThumbs {
  /** The line appended to thumbs.jsonl (null when no image could be read). */
  readonly line: ThumbLine | null;
  /** Thumbnails written now (others existed already). */
  readonly made: number;
  /** Images whose thumbnail could not be made, as `kind: message` (the sample itself is unaffected). */
  readonly problems: string[];
}

/** One image to make a thumbnail of: its kind, how to read its bytes, and their sha256 when already known. */
type ThumbSource = readonly [kind: string, read: () => Promise<Uint8Array>, sha?: string];

/** The thumbnail sources of one sample: LQ, references, GT, and the output when its PNG bytes are given. */
function sampleSources(s: SampleRef, output?: { readonly png: Uint8Array; readonly sha?: string }): ThumbSource[] {
  const src: ThumbSource[] = [['lq', () => readFile(s.lq)], ...s.refs.map((r, i): ThumbSource => [`ref-${i}`, () => readFile(r)])];
  if (s.gt) src.push(['gt', () => readFile(s.gt!)]);
  if (output) src.push(['output', async () => output.png, output.sha]);
  return src;
}

/** Makes the thumbnails of `sources` and appends one thumbs.jsonl line for them; see `writeSampleThumbs`. */
async function writeThumbs(resultsDir: string, store: RunStore, sampleId: string, sources: readonly ThumbSource[]): Promise<SampleThumbs> {
  const images: Record<string, string> = {};
  const problems: string[] = [];
  let made = 0;
  for (const [kind, read, sha] of sources) {
    try {
      const r = await ensureThumb(resultsDir, await read(), sha);
      images[kind] = r.sha;
      if (r.made) made++;
    } catch (err) {
      problems.push(`${kind}: ${(err as Error).message}`);
    }
  }
  if (!Object.keys(images).length) return { line: null, made, problems };
  const line: ThumbLine = { sampleId, images, at: new Date().toISOString() };
  store.appendThumbs(line);
  return { line, made, problems };
}

/**
 * Makes the thumbnails of one sample's images (LQ, references, GT, and the output when its PNG bytes are given)
 * and appends their hashes to the run's thumbs.jsonl. The caller holds the run's writer lock. A file that cannot
 * be read or decoded costs only its own thumbnail (the dashboard then shows the full image).
 */
export async function writeSampleThumbs(
  resultsDir: string,
  store: RunStore,
  s: SampleRef,
  output?: { readonly png: Uint8Array; readonly sha?: string },
): Promise<SampleThumbs> {
  return writeThumbs(resultsDir, store, s.id, sampleSources(s, output));
}

/** What `fillThumbs` did for one run. */
export interface FillReport {
  readonly runId: string;
  /** Samples that got a thumbs.jsonl line now. */
  readonly samples: number;
  /** Thumbnail files written now. */
  readonly made: number;
  /** Images or whole runs that could not be done, as messages naming the run, sample and image. */
  readonly problems: string[];
}

/**
 * `refbench thumbs`: makes the missing thumbnails of existing runs (those run before thumbnails existed, or whose
 * thumbnails were deleted). Takes each run's writer lock; the dataset is listed through the read-only registry
 * from run.json's spec (nothing is generated). A run that is locked or unreadable is reported and skipped.
 */
export async function fillThumbs(resultsDir: string, runDirs: readonly string[]): Promise<FillReport[]> {
  const reports: FillReport[] = [];
  for (const dir of runDirs) {
    const store = new RunStore(dir);
    const problems: string[] = [];
    let samples = 0;
    let made = 0;
    try {
      const run = store.readRunJson();
      const tookOver = store.lock();
      if (tookOver) problems.push(tookOver);
      try {
        store.prepareAppend();
        const ds = (run.spec as { dataset?: { adapter?: string; options?: Record<string, unknown> } }).dataset;
        let refs = new Map<string, SampleRef>();
        try {
          if (!ds?.adapter || !DATASETS.has(ds.adapter)) throw new Error(`dataset adapter '${ds?.adapter ?? '?'}' is not available in this refbench`);
          const dataset = await DATASETS.get(ds.adapter)(ds.options ?? {});
          refs = new Map((await dataset.samples()).map((s) => [s.id, s]));
        } catch (err) {
          problems.push(`its dataset cannot be listed, so only output thumbnails are made: ${(err as Error).message}`);
        }
        const index = thumbIndex(store);
        for (const p of index.problems) problems.push(`${p.file}:${p.line}: ${p.message} (line ignored)`);
        for (const line of store.readSamples().latest.values()) {
          const ref = refs.get(line.sampleId);
          const out = line.output ? { png: () => readFile(store.outputPath(line.output!)), sha: line.outputHash } : null;
          const all: ThumbSource[] = ref ? sampleSources(ref) : [];
          if (out) all.push(['output', out.png, out.sha]);
          const todo = all.filter(([kind]) => thumbFile(resultsDir, index, line.sampleId, kind) === null);
          if (!todo.length) continue;
          const r = await writeThumbs(resultsDir, store, line.sampleId, todo);
          if (r.line) samples++;
          made += r.made;
          for (const p of r.problems) problems.push(`sample '${line.sampleId}' ${p}`);
        }
      } finally {
        store.unlock();
      }
    } catch (err) {
      problems.push(`${(err as Error).message} (run skipped)`);
    }
    reports.push({ runId: store.runId, samples, made, problems });
  }
  return reports;
}

/**
 * Carries a run's thumbnails into another run (`refbench merge`): appends the thumbs.jsonl lines of `sampleIds`
 * to `to` and copies each thumbnail file they name into `toResultsDir/thumbs/` when it is not there yet (shards
 * may live in other results folders). A thumbnail file that is gone is left out (`refbench thumbs` remakes it).
 * @returns the number of thumbnail files copied.
 */
export function carryThumbs(fromRunDir: string, fromResultsDir: string, to: RunStore, toResultsDir: string, sampleIds: ReadonlySet<string>): number {
  const index = thumbIndex(new RunStore(fromRunDir));
  let copied = 0;
  for (const [sampleId, images] of index.bySample) {
    if (!sampleIds.has(sampleId)) continue;
    const kept: Record<string, string> = {};
    for (const [kind, sha] of Object.entries(images)) {
      const dst = thumbPath(toResultsDir, sha);
      if (!existsSync(dst)) {
        const src = thumbPath(fromResultsDir, sha);
        if (!existsSync(src)) continue;
        writeFileAtomic(dst, readFileSync(src));
        copied++;
      }
      kept[kind] = sha;
    }
    if (Object.keys(kept).length) to.appendThumbs({ sampleId, images: kept, at: new Date().toISOString() });
  }
  return copied;
}
