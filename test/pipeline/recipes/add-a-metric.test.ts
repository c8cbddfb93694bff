/**
 * Follows docs/architecture.md "Recipe: add a metric" step by step with a toy metric (`toy-mad`, the mean absolute
 * difference to the ground truth in 8-bit levels), registered the way the recipe says, then run through the runner
 * on the embedded benchmark: its values must land in samples.jsonl (equal to the value recomputed here from the
 * saved output and the GT) and in summary.json, its options are validated strictly, and a near-miss id gets a
 * "did you mean".
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { perSampleMetric, type MetricSpec } from '../../../src/lib/eval/metrics/metric.ts';
import { parseOptions } from '../../../src/lib/eval/spec/run-spec.ts';
import type { RgbImage } from '../../../src/lib/eval/types.ts';
import { DATASETS } from '../../../src/lib/server/datasets/index.ts';
import { loadImage } from '../../../src/lib/server/datasets/load.ts';
import { readRgb } from '../../../src/lib/server/image/io.ts';
import { METRICS, metricConventions, registerMetric } from '../../../src/lib/server/metrics/index.ts';
import { runSpec } from '../../../src/lib/server/runner/evaluate.ts';
import { embeddedBenchmarkRoot } from '../../helpers/embedded-benchmark.ts';

// Step 1. The pure maths, runtime-neutral (in the repository: src/lib/eval/metrics/functional/<name>.ts).
function meanAbsDiff(a: RgbImage, b: RgbImage): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`toy-mad: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i] - b.data[i]);
  return sum / a.data.length;
}

// Step 2. The options schema: a strict z.object (in the repository: src/lib/server/metrics/options.ts).
const ToyMadOptionsSchema = z.object({ scale: z.number().positive().default(1) }).strict();

// Step 3. The metric: its spec (id, version, kind, direction, decimals, description, weights) and a thin shell
// over the maths (in the repository: src/lib/server/metrics/<name>.ts).
const TOY_MAD_SPEC: MetricSpec = Object.freeze({
  id: 'toy-mad',
  version: '1',
  kind: 'paired',
  higherIsBetter: false,
  range: [0, 255] as const,
  decimals: 3,
  description: 'toy: mean absolute difference to the GT in 8-bit levels, times `scale`',
  input: {},
  weights: 'none',
});
async function createToyMad(options: Readonly<Record<string, unknown>>) {
  const o = parseOptions(ToyMadOptionsSchema, options, { path: ['metrics', 'toy-mad', 'options'] });
  return perSampleMetric(TOY_MAD_SPEC, (items) => items.map((it) => o.scale * meanAbsDiff(it.pred, it.gt!)));
}

// Step 4. One registration, with the conventions the dashboard shows on the metric's column (in the repository:
// one `register(...)` line in src/lib/server/metrics/index.ts).
registerMetric(
  'toy-mad',
  {
    options: ToyMadOptionsSchema,
    create: createToyMad,
    conventions: { implementation: 'toy (this test)', input: 'RGB uint8', resize: { default: 'none, no crop' } },
  },
  'test/pipeline/recipes/add-a-metric.test.ts',
);

let results: string;
let root: string;
beforeAll(async () => {
  root = await embeddedBenchmarkRoot();
  results = mkdtempSync(join(tmpdir(), 'refbench-recipe-metric-'));
});
afterAll(() => rmSync(results, { recursive: true, force: true }));

describe('recipe: add a metric', () => {
  it('is registered with its conventions, and a near-miss id suggests it', () => {
    expect(METRICS.has('toy-mad')).toBe(true);
    expect(metricConventions('toy-mad')?.implementation).toBe('toy (this test)');
    expect(() => METRICS.get('toy-mda')).toThrow(/Did you mean: toy-mad/);
  });

  it('step 5: a run spec lists it; its per-sample values land in samples.jsonl and its mean in summary.json', async () => {
    const spec = {
      name: 'recipe-metric',
      dataset: { adapter: 'synthfaces-ref', options: { root, level: 'moderate' }, limit: 3 },
      restorer: { id: 'lq' },
      metrics: [{ id: 'toy-mad', options: { scale: 2 } }, 'psnr'],
    };
    const r = await runSpec(spec, { resultsDir: results, quiet: true });
    expect(r.summary.samples).toMatchObject({ total: 3, ok: 3, error: 0 });

    const lines = readFileSync(join(r.runDir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    // Recompute each value independently: the saved output against the GT the dataset lists (loaded at 512).
    const samples = await (await DATASETS.get('synthfaces-ref')({ root, level: 'moderate' })).samples();
    const values: number[] = [];
    for (const line of lines) {
      const s = samples.find((x) => x.id === line.sampleId)!;
      const want = 2 * meanAbsDiff(await readRgb(join(r.runDir, line.output)), await loadImage(s.gt!, 'gt'));
      expect(want).toBeGreaterThan(0); // the LQ differs from the GT, so the metric has something to measure
      expect(line.metrics['toy-mad']).toBeCloseTo(want, 10);
      expect(line.metrics.psnr).toBeTypeOf('number');
      values.push(want);
    }
    const summary = JSON.parse(readFileSync(join(r.runDir, 'summary.json'), 'utf8'));
    expect(summary.metrics['toy-mad'].value).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 10);
    expect(summary.metrics['toy-mad'].coverage).toBe('3/3');
    const run = JSON.parse(readFileSync(join(r.runDir, 'run.json'), 'utf8'));
    expect(run.metrics.find((m: { id: string }) => m.id === 'toy-mad')).toMatchObject({ version: '1', higherIsBetter: false, options: { scale: 2 } });
  });

  it('its options are strict: a misspelt key stops the run before any work, naming the closest key', async () => {
    const spec = {
      name: 'recipe-metric-bad',
      dataset: { adapter: 'synthfaces-ref', options: { root, level: 'moderate' }, limit: 1 },
      restorer: { id: 'lq' },
      metrics: [{ id: 'toy-mad', options: { scal: 2 } }],
    };
    await expect(runSpec(spec, { resultsDir: results, quiet: true })).rejects.toThrow(/scal[\s\S]*scale/);
  });
});
