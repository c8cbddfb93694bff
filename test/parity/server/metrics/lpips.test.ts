/**
 * @file Parity of `lpips-vgg` / `lpips-alex` (TS + onnxruntime) with the pip `lpips` 0.1.4 pipeline on narrow
 * random-init trunks of the exact topologies (goldens: python -m refbench_golden generate lpips_ids).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLpips } from '../../../../src/lib/server/metrics/lpips.ts';
import { readRgb } from '../../../../src/lib/server/image/io.ts';
import type { MetricItem } from '../../../../src/lib/eval/metrics/metric.ts';

const FIX = 'test/fixtures/lpips';
const golden = JSON.parse(readFileSync(`${FIX}/golden.json`, 'utf8'));
/** TS vs torch on the same random weights: ORT/torch float32 differences only (measured ≈1e-7). */
const TOL = 1e-5;

async function loadItems(ids: readonly string[]): Promise<MetricItem[]> {
  return Promise.all(ids.map(async (id) => ({ sampleId: id, pred: await readRgb(`${FIX}/images/pred/${id}.png`), gt: await readRgb(`${FIX}/images/gt/${id}.png`) })));
}

describe.each(['vgg', 'alex'] as const)('lpips-%s parity (narrow random-init trunk)', (net) => {
  it('matches the lpips package per image within 1e-5, with the PIL-bicubic resize for the 256² prediction', async () => {
    const m = await createLpips(net, { onnx: `${FIX}/${net}-narrow.onnx`, resize: 'pil-bicubic-512', batchPairs: 2 });
    expect(m.spec.weights).toBe('test-random-init');
    const ids: string[] = golden.meta.ids;
    let s = m.init();
    s = await m.update(s, await loadItems(ids.slice(0, 3)));
    s = await m.update(s, await loadItems(ids.slice(3)));
    const r = m.compute(s);
    let maxDelta = 0;
    for (const id of ids) {
      const d = Math.abs(r.perSample![id] - golden[net][id]);
      maxDelta = Math.max(maxDelta, d);
      expect(d, `${net} ${id}: ts ${r.perSample![id]} vs py ${golden[net][id]}`).toBeLessThan(TOL);
    }
    const mean = ids.reduce((a, id) => a + golden[net][id], 0) / ids.length;
    expect(Math.abs(r.value - mean)).toBeLessThan(TOL);
    console.log(`lpips-${net} max |Δ| vs python = ${maxDelta.toExponential(2)}`);
    await m.dispose?.();
  });
});

describe('lpips-vgg behaviour', () => {
  it('is 0 for identical images, symmetric, and batch-invariant', async () => {
    const items = await loadItems(['s0', 's1']);
    const m = await createLpips('vgg', { onnx: `${FIX}/vgg-narrow.onnx`, batchPairs: 2 });
    const one = await createLpips('vgg', { onnx: `${FIX}/vgg-narrow.onnx`, batchPairs: 1 });
    const self = await m.update(m.init(), [{ sampleId: 'x', pred: items[0].gt!, gt: items[0].gt! }]);
    expect(m.compute(self).value).toBe(golden.vgg_self);
    const a = m.compute(await m.update(m.init(), items));
    const b = one.compute(await one.update(one.init(), items.map((it) => ({ ...it, pred: it.gt!, gt: it.pred }))));
    for (const id of ['s0', 's1']) expect(Math.abs(a.perSample![id] - b.perSample![id])).toBeLessThan(1e-6);
    await m.dispose?.();
    await one.dispose?.();
  });

  it('rejects a non-512 image by default, naming the sample and the resize option', async () => {
    const m = await createLpips('vgg', { onnx: `${FIX}/vgg-narrow.onnx` });
    const [it5] = await loadItems(['s5']);
    await expect(m.update(m.init(), [it5])).rejects.toThrow(/s5.*256×256, expected 512×512/);
    await m.dispose?.();
  });

  it('fails on NaN in the network output, naming the sample', async () => {
    // The NaN trunk returns sqrt(input): 3 channels per level, NaN wherever the normalised input is negative.
    const dir = mkdtempSync(join(tmpdir(), 'lpips-nan-'));
    const lin = join(dir, 'nan.lin.json');
    writeFileSync(lin, JSON.stringify({ format: 'refbench-lpips-lin', version: '0.1', net: 'vgg', weights: Array(5).fill([1, 1, 1]) }));
    const m = await createLpips('vgg', { onnx: `${FIX}/nan-trunk.onnx`, lin });
    await expect(m.update(m.init(), await loadItems(['s0']))).rejects.toThrow(/sample 's0'.*NaN/);
    await m.dispose?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails when the model is missing with the exact fetch + convert command', async () => {
    await expect(createLpips('vgg', { modelsDir: 'test/fixtures/does-not-exist' })).rejects.toThrow(
      'Run: refbench models fetch lpips-vgg && refbench models convert lpips-vgg',
    );
  });
});
