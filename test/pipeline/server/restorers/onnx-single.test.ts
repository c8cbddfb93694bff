import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createOnnxSingle } from '../../../../src/lib/server/restorers/onnx-single.ts';
import { mulModel } from './tiny-onnx.ts';

const dir = mkdtempSync(join(tmpdir(), 'onnx-single-'));
const modelPath = join(dir, 'mul.onnx');
writeFileSync(modelPath, mulModel(16));
const lq = { width: 16, height: 16, data: Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 7) % 256) };

describe('onnx-single restorer on a hand-encoded Mul model', () => {
  const made: { dispose(): Promise<void> }[] = [];
  afterAll(async () => Promise.all(made.map((r) => r.dispose())));

  it('w = 1 in [-1, 1] is the identity (round trip of the range conversion)', async () => {
    const r = await createOnnxSingle({ model: modelPath, inputSize: 16, range: 'minus-one-one', extraInputs: { w: 1 } });
    made.push(r);
    const out = await r.restore({ sampleId: 's', lq, refs: [] });
    expect(out.image.width).toBe(16);
    expect(Array.from(out.image.data)).toEqual(Array.from(lq.data));
    expect(out.timings.total).toBeGreaterThan(0);
    expect(r.info.weights.kind).toBe('checkpoint');
  });

  it('w = 0.5 scales around the range centre; bgr swaps channels both ways', async () => {
    const r = await createOnnxSingle({ model: modelPath, inputSize: 16, range: 'minus-one-one', channels: 'bgr', extraInputs: { w: { value: 0.5, dtype: 'float32' } } });
    made.push(r);
    const out = await r.restore({ sampleId: 's', lq, refs: [] });
    for (const i of [0, 1, 2, 100, 767]) {
      const v = (lq.data[i] / 255) * 2 - 1;
      expect(out.image.data[i]).toBe(Math.round(((0.5 * Math.fround(v) + 1) / 2) * 255));
    }
  });

  it('zero-one input range with a different output range', async () => {
    const r = await createOnnxSingle({ model: modelPath, inputSize: 16, range: 'zero-one', outputRange: 'minus-one-one', extraInputs: { w: 1 } });
    made.push(r);
    const out = await r.restore({ sampleId: 's', lq, refs: [] });
    // y = x in [0,1] read as [-1,1]: (x+1)/2·255
    expect(out.image.data[5]).toBe(Math.round(((lq.data[5] / 255 + 1) / 2) * 255));
  });

  it('resizes a non-square-size input to the model and back', async () => {
    const r = await createOnnxSingle({ model: modelPath, inputSize: 16, extraInputs: { w: 1 } });
    made.push(r);
    const big = { width: 32, height: 32, data: new Uint8Array(32 * 32 * 3).fill(200) };
    const out = await r.restore({ sampleId: 's', lq: big, refs: [] });
    expect([out.image.width, out.image.height]).toEqual([32, 32]);
    expect(out.image.data[0]).toBe(200);
  });

  it('rejects bad options, naming the field', async () => {
    await expect(createOnnxSingle({ model: modelPath, range: 'zero-255' })).rejects.toThrow(/range/);
    await expect(createOnnxSingle({ inputSize: 16 })).rejects.toThrow(/model/);
  });
});
