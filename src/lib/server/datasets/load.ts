/**
 * @file Loading HQ images the way the reference loaders do (`ldm/data/ir.py::read_image`,
 * `scripts/eval.py`): decode, and resize to 512×512 with Pillow-compatible bicubic only when not already 512.
 */
import { stat } from 'node:fs/promises';
import type { DatasetProblem } from '../../eval/datasets/types.ts';
import { resizeRgbPil } from '../../eval/image/pil-resize.ts';
import type { RgbImage } from '../../eval/types.ts';
import { readRgb } from '../image/io.ts';

/** The working resolution of every ReF-LDM benchmark. */
export const HQ_SIZE = 512;

/**
 * Decodes `path` to RGB u8 and resizes it to 512×512 with PIL bicubic when its size differs (FFHQ 1024 → 512).
 * @throws Error naming the file when it is missing or unreadable.
 */
export async function loadHq(path: string): Promise<RgbImage> {
  const img = await readRgb(path);
  if (img.width === HQ_SIZE && img.height === HQ_SIZE) return img;
  return resizeRgbPil(img, HQ_SIZE, HQ_SIZE);
}

/** One file to check in `inspectImageFiles`. */
export interface ImageFileCheck {
  readonly path: string;
  /** e.g. 'lq', 'gt', 'ref', used in messages. */
  readonly role: string;
  /** CSV/index file and line the path came from, when any. */
  readonly source?: { readonly file: string; readonly line: number; readonly field?: string };
  /** Accepted square sizes (e.g. [512] for LQ, [512, 1024] for HQ); empty = any size. */
  readonly sizes: readonly number[];
}

/**
 * Checks that every file exists, decodes completely (truncation is an error) and has an accepted square size.
 * Each distinct path is decoded once; every problem names the image file and, when known, the CSV line.
 */
export async function inspectImageFiles(
  checks: readonly ImageFileCheck[],
  onProgress?: (done: number, total: number) => void,
  concurrency = 4,
): Promise<DatasetProblem[]> {
  const byPath = new Map<string, ImageFileCheck[]>();
  for (const c of checks) {
    const list = byPath.get(c.path);
    if (list) list.push(c);
    else byPath.set(c.path, [c]);
  }
  const paths = [...byPath.keys()];
  const problems: DatasetProblem[] = [];
  let next = 0;
  let done = 0;
  const report = (c: ImageFileCheck, message: string): void => {
    const where = c.source ? ` (from ${c.source.file}:${c.source.line}${c.source.field ? ` [${c.source.field}]` : ''})` : '';
    problems.push({ file: c.path, line: undefined, field: c.role, message: `${message}${where}` });
  };
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const path = paths[next++];
      const uses = byPath.get(path)!;
      try {
        const st = await stat(path).catch(() => undefined);
        if (!st) {
          for (const c of uses) report(c, `${c.role} image not found`);
        } else {
          const img = await readRgb(path);
          for (const c of uses) {
            if (c.sizes.length && !(img.width === img.height && c.sizes.includes(img.width))) {
              report(c, `${c.role} image is ${img.width}×${img.height}, expected ${c.sizes.map((s) => `${s}×${s}`).join(' or ')}`);
            }
          }
        }
      } catch (err) {
        const msg = err instanceof Error ? err.message.replace(`${path}: `, '') : String(err);
        for (const c of uses) report(c, `${c.role} image cannot be decoded: ${msg}`);
      }
      onProgress?.(++done, paths.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  // Stable order: by path then role, whatever the decode timing.
  return problems.sort((a, b) => a.file.localeCompare(b.file) || (a.field ?? '').localeCompare(b.field ?? ''));
}
