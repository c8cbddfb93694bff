/**
 * @file Minimal NumPy `.npy` / `.npz` reader and writer (no dependency): enough for FID statistics
 * (`mu` (d,), `sigma` (d, d), float64) and KID feature sets (`feats` (n, d)).
 *
 * - `.npy`: magic `\x93NUMPY`, version 1.x (u16 header length) or 2.x/3.x (u32), a Python-literal header dict
 *   `{'descr': '<f8', 'fortran_order': False, 'shape': (2048, 2048), }`, then raw data.
 * - `.npz`: a zip archive of `<key>.npy` entries, stored (`np.savez`) or deflated (`np.savez_compressed`).
 *   NumPy writes entries with `force_zip64=True`, so local headers carry 0xFFFFFFFF sizes and a zip64 extra
 *   field; sizes are taken from the central directory (zip64 extra when present).
 * Supported dtypes: little-endian f8, f4, i8, i4, u1 (read as float64); big-endian and object arrays are refused
 * with the file and key named. Written archives use float64, `stored` entries, readable by `np.load`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { crc32 as zlibCrc32, inflateRawSync } from 'node:zlib';

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
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${what}: not an .npz (zip) file: no end-of-central-directory record`);
  let entries = dv.getUint16(eocd + 10, true);
  let cdOff = dv.getUint32(eocd + 16, true);
  if (cdOff === 0xffffffff || entries === 0xffff) {
    // zip64 end of central directory, located by the locator just before the EOCD
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) throw new Error(`${what}: zip64 archive without a zip64 locator`);
    const z64 = Number(dv.getBigUint64(loc + 8, true));
    entries = Number(dv.getBigUint64(z64 + 32, true));
    cdOff = Number(dv.getBigUint64(z64 + 48, true));
  }
  const out = new Map<string, NpyArray>();
  let p = cdOff;
  for (let e = 0; e < entries; e++) {
    if (dv.getUint32(p, true) !== 0x02014b50) throw new Error(`${what}: corrupt central directory at byte ${p}`);
    const method = dv.getUint16(p + 10, true);
    let csize = dv.getUint32(p + 20, true);
    let usize = dv.getUint32(p + 24, true);
    const nlen = dv.getUint16(p + 28, true);
    const xlen = dv.getUint16(p + 30, true);
    const clen = dv.getUint16(p + 32, true);
    let lho = dv.getUint32(p + 42, true);
    const name = new TextDecoder().decode(buf.subarray(p + 46, p + 46 + nlen));
    // zip64 extra field (id 1): the 0xFFFFFFFF fields appear in order usize, csize, offset.
    let x = p + 46 + nlen;
    const xend = x + xlen;
    while (x + 4 <= xend) {
      const id = dv.getUint16(x, true);
      const sz = dv.getUint16(x + 2, true);
      if (id === 1) {
        let q = x + 4;
        if (usize === 0xffffffff) (usize = Number(dv.getBigUint64(q, true))), (q += 8);
        if (csize === 0xffffffff) (csize = Number(dv.getBigUint64(q, true))), (q += 8);
        if (lho === 0xffffffff) lho = Number(dv.getBigUint64(q, true));
      }
      x += 4 + sz;
    }
    p = xend + clen;
    if (dv.getUint32(lho, true) !== 0x04034b50) throw new Error(`${what}: corrupt local header for entry '${name}'`);
    const dataStart = lho + 30 + dv.getUint16(lho + 26, true) + dv.getUint16(lho + 28, true);
    const raw = buf.subarray(dataStart, dataStart + csize);
    let body: Uint8Array;
    if (method === 0) body = raw;
    else if (method === 8) body = inflateRawSync(raw);
    else throw new Error(`${what}: entry '${name}' uses zip compression method ${method} (only stored/deflate are supported)`);
    if (body.length !== usize) throw new Error(`${what}: entry '${name}' has ${body.length} bytes, expected ${usize}`);
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


/** Encodes arrays as an uncompressed `.npz` (zip, stored entries; each entry must stay below 4 GiB). */
export function encodeNpz(arrays: Record<string, { shape: readonly number[]; data: Float64Array }>): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [key, arr] of Object.entries(arrays)) {
    const body = encodeNpy(arr.shape, arr.data);
    const name = new TextEncoder().encode(`${key}.npy`);
    const crc = zlibCrc32(body);
    const lh = new Uint8Array(30 + name.length);
    const l = new DataView(lh.buffer);
    l.setUint32(0, 0x04034b50, true);
    l.setUint16(4, 20, true);
    l.setUint16(8, 0, true); // stored
    l.setUint16(12, 0x21, true); // DOS date 1980-01-01
    l.setUint32(14, crc, true);
    l.setUint32(18, body.length, true);
    l.setUint32(22, body.length, true);
    l.setUint16(26, name.length, true);
    lh.set(name, 30);
    const ch = new Uint8Array(46 + name.length);
    const c = new DataView(ch.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 20, true);
    c.setUint16(6, 20, true);
    c.setUint16(14, 0x21, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, body.length, true);
    c.setUint32(24, body.length, true);
    c.setUint16(28, name.length, true);
    c.setUint32(42, offset, true);
    ch.set(name, 46);
    locals.push(lh, body);
    centrals.push(ch);
    offset += lh.length + body.length;
  }
  const cdSize = centrals.reduce((a, b) => a + b.length, 0);
  const eocd = new Uint8Array(22);
  const e = new DataView(eocd.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, centrals.length, true);
  e.setUint16(10, centrals.length, true);
  e.setUint32(12, cdSize, true);
  e.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let p = 0;
  for (const part of [...locals, ...centrals, eocd]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/** Writes an uncompressed float64 `.npz` readable by `np.load`. */
export async function writeNpz(path: string, arrays: Record<string, { shape: readonly number[]; data: Float64Array }>): Promise<void> {
  await writeFile(path, encodeNpz(arrays));
}
