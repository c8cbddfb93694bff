/**
 * `refbench models verify --bundle <dir>`: a ReF-LDM bundle's graph hashes and the zero-reference K/V parity check
 * (the bundle's unetRef on a zero latent vs the PyTorch model of the weights bundle.json names, run by the torch
 * engine's worker). The committed tiny bundle passes; a copy whose bundle.json claims another seed (so the PyTorch
 * side builds different weights) fails the parity check; a corrupted graph fails its hash and the parity check is
 * not run on it.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { SKIP_TORCH, TORCH_NOTE } from '../helpers/python-venv.ts';

const TINY = join(import.meta.dirname, '../fixtures/refldm-tiny');
const tmp = mkdtempSync(join(tmpdir(), 'refbench-verify-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function verify(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  process.exitCode = undefined;
  try {
    const code = await main(['node', 'refbench', 'models', '--models-dir', tmp, 'verify', ...args]);
    return { code: code || Number(process.exitCode ?? 0), out };
  } finally {
    spy.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

/** A copy of the tiny bundle's files the check reads (graphs + bundle.json), edited by `edit`. */
function copyBundle(name: string, edit: (dir: string) => void): string {
  const dir = join(tmp, name);
  cpSync(TINY, dir, { recursive: true, filter: (p) => !/\.(png|f32)$/.test(p) || p === TINY });
  edit(dir);
  return dir;
}

describe.skipIf(SKIP_TORCH)(`refbench models verify --bundle (ReF-LDM)${TORCH_NOTE}`, () => {
  it('the tiny bundle: every graph verified, zero-reference K/V parity ok, exit 0', async () => {
    const r = await verify('--bundle', TINY);
    expect(r.out).toMatch(/ref-ldm bundle .*refldm-tiny \(tiny, random-init seed 0\):/);
    expect(r.out.match(/^ {2}file .* verified /gm)?.length).toBe(7);
    expect(r.out).toMatch(/check {2}zero-reference K\/V \(onnx unetRef vs PyTorch\) {2}ok {2}max \|Δ\| \S+ of max \|K\/V\| \S+: \S+ relative ≤ 0\.001 \(fp32 graph; worst [kv]_\d\d\)/);
    expect(r.code).toBe(0);
  }, 600_000);

  it('weights that are not the graphs\' (bundle.json says seed 1): MISMATCH, exit 1', async () => {
    const dir = copyBundle('seed1', (d) => {
      const j = JSON.parse(readFileSync(join(d, 'bundle.json'), 'utf8'));
      j.weights.seed = 1;
      writeFileSync(join(d, 'bundle.json'), JSON.stringify(j));
    });
    const r = await verify('--bundle', dir);
    expect(r.out).toMatch(/random-init seed 1/);
    expect(r.out).toMatch(/zero-reference K\/V \(onnx unetRef vs PyTorch\) {2}MISMATCH {2}.* relative > 0\.001/);
    expect(r.code).toBe(1);
  }, 600_000);

  it('a corrupted unet_ref.onnx: hash mismatch, parity not run, exit 1', async () => {
    const dir = copyBundle('corrupt', (d) => {
      const f = join(d, 'unet_ref.onnx');
      const b = readFileSync(f);
      b[b.length - 10] ^= 0xff;
      writeFileSync(f, b);
    });
    const r = await verify('--bundle', dir);
    expect(r.out).toMatch(/file {3}unet_ref\.onnx +hash mismatch {2}sha256 [0-9a-f]{64} ≠ bundle\.json [0-9a-f]{64}/);
    expect(r.out).toMatch(/zero-reference K\/V \(onnx unetRef vs PyTorch\) {2}not run {2}unet_ref\.onnx is hash mismatch/);
    expect(r.code).toBe(1);
  }, 600_000);
});
