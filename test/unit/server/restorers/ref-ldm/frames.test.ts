/**
 * The torch engine's framed protocol (frames.ts): round trips of headers and typed blobs, frames split across
 * arbitrary chunk boundaries or packed into one chunk, and a corrupt stream reported as such.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, FrameError, MAX_HEADER_BYTES } from '../../../../../src/lib/server/restorers/ref-ldm/frames.ts';

const img = Uint8Array.from({ length: 4 * 5 * 3 }, (_, i) => (i * 7) % 256);
const lat = Float32Array.from({ length: 2 * 3 }, (_, i) => i / 3 - 1);
const ids = BigInt64Array.of(-1n, 2n ** 40n);

function frames() {
  return [
    encodeFrame({ type: 'restore', id: 1, note: 'ü' }, [
      { name: 'lq', dtype: 'uint8', shape: [4, 5, 3], data: img },
      { name: 'xT', dtype: 'float32', shape: [1, 2, 3], data: lat },
      { name: 't', dtype: 'int64', shape: [2], data: ids },
      { name: 'empty', dtype: 'float32', shape: [0, 3], data: new Float32Array(0) },
    ]),
    encodeFrame({ type: 'step', i: 1, n: 2 }),
  ];
}

function check(out: ReturnType<FrameDecoder['push']>) {
  expect(out.map((f) => f.header.type)).toEqual(['restore', 'step']);
  const [a, b] = out;
  expect(a.header).toEqual({ type: 'restore', id: 1, note: 'ü' });
  expect(Array.from(a.blobs.get('lq')!.data as Uint8Array)).toEqual(Array.from(img));
  expect(a.blobs.get('lq')!.shape).toEqual([4, 5, 3]);
  expect(Array.from(a.blobs.get('xT')!.data as Float32Array)).toEqual(Array.from(lat));
  expect(Array.from(a.blobs.get('t')!.data as BigInt64Array)).toEqual([-1n, 2n ** 40n]);
  expect(a.blobs.get('empty')!.data.length).toBe(0);
  expect(b.header).toEqual({ type: 'step', i: 1, n: 2 });
  expect(b.blobs.size).toBe(0);
}

describe('frames', () => {
  it('round-trips two frames given as one chunk', () => {
    const d = new FrameDecoder();
    check(d.push(Buffer.concat(frames())));
    expect(d.pending).toBe(0);
  });

  it('round-trips when every byte arrives alone, and when blobs start at odd offsets', () => {
    const all = Buffer.concat(frames());
    const d = new FrameDecoder();
    const out = [];
    for (let i = 0; i < all.length; i++) out.push(...d.push(all.subarray(i, i + 1)));
    check(out);
    // a leading 1-byte frame remainder shifts the float blob to an odd offset inside the chunk: still decoded
    const d2 = new FrameDecoder();
    const cut = 7;
    check([...d2.push(all.subarray(0, cut)), ...d2.push(all.subarray(cut))]);
  });

  it('rejects a blob whose bytes do not match its shape, and a corrupt stream', () => {
    expect(() => encodeFrame({ type: 'x' }, [{ name: 'a', dtype: 'float32', shape: [3], data: new Float32Array(2) }])).toThrow(/blob 'a': 8 bytes for float32 \[3\] \(expected 12\)/);
    const bad = Buffer.alloc(8);
    bad.writeUInt32LE(MAX_HEADER_BYTES + 1, 0);
    expect(() => new FrameDecoder().push(bad)).toThrow(FrameError);
    const notJson = Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('{x}')]);
    expect(() => new FrameDecoder().push(notJson)).toThrow(/frame header is not JSON/);
  });
});
