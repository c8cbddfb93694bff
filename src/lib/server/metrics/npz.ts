/**
 * @file Minimal NumPy `.npy` / `.npz` reader and writer: enough for FID statistics (`mu` (d,), `sigma` (d, d),
 * float64), KID feature sets (`feats` (n, d)) and the distribution metrics' shard states.
 *
 * - `.npy` (here): magic `\x93NUMPY`, version 1.x (u16 header length) or 2.x/3.x (u32), a Python-literal header
 *   dict `{'descr': '<f8', 'fortran_order': False, 'shape': (2048, 2048), }`, then raw data.
 * - `.npz`: a zip archive of `<key>.npy` entries, stored (`np.savez`) or deflated (`np.savez_compressed`); the zip
 *   layer is fflate's `unzipSync` / `zipSync`. NumPy writes entries with `force_zip64=True` (0xFFFFFFFF sizes and a
 *   zip64 extra field in the local headers); fflate takes the sizes from the central directory, as zip readers do.
 * Supported dtypes: little-endian f8, f4, i8, i4, u1 (read as float64); big-endian and object arrays are refused
 * with the file and key named. Written archives use float64, `stored` entries dated 1980-01-01 (so the same arrays
 * give the same bytes), readable by `np.load`. Tested both ways against numpy: python/tests/test_npz_roundtrip.py
 * and test/unit/server/metrics/npz.test.ts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { unzipSync, zipSync, type Zippable } from 'fflate';

/** One array from a .npy / .npz: values converted to float64, C order. */
export interface NpyArray {
  /** NumPy dtype string as stored, e.g. `<f8`. */
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/**
 * Parses one `.npy` buffer.
 * @param what names the source (file[:key]) in errors.
 */
export function parseNpy(buf: Uint8Array, what: string): NpyArray {
  if (buf.length < 10 || NPY_MAGIC.some((b, i) => buf[i] !== b)) throw new Error(`${what}: not a .npy array (bad magic)`);
  const major = buf[6];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(buf.subarray(hstart, hstart + hlen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] === 'True';
  const shapeStr = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeStr === undefined) throw new Error(`${what}: unreadable .npy header ${JSON.stringify(header.trim())}`);
  const shape = shapeStr
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length)
    .map((s) => Number.parseInt(s, 10));
  const count = shape.reduce((a, b) => a * b, 1);
  const off = hstart + hlen;
  const readers: Record<string, [number, (o: number) => number]> = {
    '<f8': [8, (o) => dv.getFloat64(o, true)],
    '<f4': [4, (o) => dv.getFloat32(o, true)],
    '<i8': [8, (o) => Number(dv.getBigInt64(o, true))],
    '<i4': [4, (o) => dv.getInt32(o, true)],
    '|u1': [1, (o) => dv.getUint8(o)],
  };
  const r = readers[descr];
  if (!r) throw new Error(`${what}: unsupported dtype '${descr}' (supported: ${Object.keys(readers).join(', ')})`);
  const [size, get] = r;
  if (buf.length < off + count * size) throw new Error(`${what}: truncated: ${buf.length - off} data bytes for shape (${shape.join(', ')}) of ${descr}`);
  let data = new Float64Array(count);
  if (descr === '<f8' && (buf.byteOffset + off) % 8 === 0) {
    data.set(new Float64Array(buf.buffer, buf.byteOffset + off, count));
  } else {
    for (let i = 0; i < count; i++) data[i] = get(off + i * size);
  }
  if (fortran && shape.length > 1) {
    // Fortran order → C order (general N-d transpose of the index).
    const c = new Float64Array(count);
    const nd = shape.length;
    const idx = new Array<number>(nd).fill(0);
    for (let f = 0; f < count; f++) {
      let ci = 0;
      for (let k = 0; k < nd; k++) ci = ci * shape[k] + idx[k];
      c[ci] = data[f];
      for (let k = 0; k < nd; k++) {
        if (++idx[k] < shape[k]) break;
        idx[k] = 0;
      }
    }
    data = c;
  }
  return { dtype: descr, shape, data };
}

/**
 * Parses a `.npz` archive into its arrays keyed by name (without `.npy`).
 * @throws Error naming the file (and entry) for a non-zip file, an unsupported compression or a bad array.
 */
export function parseNpz(buf: Uint8Array, what: string): Map<string, NpyArray> {
  const sizes = new Map<string, number>();
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(buf, { filter: (f) => (sizes.set(f.name, f.originalSize), true) });
  } catch (err) {
    throw new Error(`${what}: not a readable .npz (zip) file: ${(err as Error).message}`);
  }
  const out = new Map<string, NpyArray>();
  for (const [name, body] of Object.entries(entries)) {
    if (body.length !== sizes.get(name)) throw new Error(`${what}: entry '${name}' has ${body.length} bytes, expected ${sizes.get(name)}`);
    const key = name.endsWith('.npy') ? name.slice(0, -4) : name;
    out.set(key, parseNpy(body, `${what}:${key}`));
  }
  return out;
}

/** Reads a `.npz` file. @throws Error naming the file when it is missing or malformed. */
export async function readNpz(path: string): Promise<Map<string, NpyArray>> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(err)})`}`);
  }
  return parseNpz(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}

/** Encodes a float64 C-order array as `.npy` v1.0. */
export function encodeNpy(shape: readonly number[], data: Float64Array): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeNpy: shape (${shape.join(', ')}) needs ${count} values, got ${data.length}`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // total header (magic 6 + version 2 + len 2 + header + '\n') padded to a multiple of 64
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length * 8);
  out.set(NPY_MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const dv = new DataView(out.buffer);
  const off = 10 + header.length;
  for (let i = 0; i < data.length; i++) dv.setFloat64(off + i * 8, data[i], true);
  return out;
}


/** The date of every entry written (DOS time starts in 1980; a fixed date makes the bytes a function of the arrays). */
const ENTRY_DATE = new Date(1980, 0, 1);

/** Encodes arrays as an uncompressed `.npz` (zip, stored entries; each entry must stay below 4 GiB). */
export function encodeNpz(arrays: Record<string, { shape: readonly number[]; data: Float64Array }>): Uint8Array {
  const entries: Zippable = {};
  for (const [key, arr] of Object.entries(arrays)) entries[`${key}.npy`] = [encodeNpy(arr.shape, arr.data), { level: 0, mtime: ENTRY_DATE }];
  return zipSync(entries);
}

/** Writes an uncompressed float64 `.npz` readable by `np.load`. */
export async function writeNpz(path: string, arrays: Record<string, { shape: readonly number[]; data: Float64Array }>): Promise<void> {
  await writeFile(path, encodeNpz(arrays));
}
