/**
 * Follows docs/architecture.md "Recipe: add a dataset adapter" step by step with a toy adapter (`toy-jsonl`: one
 * JSON line per sample, `{"id", "lq", "gt", "refs"}`, paths relative to `root`), registered the way the recipe
 * says, then run through the runner over files of the embedded benchmark: the run must list the index's samples in
 * its order, score them exactly as the built-in synthfaces-ref adapter's run of the same files does, record the
 * adapter in run.json, and refuse a malformed index before any work, naming the file and line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sampleIdProblem } from '../../../src/lib/eval/datasets/sample-id.ts';
import { DatasetError, type Dataset, type DatasetProblem, type SampleRef } from '../../../src/lib/eval/datasets/types.ts';
import { parseOptions } from '../../../src/lib/eval/spec/run-spec.ts';
import { DATASETS } from '../../../src/lib/server/datasets/index.ts';
import { runSpec } from '../../../src/lib/server/runner/evaluate.ts';
import { embeddedBenchmarkRoot } from '../../helpers/embedded-benchmark.ts';

// Step 1. The options schema: a strict z.object (in the repository: src/lib/server/datasets/options.ts).
const ToyJsonlOptionsSchema = z.object({ root: z.string().min(1), index: z.string().min(1), id: z.string().default('toy-jsonl') }).strict();

const Line = z.object({ id: z.string(), lq: z.string(), gt: z.string().optional(), refs: z.array(z.string()).default([]) }).strict();

// Step 2. The factory: OPENS the dataset (reads its index, lists samples as file paths; never writes), reports
// every index problem at once with file and line (DatasetError), and says which folders its files live in
// (in the repository: src/lib/server/datasets/<name>.ts).
async function createToyJsonl(options: Readonly<Record<string, unknown>>): Promise<Dataset> {
  const o = parseOptions(ToyJsonlOptionsSchema, options, { file: "dataset adapter 'toy-jsonl'", path: ['options'] });
  const root = resolve(o.root);
  const index = resolve(o.index);
  return {
    info: { adapter: 'toy-jsonl', id: o.id, version: '1', root },
    roots: [root],
    async samples(): Promise<SampleRef[]> {
      const problems: DatasetProblem[] = [];
      const out: SampleRef[] = [];
      (await readFile(index, 'utf8')).split('\n').forEach((text, i) => {
        if (!text.trim()) return;
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch (err) {
          problems.push({ file: index, line: i + 1, message: `not JSON: ${(err as Error).message}` });
          return;
        }
        const r = Line.safeParse(raw);
        if (!r.success) return problems.push({ file: index, line: i + 1, message: r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ') });
        const why = sampleIdProblem(r.data.id);
        if (why) return problems.push({ file: index, line: i + 1, field: 'id', message: why });
        out.push({ id: r.data.id, lq: join(root, r.data.lq), ...(r.data.gt ? { gt: join(root, r.data.gt) } : {}), refs: r.data.refs.map((p) => join(root, p)) });
      });
      if (problems.length) throw new DatasetError(problems);
      return out;
    },
    async inspect() {
      return [];
    },
  };
}

// Step 3. One registration line (in the repository: src/lib/server/datasets/index.ts, with a lazy import).
DATASETS.register('toy-jsonl', { options: ToyJsonlOptionsSchema, create: createToyJsonl }, 'test/pipeline/recipes/add-a-dataset-adapter.test.ts');

let root: string;
let tmp: string;
let index: string;
let picked: SampleRef[];
beforeAll(async () => {
  root = await embeddedBenchmarkRoot();
  tmp = mkdtempSync(join(tmpdir(), 'refbench-recipe-dataset-'));
  // The index lists three samples of the embedded benchmark's moderate level, in an order of its own.
  const all = await (await DATASETS.get('synthfaces-ref')({ root, level: 'moderate' })).samples();
  picked = [all[5], all[0], all[9]];
  index = join(tmp, 'index.jsonl');
  const rel = (p: string) => relative(root, p);
  writeFileSync(index, picked.map((s) => JSON.stringify({ id: `toy-${s.id}`, lq: rel(s.lq), gt: rel(s.gt!), refs: s.refs.map(rel) })).join('\n') + '\n');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('recipe: add a dataset adapter', () => {
  it('step 4: a run spec names the adapter; the run lists its samples in order and scores them as the same files score anywhere', async () => {
    const r = await runSpec(
      { name: 'recipe-dataset', dataset: { adapter: 'toy-jsonl', options: { root, index } }, restorer: { id: 'lq' }, metrics: ['psnr', 'ssim'] },
      { resultsDir: join(tmp, 'results'), quiet: true },
    );
    expect(r.summary.samples).toMatchObject({ total: 3, ok: 3, error: 0 });
    const run = JSON.parse(readFileSync(join(r.runDir, 'run.json'), 'utf8'));
    expect(run.dataset).toMatchObject({ adapter: 'toy-jsonl', id: 'toy-jsonl', size: 3, available: 3 });
    const lines = readFileSync(join(r.runDir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.sampleId)).toEqual(picked.map((s) => `toy-${s.id}`));

    // The same files through the built-in adapter give the same input hashes and the same numbers.
    const ref = await runSpec(
      { name: 'recipe-dataset-builtin', dataset: { adapter: 'synthfaces-ref', options: { root, level: 'moderate' }, limit: 10 }, restorer: { id: 'lq' }, metrics: ['psnr', 'ssim'] },
      { resultsDir: join(tmp, 'results'), quiet: true },
    );
    const byId = new Map(readFileSync(join(ref.runDir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((l) => [l.sampleId, l]));
    for (const [i, line] of lines.entries()) {
      const twin = byId.get(picked[i].id)!;
      expect(line.inputHash).toBe(twin.inputHash);
      expect(line.metrics.psnr).toBe(twin.metrics.psnr);
      expect(line.metrics.ssim).toBe(twin.metrics.ssim);
    }
  });

  it('a malformed index stops the run before any work, naming the file and line', async () => {
    const bad = join(tmp, 'bad.jsonl');
    writeFileSync(bad, readFileSync(index, 'utf8') + '{"id": "x", "lq": 3}\nnot json\n');
    const run = runSpec({ name: 'recipe-dataset-bad', dataset: { adapter: 'toy-jsonl', options: { root, index: bad } }, restorer: { id: 'lq' }, metrics: [] }, { resultsDir: join(tmp, 'results'), quiet: true });
    await expect(run).rejects.toThrow(DatasetError);
    await expect(run).rejects.toThrow(new RegExp(`${bad}:4[\\s\\S]*${bad}:5`));
  });
});
