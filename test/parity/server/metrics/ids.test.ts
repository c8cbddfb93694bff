/**
 * @file Parity of `ids-arcface-r50` / `ids-refs-arcface-r50` (TS + onnxruntime) with ReF-LDM's IdentityLoss
 * convention in torch, on a narrow (base-4) random-init iresnet50 (goldens: refbench_golden lpips_ids).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createIds, createIdsRefs } from '../../../../src/lib/server/metrics/ids.ts';
import { readRgb } from '../../../../src/lib/server/image/io.ts';
import type { RgbImage } from '../../../../src/lib/eval/types.ts';

const FIX = 'test/fixtures/lpips/images';
const ONNX = 'test/fixtures/ids/r50-narrow.onnx';
const golden = JSON.parse(readFileSync('test/fixtures/ids/golden.json', 'utf8'));
const ids: string[] = golden.meta.ids;
const TOL = 1e-5;

const gt: Record<string, RgbImage> = {};
const pred: Record<string, RgbImage> = {};
for (const id of ids) {
  gt[id] = await readRgb(`${FIX}/gt/${id}.png`);
  pred[id] = await readRgb(`${FIX}/pred/${id}.png`);
}

describe('ids-arcface-r50 parity (narrow random-init iresnet50)', () => {
  it('matches the IdentityLoss pipeline per image within 1e-5 (s5 PIL-bicubic-resized from 256)', async () => {
    const m = await createIds({ onnx: ONNX, resize: 'pil-bicubic-512', batchSize: 4 });
    const s = await m.update(m.init(), ids.map((id) => ({ sampleId: id, pred: pred[id], gt: gt[id] })));
    const r = m.compute(s);
    let maxDelta = 0;
    for (const id of ids) {
      const d = Math.abs(r.perSample![id] - golden.ids[id]);
      maxDelta = Math.max(maxDelta, d);
      expect(d, `${id}: ts ${r.perSample![id]} vs py ${golden.ids[id]}`).toBeLessThan(TOL);
    }
    console.log(`ids-arcface-r50 max |Δ| vs python = ${maxDelta.toExponential(2)}`);
    expect(m.spec.higherIsBetter).toBe(true);
    await m.dispose?.();
  });

  it('ids-refs matches the mean cosine to each reference', async () => {
    const m = await createIdsRefs({ onnx: ONNX, resize: 'pil-bicubic-512' });
    const items = ids.map((id) => ({ sampleId: id, pred: pred[id], refs: (golden.meta.refs[id] as string[]).map((r) => gt[r]) }));
    const r = m.compute(await m.update(m.init(), items));
    let maxDelta = 0;
    for (const id of ids) {
      maxDelta = Math.max(maxDelta, Math.abs(r.perSample![id] - golden.ids_refs[id]));
    }
    console.log(`ids-refs-arcface-r50 max |Δ| vs python = ${maxDelta.toExponential(2)}`);
    expect(maxDelta).toBeLessThan(TOL);
    expect(m.spec.kind).toBe('reference-set');
    await m.dispose?.();
  });

  it('is 1 for identical images', async () => {
    const m = await createIds({ onnx: ONNX });
    const r = m.compute(await m.update(m.init(), [{ sampleId: 'x', pred: gt.s0, gt: gt.s0 }]));
    expect(Math.abs(r.value - 1)).toBeLessThan(1e-12);
    await m.dispose?.();
  });

  it('rejects an image that is not 512×512 unless resize is set', async () => {
    const m = await createIds({ onnx: ONNX });
    await expect(m.update(m.init(), [{ sampleId: 's5', pred: pred.s5, gt: gt.s5 }])).rejects.toThrow(/s5.*256×256, expected 512×512/);
    await m.dispose?.();
  });

  it('fails on NaN in the network output, naming the sample', async () => {
    const m = await createIds({ onnx: 'test/fixtures/ids/nan-r50.onnx' });
    await expect(m.update(m.init(), [{ sampleId: 's1', pred: pred.s1, gt: gt.s1 }])).rejects.toThrow(/s1.*NaN/);
    await m.dispose?.();
  });

  it('fails when the model is missing with the exact fetch + convert command', async () => {
    await expect(createIds({ modelsDir: 'test/fixtures/does-not-exist' })).rejects.toThrow(
      'Run: refbench models fetch arcface-r50-webface && refbench models convert arcface-r50-webface',
    );
  });
});
