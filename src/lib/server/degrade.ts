/**
 * @file The full degradation pipeline (docs/protocol.md §3) on u8 RGB images: pure stages from
 * `eval/degradation/pipeline.ts` around a JPEG round trip through `image/io.ts`, plus a folder-to-folder
 * batch (`refbench data degrade`) that writes one params.jsonl line per image.
 *
 * NOTE: JPEG goes through sharp's libjpeg-turbo/mozjpeg build, not cv2's libjpeg: bytes differ at the same
 * quality, so never substitute our LQ files for the released FFHQ-Ref test images.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { extname, join, parse } from 'node:path';
import { degradeAfterJpeg, degradeBeforeJpeg, toJpegInput } from '../eval/degradation/pipeline.ts';
import { degradationKey, getPreset, sampleDegradation, type DegradationParams } from '../eval/degradation/presets.ts';
import type { RgbImage } from '../eval/types.ts';
import { decodeRgb, encodeJpeg, encodePng } from './image/io.ts';
import { loadHq } from './datasets/load.ts';

/** Degrades one image with fully specified parameters (deterministic: same params → same bytes). */
export async function degradeImage(hq: RgbImage, params: DegradationParams): Promise<RgbImage> {
  const low = toJpegInput(degradeBeforeJpeg(hq, params));
  const jpeg = await encodeJpeg(low, params.jpegQuality);
  const decoded = await decodeRgb(jpeg, `jpeg(q=${params.jpegQuality})`);
  return degradeAfterJpeg(decoded, params);
}

/** Samples parameters for (preset, seed, imageId) and degrades. */
export async function degradeWithPreset(
  hq: RgbImage,
  preset: string,
  seed: number | string,
  imageId: string,
): Promise<{ lq: RgbImage; params: DegradationParams }> {
  const params = sampleDegradation(getPreset(preset), degradationKey(preset, seed, imageId), hq.width, hq.height);
  return { lq: await degradeImage(hq, params), params };
}

const IMAGE_EXTS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp']);

/**
 * Degrades every image of `inDir` (sorted by name; HQ resized to 512 with PIL bicubic when needed) into
 * `outDir/<stem>.png`, and writes `outDir/params.jsonl` (one JSON line per image, in order).
 * @returns the number of images written.
 */
export async function degradeFolder(
  inDir: string,
  outDir: string,
  preset: string,
  seed: number | string,
  onProgress?: (done: number, total: number) => void,
): Promise<number> {
  getPreset(preset);
  const names = (await readdir(inDir)).filter((n) => IMAGE_EXTS.has(extname(n).toLowerCase())).sort();
  if (names.length === 0) throw new Error(`${inDir}: no images (${[...IMAGE_EXTS].join(', ')})`);
  await mkdir(outDir, { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const id = parse(names[i]).name;
    const hq = await loadHq(join(inDir, names[i]));
    const { lq, params } = await degradeWithPreset(hq, preset, seed, id);
    await writeFile(join(outDir, `${id}.png`), await encodePng(lq));
    lines.push(JSON.stringify({ file: `${id}.png`, ...params }));
    onProgress?.(i + 1, names.length);
  }
  await writeFile(join(outDir, 'params.jsonl'), lines.join('\n') + '\n');
  return names.length;
}
