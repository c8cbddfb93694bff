/**
 * The ORT module: inputs checked against the graph (all missing names listed), and `cuda` without the CUDA
 * provider is a clear error naming the install command (onnxruntime never falls back to the CPU by itself).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSession, CUDA_INSTALL_HINT, f32, runSession } from '../../../../src/lib/server/ort/session.ts';

const MODEL = join(import.meta.dirname, '../../../fixtures/lpips/vgg-narrow.onnx');
const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
const CUDA_PROVIDER = join(ortDir, 'bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so');

describe('ort/session', () => {
  it.skipIf(existsSync(CUDA_PROVIDER))('asking for cuda without the provider names the file and the install command', async () => {
    const err = await createSession(MODEL, { device: 'cuda' }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain(MODEL);
    expect(err!.message).toMatch(/CUDA execution provider could not be loaded/);
    expect(err!.message).toContain(CUDA_INSTALL_HINT);
    expect(err!.message).toContain('libonnxruntime_providers_shared.so');
  });

  it.skipIf(existsSync(CUDA_PROVIDER))('the missing provider is detected before onnxruntime prints its own red error line', () => {
    // onnxruntime logs natively to fd 2 (not through process.stderr), so only a child process can see it.
    const src = `import { createSession } from './src/lib/server/ort/session.ts';\nawait createSession(${JSON.stringify(MODEL)}, { device: 'cuda' }).catch((e) => console.log('ERR', e.message));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], { cwd: join(import.meta.dirname, '../../../..'), encoding: 'utf8' });
    expect(r.stdout).toMatch(/^ERR .*CUDA execution provider could not be loaded/);
    expect(r.stderr).not.toMatch(/Failed to load library|onnxruntime/);
  });

  it('lists every missing input and the graph inputs', async () => {
    const s = await createSession(MODEL, { device: 'cpu', threads: 1 });
    await expect(runSession(s, { nope: f32(new Float32Array(1), [1]) })).rejects.toThrow(
      new RegExp(`missing \\[${s.inputNames.join(', ')}\\] unexpected \\[nope\\]`),
    );
  });
});
