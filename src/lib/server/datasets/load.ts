/**
 * @file Loading benchmark images the way the reference loaders do (`ldm/data/ir.py::read_image`,
 * `scripts/eval.py`), and the ONE size rule that both `data inspect` and the runner apply:
 * - LQ inputs must be 512×512 (the released test LQ are; restorers and the output contract assume it);
 * - HQ images (GT, references) must be 512×512, or 1024×1024 (FFHQ, CelebA-HQ), which is resized to 512 with
 *   Pillow-compatible bicubic, the documented resize of the protocol;
 * - anything else (a 300×200 GT, a 1000×1000 reference) is an error naming the file: never stretched and scored.
 */
import { stat } from 'node:fs/promises';
import type { DatasetProblem } from '../../eval/datasets/types.ts';
import { resizeRgbPil } from '../../eval/image/pil-resize.ts';
import type { RgbImage } from '../../eval/types.ts';
import { readRgb } from '../image/io.ts';

/** The working resolution of every ReF-LDM benchmark. */
export const HQ_SIZE = 512;

/** The role of an image in a sample; each role has one size rule. */
export type ImageRole = 'lq' | 'gt' | 'ref' | 'mask';

/** Accepted square sizes per role (empty = any size: label maps are checked against their image by fLPIPS). */
export const ACCEPTED_SIZES: Readonly<Record<ImageRole, readonly number[]>> = Object.freeze({
  lq: [HQ_SIZE],
  gt: [HQ_SIZE, 2 * HQ_SIZE],
  ref: [HQ_SIZE, 2 * HQ_SIZE],
  mask: [],
});

const ROLE_NAMES: Readonly<Record<ImageRole, string>> = { lq: 'lq', gt: 'gt', ref: 'ref', mask: 'label map' };

/**
 * Checks an image's size against its role's rule.
 * @returns null when accepted, else the problem (without the file name).
 */
export function sizeProblem(width: number, height: number, role: ImageRole): string | null {
  const sizes = ACCEPTED_SIZES[role];
  if (!sizes.length || (width === height && sizes.includes(width))) return null;
  const accepted = sizes.map((s) => `${s}×${s}`).join(' or ');
  const resized = sizes.filter((s) => s !== HQ_SIZE).map((s) => `${s}×${s}`);
  const note = resized.length ? ` (${resized.join(', ')} is resized to ${HQ_SIZE}×${HQ_SIZE} with PIL bicubic; no other size is)` : '';
  return `${ROLE_NAMES[role]} image is ${width}×${height}, expected ${accepted}${note}`;
}

/**
 * Decodes an image of a sample and applies its role's size rule: HQ images of 1024² are resized to 512² with
 * PIL bicubic (FFHQ 1024 → 512), every other size outside the rule is rejected.
 * @throws Error naming the file when it is missing, unreadable, corrupt or of a size the rule does not accept.
 */
export async function loadImage(path: string, role: ImageRole): Promise<RgbImage> {
  const img = await readRgb(path);
  const problem = sizeProblem(img.width, img.height, role);
  if (problem) throw new Error(`${path}: ${problem}`);
  if (role === 'mask' || (img.width === HQ_SIZE && img.height === HQ_SIZE)) return img;
  return resizeRgbPil(img, HQ_SIZE, HQ_SIZE);
}

/**
 * Decodes a GT or reference image: 512² as is, 1024² resized to 512² with PIL bicubic, anything else an error.
 * @throws Error naming the file when it is missing, unreadable, corrupt or of another size.
 */
export async function loadHq(path: string, role: 'gt' | 'ref' = 'gt'): Promise<RgbImage> {
  return loadImage(path, role);
}

/** One file to check in `inspectImageFiles`. */
export interface ImageFileCheck {
  readonly path: string;
  /** Which size rule applies (`ACCEPTED_SIZES`), also used in messages. */
  readonly role: ImageRole;
  /** CSV/index file and line the path came from, when any. */
  readonly source?: { readonly file: string; readonly line: number; readonly field?: string };
}

/**
 * Checks that every file exists, decodes without any decoder warning and has the size its role accepts (the
 * same rule as `loadImage` at run time).
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
            const problem = sizeProblem(img.width, img.height, c.role);
            if (problem) report(c, problem);
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
