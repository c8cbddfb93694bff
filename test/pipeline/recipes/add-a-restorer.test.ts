/**
 * Follows docs/architecture.md "Recipe: add a restorer" step by step with a toy restorer (`toy-ref-blend`: the LQ
 * blended with the mean of its first `maxRefs` references), registered the way the recipe says, then run through
 * the runner on the embedded benchmark: the saved outputs must be exactly the blend recomputed here from the
 * inputs, run.json must record the restorer's id, version and settings, and samples.jsonl the references it used.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Restorer } from '../../../src/lib/eval/restorers/restorer.ts';
import { parseOptions } from '../../../src/lib/eval/spec/run-spec.ts';
import type { RgbImage } from '../../../src/lib/eval/types.ts';
import { DATASETS } from '../../../src/lib/server/datasets/index.ts';
import { loadImage } from '../../../src/lib/server/datasets/load.ts';
import { readRgb } from '../../../src/lib/server/image/io.ts';
import { RESTORERS } from '../../../src/lib/server/restorers/index.ts';
import { runSpec } from '../../../src/lib/server/runner/evaluate.ts';
import { embeddedBenchmarkRoot } from '../../helpers/embedded-benchmark.ts';

// Step 1. The options schema: a strict z.object (in the repository: src/lib/server/restorers/options.ts).
const ToyBlendOptionsSchema = z.object({ maxRefs: z.number().int().min(0).default(2), weight: z.number().min(0).max(1).default(0.5) }).strict();

// The restorer's own arithmetic (in the repository: pure parts go to src/lib/eval/, the rest in the restorer file).
function blend(lq: RgbImage, refs: readonly RgbImage[], weight: number): RgbImage {
  if (!refs.length) return lq;
  const data = new Uint8Array(lq.data.length);
  for (let i = 0; i < data.length; i++) {
    let r = 0;
    for (const ref of refs) r += ref.data[i];
    data[i] = Math.round((1 - weight) * lq.data[i] + (weight * r) / refs.length);
  }
  return { width: lq.width, height: lq.height, data };
}

// Step 2. The factory: validates its options, says who it is (id, version, weights, resolved settings: all go
// into run.json), restores one sample (512×512 8-bit RGB out, timings.total required), releases what it holds
// (in the repository: src/lib/server/restorers/<name>.ts).
async function createToyRefBlend(options: Readonly<Record<string, unknown>>): Promise<Restorer> {
  const o = parseOptions(ToyBlendOptionsSchema, options, { path: ['restorer', 'options'] });
  return {
    info: { id: 'toy-ref-blend', version: '1', weights: { kind: 'none' }, settings: { maxRefs: o.maxRefs, weight: o.weight } },
    async restore(input, opts) {
      opts?.signal?.throwIfAborted();
      const t0 = performance.now();
      const used = input.refs.slice(0, o.maxRefs); // references arrive in CSV order; the cap is the restorer's
      const image = blend(input.lq, used, o.weight);
      return { image, timings: { total: performance.now() - t0 }, info: { refsUsed: used.length } };
    },
    async dispose() {},
  };
}

// Step 3. One registration line (in the repository: src/lib/server/restorers/index.ts, with a lazy import).
RESTORERS.register('toy-ref-blend', { options: ToyBlendOptionsSchema, create: createToyRefBlend }, 'test/pipeline/recipes/add-a-restorer.test.ts');

let results: string;
let root: string;
beforeAll(async () => {
  root = await embeddedBenchmarkRoot();
  results = mkdtempSync(join(tmpdir(), 'refbench-recipe-restorer-'));
});
afterAll(() => rmSync(results, { recursive: true, force: true }));

describe('recipe: add a restorer', () => {
  it('step 4: a run spec names it; its outputs, settings and references used are recorded', async () => {
    const spec = {
      name: 'recipe-restorer',
      dataset: { adapter: 'synthfaces-ref', options: { root, level: 'severe' }, limit: 3 },
      restorer: { id: 'toy-ref-blend', options: { maxRefs: 2, weight: 0.25 } },
      metrics: ['psnr'],
    };
    const r = await runSpec(spec, { resultsDir: results, quiet: true });
    expect(r.summary.samples).toMatchObject({ total: 3, ok: 3, error: 0 });

    const run = JSON.parse(readFileSync(join(r.runDir, 'run.json'), 'utf8'));
    expect(run.restorer).toMatchObject({ id: 'toy-ref-blend', version: '1', weights: { kind: 'none' }, settings: { maxRefs: 2, weight: 0.25 }, untrained: false });

    const samples = await (await DATASETS.get('synthfaces-ref')({ root, level: 'severe' })).samples();
    const lines = readFileSync(join(r.runDir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const s = samples.find((x) => x.id === line.sampleId)!;
      expect(s.refs.length).toBeGreaterThanOrEqual(2); // every synthfaces target has 2 or more references
      const lq = await loadImage(s.lq, 'lq');
      const refs = [await loadImage(s.refs[0], 'ref'), await loadImage(s.refs[1], 'ref')];
      const want = blend(lq, refs, 0.25);
      const got = await readRgb(join(r.runDir, line.output));
      expect(Buffer.from(got.data).equals(Buffer.from(want.data))).toBe(true);
      expect(Buffer.from(got.data).equals(Buffer.from(lq.data))).toBe(false); // the references changed the image
      expect(line.restorer.refsUsed).toBe(2);
      expect(line.numRefs).toBe(s.refs.length);
      expect(line.metrics.psnr).toBeTypeOf('number');
      expect(line.metrics['time-ms']).toBeTypeOf('number');
    }
  });

  it('an unknown option is refused before any work, naming the closest valid key', async () => {
    const spec = {
      name: 'recipe-restorer-bad',
      dataset: { adapter: 'synthfaces-ref', options: { root, level: 'severe' }, limit: 1 },
      restorer: { id: 'toy-ref-blend', options: { maxRef: 2 } },
      metrics: [],
    };
    await expect(runSpec(spec, { resultsDir: results, quiet: true })).rejects.toThrow(/maxRef[\s\S]*maxRefs/);
  });
});
