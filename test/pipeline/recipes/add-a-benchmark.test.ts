/**
 * Follows docs/architecture.md "Recipe: add a benchmark" step by step with a toy benchmark file (the embedded
 * faces' moderate level scored with PSNR, SSIM and LPIPS-VGG on its test network), written to a temporary
 * benchmarks folder: the protocol hash is taken from the loader's own error as the recipe says, the file then
 * loads, `reproduce`'s planner turns it into runs, and one run goes through the runner: run.json records the
 * benchmark's id, protocol version and hash, the per-machine values are filled in, and the metrics land in
 * samples.jsonl. Changing the protocol without bumping its version is refused.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBenchmark } from '../../../src/lib/server/experiments/benchmarks.ts';
import { loadExperiment, planExperiment } from '../../../src/lib/server/experiments/experiments.ts';
import { UserConfig } from '../../../src/lib/server/experiments/user-config.ts';
import { runSpec } from '../../../src/lib/server/runner/evaluate.ts';
import { embeddedBenchmarkRoot } from '../../helpers/embedded-benchmark.ts';

const REPO = join(import.meta.dirname, '../../..');
const ID = 'toy-faces-moderate';

// Step 1. The benchmark file, benchmarks/<id>.yaml (here in a temporary benchmarks folder): the dataset adapter
// and its options (per-machine paths as { config: ... } references), the reference cap, the metrics in their
// exact modes, the paper dataset whose columns it fills, a default restorer profile and a cost estimate. The
// protocol hash starts as a placeholder.
const yaml = (sha: string, metrics = '[psnr, ssim, lpips]') => `# toy benchmark of the recipe test
id: ${ID}
title: toy faces (moderate)
protocol:
  version: 1
  sha256: "${sha}"
  changes:
    1: first version
paper:
  dataset: ffhq-ref-test-moderate
  standIn: synthetic faces and a test network (recipe test)
dataset:
  adapter: synthfaces-ref
  options: { level: moderate, root: { config: datasets.synthfaces-ref, default: .cache/synthfaces-ref } }
references: { max: 5, order: csv }
metrics:
${(metrics === '[psnr, ssim, lpips]'
  ? ['  - { id: psnr }', '  - { id: ssim }', '  - { id: lpips-vgg, options: { resize: none, onnx: { repo: test/fixtures/lpips/vgg-narrow.onnx } } }']
  : ['  - { id: psnr }']
).join('\n')}
defaults: { restorer: refldm-tiny }
cost: { metricsSecondsPerImage: { cpu: 0.5, cuda: 0.5 } }
`;

let dir: string;
let root: string;
beforeAll(async () => {
  root = await embeddedBenchmarkRoot();
  dir = mkdtempSync(join(tmpdir(), 'refbench-recipe-benchmark-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('recipe: add a benchmark', () => {
  it('steps 2-4: set the protocol hash the loader prints, plan it with reproduce, run it', async () => {
    const file = join(dir, `${ID}.yaml`);
    writeFileSync(file, yaml('0'.repeat(64)));
    // Step 2. Loading it prints the hash to record.
    let message = '';
    try {
      loadBenchmark(ID, dir);
    } catch (err) {
      message = (err as Error).message;
    }
    const sha = /set protocol\.sha256 to ([0-9a-f]{64})/.exec(message)?.[1];
    expect(sha, message).toBeDefined();
    writeFileSync(file, yaml(sha!));
    const b = loadBenchmark(ID, dir);
    expect(b.protocol).toMatchObject({ version: 1, sha256: sha });

    // Step 3. `refbench reproduce <table> --benchmark <id> --restorer <profile>` plans one run per table row.
    const config = UserConfig.of({ datasets: { 'synthfaces-ref': root } });
    const results = join(dir, 'results');
    const plan = planExperiment(loadExperiment('table5'), { config, resultsDir: results, benchmarks: [ID], benchmarksDir: dir, restorer: 'refldm-tiny', limit: 1 });
    expect(plan.map((p) => p.name)).toEqual(['refs1', 'refs3', 'refs5', 'refs8'].map((v) => `${ID}-refldm-tiny-${v}`));
    expect(plan.every((p) => p.state === 'missing' && p.missingFiles.length === 0)).toBe(true);

    // Step 4. Each planned run is an ordinary run (reproduce calls runSpec on it).
    const r = await runSpec(plan[0].spec, { resultsDir: results, quiet: true });
    expect(r.runId).toBe(plan[0].runId);
    expect(r.summary.samples).toMatchObject({ total: 1, ok: 1, error: 0 });
    const run = JSON.parse(readFileSync(join(r.runDir, 'run.json'), 'utf8'));
    expect(run.spec.benchmark).toEqual({ id: ID, version: 1, sha256: sha });
    expect(run.spec.dataset.options).toEqual({ level: 'moderate', root });
    expect(run.metrics.find((m: { id: string }) => m.id === 'lpips-vgg').options.onnx).toBe(join(REPO, 'test/fixtures/lpips/vgg-narrow.onnx'));
    const [line] = readFileSync(join(r.runDir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const m of ['psnr', 'ssim', 'lpips-vgg']) expect(line.metrics[m], m).toBeTypeOf('number');
  });

  it('a changed protocol under the same version is refused, saying to bump the version', () => {
    const file = join(dir, `${ID}.yaml`);
    const sha = loadBenchmark(ID, dir).protocol.sha256;
    writeFileSync(file, yaml(sha, 'psnr only'));
    expect(() => loadBenchmark(ID, dir)).toThrow(/A changed protocol is a new version: bump protocol\.version/);
  });
});
