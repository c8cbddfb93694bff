/**
 * `ref-ldm` with `engine: torch`: what the user sees when the Python side is missing, wrong or misbehaves.
 * Driven through the restorer registry (as `refbench run` creates it). A fake worker (fake-torch-worker.mjs,
 * speaking the real protocol) makes the timeout / crash / restart paths deterministic without PyTorch; the cases
 * that need the real worker (no torch in the interpreter, a bad checkpoint) use python/.venv.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESTORERS } from '../../../../../src/lib/server/restorers/index.ts';
import type { RgbImage } from '../../../../../src/lib/eval/types.ts';
import { SKIP_TORCH, TORCH_NOTE, VENV_PYTHON, workerPids } from '../../../../helpers/python-venv.ts';

const tmp = mkdtempSync(join(tmpdir(), 'refbench-torch-fail-'));
const FAKE = join(import.meta.dirname, 'fake-torch-worker.mjs');
let nScripts = 0;
/** An executable "python" that runs `body` (sh). */
function script(body: string): string {
  const p = join(tmp, `python-${nScripts++}`);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}
const fake = (mode: string) => script(`FAKE_MODE=${mode} FAKE_STATE=${join(tmp, `state-${nScripts}`)} exec '${process.execPath}' '${FAKE}'`);
const create = (o: Record<string, unknown>) => RESTORERS.get('ref-ldm')({ engine: 'torch', config: 'tiny', steps: 2, ...o });
const lq: RgbImage = { width: 512, height: 512, data: new Uint8Array(512 * 512 * 3).fill(100) };

describe('ref-ldm engine torch: a missing or wrong interpreter is named', () => {
  it('no interpreter at the given path, or none on PATH', async () => {
    await expect(create({ python: '/nonexistent/bin/python' })).rejects.toThrow(
      /no Python interpreter at \/nonexistent\/bin\/python; create python\/\.venv with `bash python\/setup\.sh`, or set the restorer option `python: \/path\/to\/python`/,
    );
    await expect(create({ python: 'no-such-python-refbench' })).rejects.toThrow(/Python interpreter 'no-such-python-refbench' not found/);
  });

  it('an interpreter that dies before its handshake: exit code and its stderr', async () => {
    await expect(create({ python: script('echo "fatal: cannot start" >&2; exit 3') })).rejects.toThrow(
      /exited with code 3 while starting \(handshake\); its last stderr lines: fatal: cannot start/,
    );
  });

  it('a worker of another protocol version, or a torch that is too old', async () => {
    await expect(create({ python: fake('protocol99') })).rejects.toThrow(/the worker speaks protocol 99, this refbench speaks 1/);
    await expect(create({ python: fake('oldtorch') })).rejects.toThrow(/has torch 2\.0\.1; the engine needs ≥ 2\.1/);
  });

  it('options: a typo is rejected, torch-only options with the onnx engine too, and one weights source only', async () => {
    await expect(create({ dtyp: 'bf16' })).rejects.toThrow(/dtyp/);
    await expect(RESTORERS.get('ref-ldm')({ config: 'tiny', dtype: 'bf16' })).rejects.toThrow(/dtype: only read by engine 'torch' \(this is engine 'onnx', the default\)/);
    await expect(create({ verifyHashes: false })).rejects.toThrow(/verifyHashes: only read by engine 'onnx'/);
    await expect(create({ randomInit: 0, ckpt: '/x.ckpt' })).rejects.toThrow(/ckpt and randomInit: give one weights source/);
    await expect(create({ ckpt: join(tmp, 'missing.ckpt') })).rejects.toThrow(/ckpt: no file at .*missing\.ckpt/);
  });
});

describe('ref-ldm engine torch: a worker that hangs or dies fails that sample only, then restarts', () => {
  it('timeout: the sample fails naming the limit, the worker is killed, the next sample restarts it', async () => {
    const r = (await create({ python: fake('hang-once'), timeoutS: 1 })) as Awaited<ReturnType<typeof create>> & { engine: { restarts: number; pid?: number } };
    try {
      const pid0 = r.engine.pid;
      await expect(r.restore({ sampleId: 'a', lq, refs: [] })).rejects.toThrow(/took longer than 1 s restoring an image; it was killed; the worker is restarted for the next sample/);
      const out = await r.restore({ sampleId: 'b', lq, refs: [] });
      expect(out.image.data[0]).toBe(127); // trunc((0 + 1) / 2 · 255) of the fake's zero decoder output
      expect(out.info).toMatchObject({ engine: 'torch', workerRestarted: true });
      expect(r.engine.restarts).toBe(1);
      expect(r.engine.pid).not.toBe(pid0);
    } finally {
      await r.dispose();
    }
  });

  it('crash: exit code and stderr in the sample error; the next sample runs on a new worker', async () => {
    const r = (await create({ python: fake('crash-once') })) as Awaited<ReturnType<typeof create>> & { engine: { restarts: number } };
    try {
      await expect(r.restore({ sampleId: 'a', lq, refs: [] })).rejects.toThrow(
        /the PyTorch worker \(pid \d+\) exited with code 9 while restoring an image; its last stderr lines: fake worker: simulated crash; the worker is restarted for the next sample/,
      );
      const steps: number[] = [];
      const out = await r.restore({ sampleId: 'b', lq, refs: [] }, { onStep: (i) => steps.push(i) });
      expect(steps).toEqual([1]);
      expect(out.timings).toMatchObject({ encode: 1, steps: [2] });
      expect(r.engine.restarts).toBe(1);
    } finally {
      await r.dispose();
    }
  });
});

describe('ref-ldm engine torch: outputs that are not numbers', () => {
  it('a NaN in the decoder output fails the sample (never quantised into pixels)', async () => {
    const r = await create({ python: fake('nan'), dtype: 'fp16' });
    try {
      await expect(r.restore({ sampleId: 'a', lq, refs: [] })).rejects.toThrow(/non-finite decoder output \(value NaN at index 5; dtype fp16\)/);
    } finally {
      await r.dispose();
    }
  });
});

describe.skipIf(SKIP_TORCH)(`ref-ldm engine torch: errors from the real worker${TORCH_NOTE}`, () => {
  it('an interpreter without numpy/torch is named with what it lacks', async () => {
    // the venv's interpreter with site-packages disabled (-S): neither numpy nor torch importable
    await expect(create({ python: script(`exec '${VENV_PYTHON}' -S "$@"`) })).rejects.toThrow(
      /\(Python 3\.\d+\.\d+\) cannot import numpy: .*; install PyTorch ≥ 2\.1 and numpy into it/,
    );
  });

  it('a file that is not a checkpoint: the loader\'s error, and no worker left behind', async () => {
    const bad = join(tmp, 'refldm.ckpt');
    writeFileSync(bad, 'not a checkpoint');
    await expect(create({ ckpt: bad, config: 'tiny' })).rejects.toThrow(/could not load the model: CheckpointError: .*refldm\.ckpt: cannot be read with weights_only=True/);
    expect(workerPids(process.pid)).toEqual([]);
  });
});
