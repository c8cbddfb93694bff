/**
 * @file An ArcFace ONNX exported the way insightface does it (dynamic input batch, output fixed at [1, D]) runs
 * without onnxruntime's VerifyOutputSizes warning on every IDS batch, with values identical to the same network
 * exported with a dynamic output batch (issue 11, papercut). Through `refbench run` in child processes, since
 * onnxruntime writes its warnings to the process's stderr directly; plus the in-memory graph edit itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { relaxFixedOutputBatch } from '../../src/lib/server/ort/onnx-shape.ts';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';

const REPO = join(import.meta.dirname, '../..');
const FIXED = join(REPO, 'test/fixtures/ids/tiny-embed-fixed-out-batch.onnx');
const DYNAMIC = join(REPO, 'test/fixtures/ids/tiny-embed-dynamic-batch.onnx');
let T: string;

function refbench(args: readonly string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [join(REPO, 'bin/refbench.js'), ...args], { cwd: T, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((res) => child.on('exit', (code) => res({ code, out })));
}

async function idsValues(name: string, onnx: string): Promise<{ out: string; values: Record<string, number> }> {
  const spec = join(T, `${name}.json`);
  writeFileSync(
    spec,
    JSON.stringify({
      name,
      dataset: { adapter: 'folder', options: { root: join(T, 'ds') } },
      restorer: { id: 'classical' },
      metrics: [{ id: 'ids-arcface-r50', options: { onnx, batchSize: 8 } }, { id: 'ids-refs-arcface-r50', options: { onnx } }],
    }),
  );
  const r = await refbench(['run', spec, '--results-dir', join(T, 'results'), '--progress', 'lines']);
  expect(r.code, r.out).toBe(0);
  const dir = join(T, 'results/runs', readdirSync(join(T, 'results/runs')).find((d) => d.startsWith(`${name}-`))!);
  const values: Record<string, number> = {};
  for (const l of readFileSync(join(dir, 'samples.jsonl'), 'utf8').split('\n').filter(Boolean)) {
    const j = JSON.parse(l);
    for (const m of ['ids-arcface-r50', 'ids-refs-arcface-r50']) values[`${j.sampleId}/${m}`] = j.metrics[m];
  }
  return { out: r.out, values };
}

beforeAll(async () => {
  T = mkdtempSync(join(tmpdir(), 'refbench-fixed-batch-'));
  await writeFolderDataset(join(T, 'ds'), 3, 2);
});

describe('ArcFace exported with a fixed output batch', () => {
  it('the in-memory edit declares exactly the dynamic-batch export (byte for byte) and leaves other models alone', () => {
    const r = relaxFixedOutputBatch(readFileSync(FIXED));
    expect(r?.outputs).toEqual(['embedding']);
    expect(Buffer.from(r!.model).equals(readFileSync(DYNAMIC))).toBe(true);
    expect(relaxFixedOutputBatch(readFileSync(DYNAMIC))).toBeNull();
    expect(relaxFixedOutputBatch(readFileSync(join(REPO, 'test/fixtures/ids/r50-narrow.onnx')))).toBeNull();
  });

  it('refbench run prints no VerifyOutputSizes warning and scores exactly as the dynamic export', async () => {
    const fixed = await idsValues('fixed', FIXED);
    const dynamic = await idsValues('dynamic', DYNAMIC);
    expect(fixed.out).not.toContain('VerifyOutputSizes');
    expect(Object.keys(fixed.values)).toHaveLength(6);
    for (const v of Object.values(fixed.values)) expect(Number.isFinite(v)).toBe(true);
    expect(fixed.values).toEqual(dynamic.values);
  }, 120_000);
});
