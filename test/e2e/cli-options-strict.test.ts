/**
 * @file Typos in options are errors (issue 11, item 7): every options object (dataset adapter, restorer, metric)
 * is checked against its component's strict schema before anything runs, through `refbench run` as a user
 * types it. Each error names the spec file and field path, the closest valid key and every valid one.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';
import { cli, runDirOf } from '../helpers/cli.ts';

let root: string;
let results: string;
const spec = (name: string, body: string): string => {
  const p = join(root, `${name}.yaml`);
  writeFileSync(p, `name: ${name}\n${body}`);
  return p;
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-options-'));
  results = join(root, 'results');
  await writeFolderDataset(join(root, 'ds'), 2, 0);
});

describe('refbench run: unknown option keys are errors, with a suggestion', () => {
  it("-d levle=moderate: names dataset.options.levle and suggests 'level'; nothing runs", async () => {
    const p = spec('levle', 'dataset:\n  adapter: ffhq-ref\n  options: { root: /nonexistent/FFHQ-Ref }\nrestorer: { id: lq }\nmetrics: [psnr]\n');
    const r = await cli(['run', p, '--results-dir', results, '-d', 'levle=moderate', '-q']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${p}: dataset.options.levle: unknown key 'levle'; did you mean 'level'? (valid keys: root, hqDir, split, level, lqDir)`);
    expect(existsSync(join(results, 'runs'))).toBe(false);
  });

  it('{id: psnr, options: {crop_border: 4}}: psnr takes no options', async () => {
    const p = spec('crop', `dataset: { adapter: folder, options: { root: ${JSON.stringify(join(root, 'ds'))} } }\nrestorer: { id: lq }\nmetrics:\n  - { id: psnr, options: { crop_border: 4 } }\n`);
    const r = await cli(['run', p, '--results-dir', results, '-q']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${p}: metrics[0].options.crop_border: unknown key 'crop_border' (no keys are accepted here)`);
    expect(existsSync(join(results, 'runs'))).toBe(false);
  });

  it("{id: lpips-vgg, options: {devcie: cuda}}: suggests 'device' and lists the valid keys", async () => {
    const p = spec('devcie', `dataset: { adapter: folder, options: { root: ${JSON.stringify(join(root, 'ds'))} } }\nrestorer: { id: lq }\nmetrics:\n  - psnr\n  - { id: lpips-vgg, options: { devcie: cuda } }\n`);
    const r = await cli(['run', p, '--results-dir', results, '-q']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${p}: metrics[1].options.devcie: unknown key 'devcie'; did you mean 'device'?`);
    expect(r.err).toMatch(/valid keys: modelsDir, device, threads, weights, onnx, lin, resize, batchPairs\)/);
    expect(existsSync(join(results, 'runs'))).toBe(false);
  });

  it("-r sharpenAmout=1 (restorer typo): suggests 'sharpenAmount'", async () => {
    const p = spec('sharpen', `dataset: { adapter: folder, options: { root: ${JSON.stringify(join(root, 'ds'))} } }\nrestorer: { id: classical }\nmetrics: [psnr]\n`);
    const r = await cli(['run', p, '--results-dir', results, '-r', 'sharpenAmout=1', '-q']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${p}: restorer.options.sharpenAmout: unknown key 'sharpenAmout'; did you mean 'sharpenAmount'?`);
    expect(existsSync(join(results, 'runs'))).toBe(false);
  });

  it('every problem of a spec is listed at once, and a correct spec still runs', async () => {
    const ds = JSON.stringify(join(root, 'ds'));
    const bad = spec('many', `dataset: { adapter: folder, options: { root: ${ds}, lqsize: 512 } }\nrestorer: { id: lq, options: { steps: 3 } }\nmetrics:\n  - { id: ssim, options: { window: 7 } }\n`);
    const r = await cli(['run', bad, '--results-dir', results, '-q']);
    expect(r.code).toBe(1);
    for (const field of ['dataset.options.lqsize', 'restorer.options.steps', 'metrics[0].options.window']) expect(r.err).toContain(`${bad}: ${field}: unknown key`);
    const good = spec('good', `dataset: { adapter: folder, options: { root: ${ds} } }\nrestorer: { id: classical, options: { sharpenAmount: 1 } }\nmetrics: [psnr]\n`);
    const g = await cli(['run', good, '--results-dir', results, '-q']);
    expect(g.code, g.err).toBe(0);
    expect(existsSync(join(runDirOf(results, 'good'), 'summary.json'))).toBe(true);
  });
});

describe('refbench data inspect: adapter options are strict too', () => {
  it("--opt levle=moderate is an error suggesting 'level'", async () => {
    const r = await cli(['data', 'inspect', 'ffhq-ref', '--root', join(root, 'nope'), '--opt', 'levle=moderate']);
    expect(r.code).toBe(1);
    expect(r.err).toContain("dataset adapter 'ffhq-ref': options.levle: unknown key 'levle'; did you mean 'level'?");
  });
});
