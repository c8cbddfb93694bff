/**
 * @file `refbench run --device cuda` on a machine without the CUDA provider (issue 11 papercut: a red
 * onnxruntime "Failed to load library libonnxruntime_providers_shared.so" line while things went on), through the
 * real CLI in a child process, since onnxruntime writes natively to fd 2: the run stops before any sample with one
 * clear error naming the provider file and the install command, and onnxruntime prints nothing of its own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUDA_INSTALL_HINT } from '../../src/lib/server/ort/session.ts';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';

const REPO = resolve(import.meta.dirname, '../..');
const FIX = join(REPO, 'test/fixtures/lpips');
const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
const CUDA_PROVIDER = join(ortDir, 'bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so');

let root: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-cuda-missing-'));
  await writeFolderDataset(join(root, 'ds'), 1, 1);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('refbench run --device cuda without the CUDA provider', () => {
  it.skipIf(existsSync(CUDA_PROVIDER))('one clear error with the install command; no onnxruntime line; no sample scored', () => {
    const spec = join(root, 'spec.yaml');
    writeFileSync(
      spec,
      `name: cuda\ndataset: { adapter: folder, options: { root: ${JSON.stringify(join(root, 'ds'))} } }\nrestorer: { id: lq }\nmetrics:\n  - { id: lpips-vgg, options: { onnx: ${JSON.stringify(join(FIX, 'vgg-narrow.onnx'))}, lin: ${JSON.stringify(join(FIX, 'vgg-narrow.lin.json'))} } }\n`,
    );
    const r = spawnSync(process.execPath, [join(REPO, 'bin/refbench.js'), 'run', spec, '--device', 'cuda', '--results-dir', join(root, 'results'), '-q'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^refbench: error: .*CUDA execution provider could not be loaded/m);
    expect(r.stderr).toContain(CUDA_INSTALL_HINT);
    expect(r.stderr).not.toMatch(/Failed to load library|\[E:onnxruntime|^\s+at /m);
    const runs = join(root, 'results', 'runs');
    const lines = existsSync(runs) ? readdirSync(runs).filter((d) => existsSync(join(runs, d, 'samples.jsonl'))) : [];
    expect(lines).toEqual([]);
  });
});
