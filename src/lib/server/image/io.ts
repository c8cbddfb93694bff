/**
 * @file The only importer of sharp. Decodes files to 8-bit RGB (`RgbImage`), failing on any decoder warning and on
 * any image that is not 8-bit unless a conversion is asked for (`BitDepthPolicy`); encodes PNG/JPEG. Resizing for
 * metrics and models is NOT done here (`encodeThumbWebp` resizes display thumbnails only): PIL-compatible bicubic lives in `eval/image/pil-resize.ts` (sharp's
 * kernels differ from Pillow's; see docs/footguns.md).
 */
import sharp from 'sharp';
import type { RgbImage } from '../../eval/types.ts';
import { NotRegularFileError, readRegularFile } from '../fs/read-regular.ts';

sharp.cache(false);

/**
 * How a file that is not 8 bits per channel is turned into RGB u8:
 * - `require-8bit` (the default everywhere): such a file is an error naming its bit depth;
 * - `rescale-16bit-and-float`: 16-bit values v → round(v·255/65535); float values are taken as sRGB in [0, 1]
 *   (no gamma change) → round(clamp(v, 0, 1)·255). Used only when a restorer's options ask for it.
 * Non-finite float values (NaN, ±Inf) are an error under both.
 * NOTE: libvips would otherwise convert silently (16-bit → 8-bit by its own rounding; a float image is taken as
 * linear scRGB and gamma-encoded, so 0.5 → 188, NaN → 0, +Inf → 255).
 */
export type BitDepthPolicy = 'require-8bit' | 'rescale-16bit-and-float';

/** Options of `readRgb` / `decodeRgb`. */
export interface DecodeOptions {
  readonly bitDepth?: BitDepthPolicy;
}

/**
 * Decodes an image file (PNG, JPEG, WebP, BMP, TIFF via libvips) to RGB u8, honouring EXIF orientation; alpha is
 * dropped, grey is expanded to RGB. Any decoder warning (a corrupt JPEG Huffman table, a bad PNG CRC, a
 * truncated file) is an error, never a silently patched image.
 * @throws Error naming the file when it is missing, corrupt, not an image, not 8-bit (see `BitDepthPolicy`) or
 *   holds non-finite values.
 */
export async function readRgb(path: string, opts: DecodeOptions = {}): Promise<RgbImage> {
  let buf: Buffer;
  try {
    buf = await readRegularFile(path);
  } catch (err) {
    if (err instanceof NotRegularFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(err)})`}`);
  }
  return decodeRgb(buf, path, opts);
}

const BITS: Readonly<Record<string, number>> = { char: 8, uchar: 8, short: 16, ushort: 16, int: 32, uint: 32, float: 32, double: 64, complex: 64, dpcomplex: 128 };

/** Counts NaN/±Inf values. */
function countNonFinite(a: Float32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) n++;
  return n;
}

/** Decodes encoded bytes; `what` names the source in errors. */
export async function decodeRgb(buf: Uint8Array, what: string, opts: DecodeOptions = {}): Promise<RgbImage> {
  const policy = opts.bitDepth ?? 'require-8bit';
  // failOn 'warning': libjpeg/libpng warnings (e.g. "Corrupt JPEG data: bad Huffman code") abort the decode.
  const open = () => sharp(buf, { failOn: 'warning' }).rotate();
  let depth: string;
  try {
    depth = (await open().metadata()).depth ?? 'uchar';
  } catch (err) {
    throw new Error(`${what}: not a readable image (${describeDecodeError(err)})`);
  }
  try {
    if (depth === 'uchar') {
      const { data, info } = await open().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      if (info.channels !== 3) throw new Error(`unexpected channel count ${info.channels}`);
      return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    }
    const kind = depth === 'float' || depth === 'double' ? 'float' : depth === 'ushort' ? '16-bit' : 'other';
    if (kind === 'float') {
      // NOTE: decoded as scRGB without any colour conversion, so the file's own values are checked and used.
      const { data, info } = await open().removeAlpha().toColourspace('scrgb').raw({ depth: 'float' }).toBuffer({ resolveWithObject: true });
      const values = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
      const bad = countNonFinite(values);
      if (bad) throw new BitDepthError(`holds ${bad} non-finite value(s) (NaN/±Inf) in a ${BITS[depth]}-bit float image`);
      if (policy !== 'rescale-16bit-and-float') throw new BitDepthError(`is a ${BITS[depth]}-bit float image; 8 bits per channel are required`);
      if (info.channels !== 3) throw new Error(`unexpected channel count ${info.channels}`);
      const out = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, values[i])) * 255);
      return { width: info.width, height: info.height, data: out };
    }
    if (kind === '16-bit' && policy === 'rescale-16bit-and-float') {
      const { data, info } = await open().removeAlpha().toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      if (info.channels !== 3) throw new Error(`unexpected channel count ${info.channels}`);
      const values = new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
      const out = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = Math.round((values[i] * 255) / 65535);
      return { width: info.width, height: info.height, data: out };
    }
    throw new BitDepthError(`is a ${BITS[depth] ?? '?'}-bit (${depth}) image; 8 bits per channel are required`);
  } catch (err) {
    if (err instanceof BitDepthError) throw new BitDepthError(`${what}: ${err.message}`);
    throw new Error(`${what}: not a readable image (${describeDecodeError(err)})`);
  }
}

/**
 * The smallest alpha value of an encoded image, as a fraction of opaque (1 = fully opaque everywhere), or null when
 * it has no alpha channel or cannot be read (a file that does not decode fails its own use later, with a message).
 * `decodeRgb` drops alpha; callers that score files other programs made use this to say so when it matters.
 */
export async function minAlpha(buf: Uint8Array): Promise<number | null> {
  try {
    const meta = await sharp(buf).metadata();
    if (!meta.hasAlpha) return null;
    // NOTE: stats() describes the input image, whatever the pipeline (an extractChannel before it is ignored):
    // alpha is its last band.
    const { channels } = await sharp(buf).stats();
    const full = meta.depth === 'ushort' ? 65535 : meta.depth === 'float' || meta.depth === 'double' ? 1 : 255;
    return channels[channels.length - 1].min / full;
  } catch {
    return null;
  }
}

/**
 * sharp's error text, made explicit for failOn: libvips sometimes loses the decoder's own warning (e.g. "Corrupt
 * JPEG data: bad Huffman code") and reports only "Warning treated as error due to failOn setting".
 */
function describeDecodeError(err: unknown): string {
  const msg = (err instanceof Error ? err.message : String(err)).trim();
  if (/Warning treated as error/i.test(msg) && !/corrupt|premature|bad|invalid/i.test(msg)) {
    return `the decoder warned about corrupt or damaged data (${msg}); refbench never scores such a file`;
  }
  return msg;
}

/** A decodable image that is not 8-bit, or holds non-finite values; the message names the file. */
export class BitDepthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BitDepthError';
  }
}

/** Encodes RGB u8 as PNG (lossless). */
export async function encodePng(img: RgbImage, compressionLevel = 6): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).png({ compressionLevel }).toBuffer();
}

/**
 * Encodes RGB u8 as JPEG with 4:2:0 chroma subsampling (libjpeg's default, as cv2.imencode uses).
 * NOTE: sharp uses mozjpeg; bytes differ from cv2/libjpeg at the same quality (docs/protocol.md §3).
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

/**
 * A display thumbnail of an encoded image: WebP, at most `size` px on its long side (never enlarged), EXIF
 * orientation applied. For the dashboard's grids only: nothing is measured on it.
 */
export async function encodeThumbWebp(bytes: Uint8Array, size: number): Promise<Buffer> {
  return sharp(bytes, { failOn: 'error' }).rotate().resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true }).webp({ quality: 80 }).toBuffer();
}
