/**
 * @file `refbench models list | verify` through the CLI on a temporary models root: statuses, exit codes.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../../src/cli/main.ts';

const dir = mkdtempSync(join(tmpdir(), 'refbench-models-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BYTES = Buffer.from('model bytes');
const SHA = createHash('sha256').update(BYTES).digest('hex');

writeFileSync(
  join(dir, 'manifest.json'),
  JSON.stringify({
    schemaVersion: 1,
    models: [
      {
        id: 'toy',
        description: 'toy model',
        usedBy: ['toy-metric'],
        licence: 'MIT',
        files: [{ name: 'toy.onnx', urls: ['https://example.invalid/toy.onnx'], sha256: SHA, size: '11 B' }],
        convert: null,
        outputs: ['weights/toy/toy.onnx'],
      },
    ],
  }),
);

async function run(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  process.exitCode = undefined;
  try {
    const code = await main(['node', 'refbench', 'models', '--models-dir', dir, ...args]);
    return { code, out };
  } finally {
    spy.mockRestore();
    process.exitCode = undefined;
  }
}

describe('refbench models (CLI)', () => {
  it('list shows missing, then verify marks a placed file verified', async () => {
    expect((await run('list')).out).toMatch(/toy\.onnx\s+missing/);
    mkdirSync(join(dir, 'weights/toy'), { recursive: true });
    writeFileSync(join(dir, 'weights/toy/toy.onnx'), BYTES);
    expect((await run('list')).out).toMatch(/file\s+toy\.onnx\s+present/);
    const v = await run('verify', 'toy');
    expect(v.code).toBe(0);
    expect(v.out).toContain(`verified  ${SHA}`);
    expect((await run('list')).out).toMatch(/file\s+toy\.onnx\s+verified/);
  });

  it('verify exits 1 on a hash mismatch', async () => {
    writeFileSync(join(dir, 'weights/toy/toy.onnx'), 'corrupted');
    const v = await run('verify');
    expect(v.code).toBe(1);
    expect(v.out).toContain('hash mismatch');
    expect((await run('list')).out).toMatch(/file\s+toy\.onnx\s+hash mismatch/);
  });
});
