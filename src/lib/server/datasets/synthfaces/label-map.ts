/**
 * @file Face-parsing label maps of synthfaces-ref: renders `faceLabelSvg` (same geometry as the HQ image, class
 * ids as grey levels, antialiasing off), checks that every pixel is a valid class id, and encodes the map as an
 * 8-bit greyscale PNG (colour type 0), which `flpips-vgg` reads from its `maskDir`.
 *
 * NOTE: the PNG is written here with node:zlib rather than through sharp: sharp would need a one-channel raw
 * input path in image/io.ts, and the format is trivial. Bytes are deterministic (fixed zlib level, no filters).
 */
import { crc32 as zlibCrc32, deflateSync } from 'node:zlib';
import { renderSvg } from '../../image/io.ts';
import { FACE_LABELS, faceLabelSvg, type FaceIdentity, type FaceVariation } from './face-svg.ts';

/** A single-channel class-id map, row-major. */
export interface LabelPlane {
  readonly width: number;
  readonly height: number;
  readonly labels: Uint8Array;
}

/** The class ids a synthfaces label map may contain. */
export const SYNTHFACES_LABEL_IDS: readonly number[] = Object.freeze([...new Set(Object.values(FACE_LABELS))].sort((a, b) => a - b));

/**
 * Renders the label map of one face.
 * @throws Error when a pixel is not grey or not a drawable class id (antialiasing leaked in).
 */
export async function renderFaceLabels(id: FaceIdentity, v: FaceVariation, size = 512, what = 'synthfaces label map'): Promise<LabelPlane> {
  const img = await renderSvg(faceLabelSvg(id, v, size));
  const valid = new Uint8Array(256);
  for (const k of SYNTHFACES_LABEL_IDS) valid[k] = 1;
  const labels = new Uint8Array(img.width * img.height);
  for (let p = 0, s = 0; p < labels.length; p++, s += 3) {
    const k = img.data[s];
    if (img.data[s + 1] !== k || img.data[s + 2] !== k || !valid[k]) {
      throw new Error(`${what}: pixel (${p % img.width}, ${Math.floor(p / img.width)}) is rgb(${img.data[s]},${img.data[s + 1]},${img.data[s + 2]}), not a class id`);
    }
    labels[p] = k;
  }
  return { width: img.width, height: img.height, labels };
}

/** CRC-32 of the concatenation of `bufs` (zlib's, as PNG chunks need). */
function crc32(bufs: readonly Uint8Array[]): number {
  return bufs.reduce((c, b) => zlibCrc32(b, c), 0);
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32([head.subarray(4), data]), 0);
  return Buffer.concat([head, data, crc]);
}

/** Encodes a one-channel u8 plane as an 8-bit greyscale PNG (no interlace, filter 0 on every row). */
export function encodeGreyPng(plane: LabelPlane): Buffer {
  const { width, height, labels } = plane;
  if (labels.length !== width * height) throw new Error(`encodeGreyPng: ${labels.length} values for ${width}×${height}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // bit depth 8, colour type 0 (grey), deflate, filter method 0, no interlace
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) raw.set(labels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
