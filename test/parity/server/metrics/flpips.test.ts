/**
 * @file Parity of `flpips-vgg` with LPIPS-VGG (lpips package) on GT-face-masked u8 pairs, masks from committed
 * synthetic CelebAMask-HQ-order label maps (.npy for s0–s2, greyscale .png for s3–s5).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createFlpips, readLabelMap } from '../../../../src/lib/server/metrics/flpips.ts';
import { readRgb } from '../../../../src/lib/server/image/io.ts';
import type { MetricItem } from '../../../../src/lib/eval/metrics/metric.ts';

const FIX = 'test/fixtures/lpips';
const golden = JSON.parse(readFileSync(`${FIX}/golden.json`, 'utf8'));

async function loadItems(ids: readonly string[]): Promise<MetricItem[]> {
  return Promise.all(ids.map(async (id) => ({ sampleId: id, pred: await readRgb(`${FIX}/images/pred/${id}.png`), gt: await readRgb(`${FIX}/images/gt/${id}.png`) })));
}

describe('flpips-vgg parity (narrow random-init trunk)', () => {
  it('matches the masked lpips pipeline per image within 1e-5', async () => {
    const m = await createFlpips({ onnx: `${FIX}/vgg-narrow.onnx`, maskDir: `${FIX}/labels`, resize: 'pil-bicubic-512' });
    const ids: string[] = golden.meta.ids;
    const r = m.compute(await m.update(m.init(), await loadItems(ids)));
    let maxDelta = 0;
    for (const id of ids) maxDelta = Math.max(maxDelta, Math.abs(r.perSample![id] - golden.flpips_vgg[id]));
    console.log(`flpips-vgg max |Δ| vs python = ${maxDelta.toExponential(2)}`);
    expect(maxDelta).toBeLessThan(1e-5);
    // The mask matters: fLPIPS differs from plain LPIPS on every sample.
    for (const id of ids) expect(Math.abs(r.perSample![id] - golden.vgg[id])).toBeGreaterThan(1e-3);
    await m.dispose?.();
  });

  it('reads .npy and .png label maps alike', async () => {
    const a = await readLabelMap(`${FIX}/labels`, 's0');
    const b = await readLabelMap(`${FIX}/labels`, 's3.png');
    expect([a.width, a.height, b.width, b.height]).toEqual([512, 512, 512, 512]);
    expect(new Set(a.labels).has(2)).toBe(true);
    expect(new Set(b.labels).has(14)).toBe(true);
  });

  it('fails on a missing mask, naming the files it looked for', async () => {
    const m = await createFlpips({ onnx: `${FIX}/vgg-narrow.onnx`, maskDir: `${FIX}/images` });
    const [it0] = await loadItems(['s0']);
    await expect(m.update(m.init(), [it0])).rejects.toThrow(`no face-parsing label map for sample 's0' (tried ${FIX}/images/s0.npy, ${FIX}/images/s0.png)`);
    await m.dispose?.();
  });
});
