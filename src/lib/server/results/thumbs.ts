/**
 * @file Thumbnails of a results folder: WebP, 256 px, stored once per image CONTENT under
 * `<results>/thumbs/<sha256[0:2]>/<sha256>.webp` (so runs on one benchmark share the LQ, GT and reference
 * thumbnails), and per run `thumbs.jsonl` saying which thumbnail belongs to which image of which sample.
 *
 * Only writers make thumbnails (`thumbs-write.ts`, which the dashboard never imports): `refbench run` as it
 * processes each sample and `refbench thumbs` for older runs. This module is the read side: the dashboard only
 * reads them (`thumbIndex`, `thumbFile`) and falls back to
 * the full image, saying so, when one is missing (docs/security.md: a read never writes).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonlProblem, RunStore } from './store.ts';

/** Long side of a thumbnail, px. */
export const THUMB_SIZE = 256;

/** The folder of the shared thumbnails under a results root. */
export function thumbsRoot(resultsDir: string): string {
  return join(resultsDir, 'thumbs');
}

/** Where the thumbnail of the image whose bytes hash to `sha` lives (it may not exist). */
export function thumbPath(resultsDir: string, sha: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha)) throw new Error(`not a sha256 hex digest: '${sha}'`);
  return join(thumbsRoot(resultsDir), sha.slice(0, 2), `${sha}.webp`);
}

/** A run's thumbnails as the dashboard reads them: sampleId → kind → content hash, plus bad lines. */
export interface ThumbIndex {
  readonly bySample: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly problems: JsonlProblem[];
}

/** Reads a run's thumbs.jsonl (later lines win, kind by kind). Pure read. */
export function thumbIndex(store: RunStore): ThumbIndex {
  const r = store.readThumbs();
  const bySample = new Map<string, Record<string, string>>();
  for (const { value } of r.records) bySample.set(value.sampleId, { ...(bySample.get(value.sampleId) ?? {}), ...value.images });
  return { bySample, problems: r.problems };
}

/**
 * The thumbnail file of one image of one sample if it exists, else null (never made, or made by a run whose
 * thumbnails were deleted). Pure read.
 */
export function thumbFile(resultsDir: string, index: ThumbIndex, sampleId: string, kind: string): string | null {
  const sha = index.bySample.get(sampleId)?.[kind];
  if (!sha) return null;
  const path = thumbPath(resultsDir, sha);
  return existsSync(path) ? path : null;
}
