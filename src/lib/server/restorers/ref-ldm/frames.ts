/**
 * @file The framed protocol between the `ref-ldm` torch engine and its Python worker
 * (python/refbench_model/worker.py; docs/refldm-runner.md "Protocol"). One frame, either direction:
 *
 *     u32 little-endian header length | header (UTF-8 JSON object) | blob bytes
 *
 * The header's `blobs` lists `{ name, dtype, shape }`; the blobs follow back to back in that order, little-endian,
 * each exactly prod(shape) × itemsize bytes. Pure byte handling: no process, no I/O.
 */

/** Protocol version spoken by this side; the worker announces its own in `hello`. */
export const PROTOCOL_VERSION = 1;
/** Largest header accepted (a header is a small JSON object; anything bigger means a corrupt stream). */
export const MAX_HEADER_BYTES = 16 * 2 ** 20;

export type BlobDtype = 'uint8' | 'float32' | 'int64';
const ITEM_SIZE: Record<BlobDtype, number> = { uint8: 1, float32: 4, int64: 8 };

/** A tensor or image travelling with a frame. */
export interface Blob {
  readonly name: string;
  readonly dtype: BlobDtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array | Float32Array | BigInt64Array;
}

/** A decoded frame: its JSON header (without `blobs`) and the blobs by name. */
export interface Frame {
  readonly header: Readonly<Record<string, unknown>> & { readonly type: string };
  readonly blobs: ReadonlyMap<string, Blob>;
}

/** A stream that cannot be parsed any more (the worker is then treated as broken). */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

function byteLength(dtype: BlobDtype, shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, ITEM_SIZE[dtype]);
}

/** Encodes one frame (header + blobs) into a single buffer. */
export function encodeFrame(header: Readonly<Record<string, unknown>>, blobs: readonly Blob[] = []): Buffer {
  const metas = blobs.map((b) => {
    const want = byteLength(b.dtype, b.shape);
    if (b.data.byteLength !== want) throw new FrameError(`blob '${b.name}': ${b.data.byteLength} bytes for ${b.dtype} ${JSON.stringify(b.shape)} (expected ${want})`);
    return { name: b.name, dtype: b.dtype, shape: [...b.shape] };
  });
  const json = Buffer.from(JSON.stringify({ ...header, blobs: metas }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  // NOTE: typed arrays are little-endian on every platform Node supports (x64, arm64), as the protocol requires.
  return Buffer.concat([len, json, ...blobs.map((b) => Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength))]);
}

/**
 * Incremental decoder: `push` chunks as they arrive, get back every complete frame. Chunks are kept in a list and
 * joined once per frame, so a large frame arriving in many small chunks is not copied quadratically.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private size = 0;

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.size;
  }

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Frame[] = [];
    for (;;) {
      const f = this.next();
      if (!f) return out;
      out.push(f);
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) {
      this.chunks = [Buffer.concat(this.chunks)];
    }
    return this.chunks[0];
  }

  private take(n: number): Buffer {
    const head = this.peek(n);
    const out = head.subarray(0, n);
    if (head.length === n) this.chunks.shift();
    else this.chunks[0] = head.subarray(n);
    this.size -= n;
    return out;
  }

  private next(): Frame | undefined {
    if (this.size < 4) return undefined;
    const n = this.peek(4).readUInt32LE(0);
    if (n === 0 || n > MAX_HEADER_BYTES) throw new FrameError(`frame header length ${n} out of range (corrupt stream?)`);
    if (this.size < 4 + n) return undefined;
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(this.peek(4 + n).subarray(4, 4 + n).toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new FrameError(`frame header is not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    const metas = (header.blobs ?? []) as { name: string; dtype: BlobDtype; shape: number[] }[];
    if (!Array.isArray(metas)) throw new FrameError('frame header: blobs is not an array');
    let total = 0;
    for (const m of metas) {
      if (!(m.dtype in ITEM_SIZE) || !Array.isArray(m.shape)) throw new FrameError(`frame blob ${JSON.stringify(m)}: bad dtype or shape`);
      total += byteLength(m.dtype, m.shape);
    }
    if (this.size < 4 + n + total) return undefined;
    this.take(4 + n);
    const blobs = new Map<string, Blob>();
    for (const m of metas) {
      const bytes = byteLength(m.dtype, m.shape);
      // Copy into a fresh, aligned buffer: typed arrays need an offset that is a multiple of the item size.
      const raw = new Uint8Array(bytes);
      if (bytes) raw.set(this.take(bytes));
      const data = m.dtype === 'uint8' ? raw : m.dtype === 'float32' ? new Float32Array(raw.buffer) : new BigInt64Array(raw.buffer);
      blobs.set(m.name, { name: m.name, dtype: m.dtype, shape: m.shape, data });
    }
    delete header.blobs;
    if (typeof header.type !== 'string') throw new FrameError(`frame header has no type: ${JSON.stringify(header).slice(0, 200)}`);
    return { header: header as Frame['header'], blobs };
  }
}
