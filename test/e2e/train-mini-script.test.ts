/**
 * scripts/train-mini.sh (issue 16): the paths that need no training: option errors, a missing interpreter, every
 * stage skipped when its output exists (with one status line each and configs that point at this run's folders),
 * and a spent --max-minutes budget pausing the first unfinished stage before any training starts. The training
 * path itself (TRAIN_MINI_SMOKE=1, every stage for 2 steps) takes far longer than a test should (minutes per
 * step under load): docs/training.md describes that manual check.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SYNTHFACES_VERSION } from '../../src/lib/server/datasets/synthfaces.ts';
import { REPO, SKIP_TORCH, TORCH_NOTE } from '../helpers/python-venv.ts';

const SCRIPT = join(REPO, 'scripts/train-mini.sh');
const tmp = mkdtempSync(join(tmpdir(), 'refbench-train-mini-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, TRAIN_MINI_SMOKE: '', ...env }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A root whose data split is current and whose stages' final outputs exist (except those in `missing`). */
function fakeRoot(name: string, missing: string[] = []): { root: string; data: string } {
  const root = join(tmp, name);
  const data = join(root, 'data');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'manifest.json'), JSON.stringify({ generator: 'synthfaces-ref-train', version: SYNTHFACES_VERSION }));
  const finals = ['mini-vqgan/vqgan.ckpt', 'mini-arcface/identity.onnx', 'mini-refldm/refldm.ckpt', ...['spatial', 'cross', 'channel'].map((d) => `mini-refldm-${d}/refldm.ckpt`)];
  for (const f of finals) {
    if (missing.includes(f)) continue;
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  return { root, data };
}

describe('scripts/train-mini.sh', () => {
  it('rejects a bad option or value with exit status 2, naming it', () => {
    expect(run(['--slice-steps', '0'])).toMatchObject({ code: 2, err: expect.stringContaining("--slice-steps must be a positive integer, got '0'") });
    expect(run(['--max-minutes', 'soon'])).toMatchObject({ code: 2, err: expect.stringContaining("--max-minutes must be a number of minutes, got 'soon'") });
    expect(run(['--epochs', '3'])).toMatchObject({ code: 2, err: expect.stringContaining("unknown option '--epochs'") });
  });

  it('names a missing interpreter and the command that makes it', () => {
    const r = run(['--root', join(tmp, 'nopy')], { REFBENCH_PYTHON: join(tmp, 'no/python') });
    expect(r.code).toBe(2);
    expect(r.err).toContain(join(tmp, 'no/python'));
    expect(r.err).toContain('bash python/setup.sh');
  });

  it.skipIf(SKIP_TORCH)(`skips every stage whose output exists, one status line each, configs pointing at this run${TORCH_NOTE}`, () => {
    const { root, data } = fakeRoot('done');
    const r = run(['--root', root, '--data', data, '--finetune-steps', '7']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('every stage is done');
    const lines = readFileSync(join(root, 'train-mini.log'), 'utf8').trim().split('\n');
    expect(lines[0]).toContain('-- invocation: --root');
    const stages = lines.slice(1).map((l) => l.split(/\s+/).slice(1, 3));
    expect(stages).toEqual(['data', 'vqgan', 'arcface', 'cachekv', 'spatial', 'cross', 'channel'].map((s) => [s, 'skipped']));
    const cfg = (n: string) => JSON.parse(readFileSync(join(root, 'configs', `${n}.json`), 'utf8'));
    expect(cfg('vqgan')).toMatchObject({ model: 'mini', out: join(root, 'mini-vqgan'), data: { root: data } });
    expect(cfg('cachekv')).toMatchObject({
      out: join(root, 'mini-refldm'),
      train: { steps: 2000 }, // python/refbench_train/configs/mini-refldm.yaml
      autoencoder: { checkpoint: join(root, 'mini-vqgan/vqgan.ckpt') },
      id_loss: { network: join(root, 'mini-arcface/identity.pt') },
    });
    for (const d of ['spatial', 'cross', 'channel']) expect(cfg(d)).toMatchObject({ out: join(root, `mini-refldm-${d}`), train: { steps: 7 } });
  }, 120_000);

  it.skipIf(SKIP_TORCH)(`a spent --max-minutes pauses the first unfinished stage before training, and stops there${TORCH_NOTE}`, () => {
    const { root, data } = fakeRoot('paused', ['mini-refldm/refldm.ckpt', 'mini-refldm-spatial/refldm.ckpt']);
    const r = run(['--root', root, '--data', data, '--max-minutes', '0']);
    expect(r.code, r.err).toBe(3);
    expect(r.out).toContain('not finished; run the same command again to resume');
    const stages = readFileSync(join(root, 'train-mini.log'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(/\s+/).slice(1, 3));
    expect(stages).toEqual([['data', 'skipped'], ['vqgan', 'skipped'], ['arcface', 'skipped'], ['cachekv', 'paused']]);
  }, 120_000);
});
