// src/lib/server/restorers/ref-ldm/engine-restorer.ts: the one Restorer wrapper of both ReF-LDM engines, on a fake
// engine (the real ones: test/pipeline/restorers/torch-engine-failures.test.ts, test/e2e/refldm-torch-run.test.ts).
import { describe, expect, it } from 'vitest';
import type { RestorerInfo } from '../../../../../src/lib/eval/restorers/restorer.ts';
import type { RgbImage } from '../../../../../src/lib/eval/types.ts';
import { engineRestorer, type EngineSample, type RefLdmEngine } from '../../../../../src/lib/server/restorers/ref-ldm/engine-restorer.ts';

const img = (v: number): RgbImage => ({ width: 2, height: 1, data: Uint8Array.of(v, v, v, v, v, v) });

class FakeEngine implements RefLdmEngine {
  loadMs = 1234.5678;
  calls: { lq: RgbImage; refs: readonly RgbImage[]; xT: Float32Array }[] = [];
  async sample(lq: RgbImage, refs: readonly RgbImage[], xT: Float32Array, onStep?: (i: number, n: number) => void): Promise<EngineSample> {
    this.calls.push({ lq, refs, xT });
    onStep?.(1, 2);
    onStep?.(2, 2);
    return {
      image: img(7),
      latent: new Float32Array(4),
      timings: { preprocess: 0.123, encode: 1.005, refPass: 2.499, steps: [3.3333, 4.4444], decode: 5.555, total: 16.6666 },
      info: { refsUsed: refs.length, weights: 'from-engine' },
    };
  }
  async decode(latent: Float32Array): Promise<Float32Array> {
    return latent;
  }
}

const info = (kind: 'random-init' | 'checkpoint'): RestorerInfo => ({
  id: 'ref-ldm',
  version: 'test',
  weights: kind === 'random-init' ? { kind, seed: 3, files: [] } : { kind, files: [] },
  settings: {},
});

describe('engineRestorer', () => {
  it('passes the run x_T and the inputs to the engine, rounds timings to 0.01 ms and adds load time and weights kind', async () => {
    const engine = new FakeEngine();
    const xT = Float32Array.of(1, 2, 3);
    const r = engineRestorer(engine, { info: info('random-init'), weightFiles: [], xT, dispose: async () => {} });
    expect(r.engine).toBe(engine);
    expect(r.xT).toBe(xT);
    const steps: [number, number][] = [];
    const lq = img(1);
    const refs = [img(2), img(3)];
    const out = await r.restore({ sampleId: 's', lq, refs }, { onStep: (i, n) => steps.push([i, n]) });
    expect(engine.calls).toEqual([{ lq, refs, xT }]);
    expect(steps).toEqual([[1, 2], [2, 2]]);
    expect(out.image.data).toEqual(img(7).data);
    expect(out.timings).toEqual({ preprocess: 0.12, encode: 1, refPass: 2.5, steps: [3.33, 4.44], decode: 5.56, total: 16.67 });
    // The wrapper's keys come last: the weights kind is the run's, whatever the engine's info says.
    expect(out.info).toEqual({ refsUsed: 2, weights: 'random-init', modelLoadMs: 1234.57 });
    const checkpoint = engineRestorer(engine, { info: info('checkpoint'), weightFiles: [], xT, dispose: async () => {} });
    expect((await checkpoint.restore({ sampleId: 's', lq, refs: [] })).info).toMatchObject({ refsUsed: 0, weights: 'checkpoint' });
  });

  it('refuses an aborted sample before the engine runs, and disposes through the given function', async () => {
    const engine = new FakeEngine();
    let disposed = 0;
    const r = engineRestorer(engine, { info: info('checkpoint'), weightFiles: [], xT: new Float32Array(1), dispose: async () => void disposed++ });
    const ac = new AbortController();
    ac.abort();
    await expect(r.restore({ sampleId: 'x1', lq: img(0), refs: [] }, { signal: ac.signal })).rejects.toThrow(/^x1: aborted$/);
    expect(engine.calls).toHaveLength(0);
    await r.dispose();
    expect(disposed).toBe(1);
  });
});
