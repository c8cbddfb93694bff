/**
 * @file Test helpers that build problem image files: a JPEG with a corrupt Huffman table (decodes with libjpeg
 * warnings), a 32-bit float RGB TIFF (any values, NaN/Inf included), a 16-bit PNG.
 */
import sharp from 'sharp';
import type { RgbImage } from '../../src/lib/eval/types.ts';

/**
 * Encodes `img` as a baseline JPEG and scrambles the symbol bytes of its luma AC Huffman table (DHT class 1,
 * id 0). The code lengths stay valid, so libjpeg accepts the header and decodes the scan with warnings
 * ("Corrupt JPEG data: bad Huffman code") into a garbled image.
 */
export async function jpegWithCorruptHuffman(img: RgbImage): Promise<Buffer> {
  const jpg = Buffer.from(await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).jpeg({ quality: 90, mozjpeg: false }).toBuffer());
  let i = 2;
  while (i + 4 <= jpg.length && jpg[i] === 0xff) {
    const marker = jpg[i + 1];
    const len = jpg.readUInt16BE(i + 2);
    if (marker === 0xda) break;
    // One table per DHT segment (libjpeg/sharp writes them so): [Tc|Th][16 counts][symbols].
    if (marker === 0xc4 && jpg[i + 4] === 0x10) {
      for (let k = i + 4 + 17; k < i + 2 + len; k++) jpg[k] = (jpg[k] * 37 + 11) & 255;
      return jpg;
    }
    i += 2 + len;
  }
  throw new Error('no luma AC Huffman table found');
}

/** A little-endian baseline TIFF, uncompressed, RGB, 32-bit IEEE float per sample (`values` interleaved RGB). */
export function floatTiff(width: number, height: number, values: Float32Array): Buffer {
  const tags: [number, number, number, number][] = []; // tag, type (3 SHORT, 4 LONG), count, value/offset
  const n = 11;
  const ifd = 8;
  const after = ifd + 2 + n * 12 + 4;
  const bitsAt = after;
  const formatAt = after + 6;
  const dataAt = after + 12;
  const bytes = width * height * 3 * 4;
  tags.push([256, 4, 1, width], [257, 4, 1, height], [258, 3, 3, bitsAt], [259, 3, 1, 1], [262, 3, 1, 2], [273, 4, 1, dataAt]);
  tags.push([277, 3, 1, 3], [278, 4, 1, height], [279, 4, 1, bytes], [284, 3, 1, 1], [339, 3, 3, formatAt]);
  const b = Buffer.alloc(dataAt + bytes);
  b.write('II', 0, 'latin1');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(ifd, 4);
  b.writeUInt16LE(n, ifd);
  tags.forEach(([tag, type, count, value], k) => {
    const o = ifd + 2 + k * 12;
    b.writeUInt16LE(tag, o);
    b.writeUInt16LE(type, o + 2);
    b.writeUInt32LE(count, o + 4);
    if (type === 3 && count === 1) b.writeUInt16LE(value, o + 8);
    else b.writeUInt32LE(value, o + 8);
  });
  for (let c = 0; c < 3; c++) {
    b.writeUInt16LE(32, bitsAt + 2 * c);
    b.writeUInt16LE(3, formatAt + 2 * c); // SampleFormat 3 = IEEE float
  }
  for (let k = 0; k < values.length; k++) b.writeFloatLE(values[k], dataAt + 4 * k);
  return b;
}

/** A 16-bit RGB PNG of the given 16-bit values (interleaved RGB). */
export async function png16(width: number, height: number, values: Uint16Array): Promise<Buffer> {
  return sharp(values, { raw: { width, height, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
}
