/**
 * @file The only importer of sharp. Decodes files to 8-bit RGB (`RgbImage`), encodes PNG/JPEG. Resizing for
 * metrics and models is NOT done here: PIL-compatible bicubic lives in `eval/image/pil-resize.ts` (sharp's
 * kernels differ from Pillow's; see docs/footguns.md).
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { RgbImage } from '../../eval/types.ts';

sharp.cache(false);

/**
 * Decodes an image file (PNG, JPEG, WebP, BMP via libvips) to RGB u8, honouring EXIF orientation; alpha is
 * dropped, grey is expanded to RGB.
 * @throws Error naming the file when it is missing, truncated or not an image.
 */
export async function readRgb(path: string): Promise<RgbImage> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(err)})`}`);
  }
  return decodeRgb(buf, path);
}

/** Decodes encoded bytes; `what` names the source in errors. */
export async function decodeRgb(buf: Uint8Array, what: string): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(buf, { failOn: 'truncated' })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected channel count ${info.channels}`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    throw new Error(`${what}: not a readable image (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** Encodes RGB u8 as PNG (lossless). */
export async function encodePng(img: RgbImage, compressionLevel = 6): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).png({ compressionLevel }).toBuffer();
}

/**
 * Encodes RGB u8 as JPEG with 4:2:0 chroma subsampling (libjpeg's default, as cv2.imencode uses).
 * NOTE: sharp uses mozjpeg; bytes differ from cv2/libjpeg at the same quality (protocol.md §3).
 */
export async function encodeJpeg(img: RgbImage, quality: number): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg({ quality: Math.round(quality), chromaSubsampling: '4:2:0', mozjpeg: false })
    .toBuffer();
}

/**
 * Renders an SVG document (librsvg through sharp) to RGB u8 at its own width/height, flattened on white.
 * Used by the synthetic benchmark (synthfaces-ref); deterministic for a given sharp/librsvg build.
 */
export async function renderSvg(svg: string): Promise<RgbImage> {
  const { data, info } = await sharp(Buffer.from(svg), { density: 72 })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`renderSvg: unexpected channel count ${info.channels}`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
