/**
 * @file `refbench models list | verify` through the CLI on a temporary models root: statuses, exit codes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

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
  it('list shows each file with its URL and sha256, how many models are ready and what to run next', async () => {
    const l = await run('list');
    expect(l.out).toMatch(/toy  \[not ready\]  toy model/);
    expect(l.out).toMatch(/file\s+toy\.onnx\s+missing/);
    expect(l.out).toContain(`sha256 ${SHA.slice(0, 16)}… (published)`);
    expect(l.out).toContain('https://example.invalid/toy.onnx');
    expect(l.out).toContain('0 of 1 model(s) ready.');
    expect(l.out).toContain('next: refbench models fetch toy');
    const wide = await run('list', '--wide');
    expect(wide.out).toContain(`sha256 ${SHA} (published)`);
    const json = JSON.parse((await run('list', '--json')).out);
    expect(json).toMatchObject({ ready: 0, total: 1, models: [{ id: 'toy', ready: false, files: [{ name: 'toy.onnx', sha256: SHA, urls: ['https://example.invalid/toy.onnx'], status: 'missing' }] }] });
  });

  it('verify checks a placed file and writes nothing (no lock file); fetch pins it, then list shows it verified and ready', async () => {
    mkdirSync(join(dir, 'weights/toy'), { recursive: true });
    writeFileSync(join(dir, 'weights/toy/toy.onnx'), BYTES);
    expect((await run('list')).out).toMatch(/file\s+toy\.onnx\s+present/);
    const before = readdirSync(join(dir, 'weights')).sort();
    const v = await run('verify', 'toy');
    expect(v.code).toBe(0);
    expect(v.out).toContain(`verified  ${SHA}`);
    expect(readdirSync(join(dir, 'weights')).sort()).toEqual(before);
    expect(existsSync(join(dir, 'weights/lock.json'))).toBe(false);
    expect((await run('list')).out).toMatch(/file\s+toy\.onnx\s+present/);
    await run('fetch', 'toy'); // the file is in place: hashed and recorded, nothing downloaded
    const l = await run('list');
    expect(l.out).toMatch(/file\s+toy\.onnx\s+verified/);
    expect(l.out).toContain('1 of 1 model(s) ready: toy.');
  });

  it('verify exits 1 on a hash mismatch and leaves the lock file byte-identical', async () => {
    writeFileSync(join(dir, 'weights/toy/toy.onnx'), 'corrupted');
    const lockBefore = readFileSync(join(dir, 'weights/lock.json'));
    const v = await run('verify');
    expect(v.code).toBe(1);
    expect(v.out).toContain('hash mismatch');
    expect(readFileSync(join(dir, 'weights/lock.json')).equals(lockBefore)).toBe(true);
    const l = await run('list');
    expect(l.out).toMatch(/file\s+toy\.onnx\s+present/);
  });
});
