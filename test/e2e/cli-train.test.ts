/**
 * `refbench train` (issue 16): forwards to python/refbench_train with the torch engine's interpreter, exit status
 * and messages passed through; `refbench data synth-train` writes a train split whose identities are not the
 * benchmark's.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/lib/server/image/io.ts';
import { sampleIdentity } from '../../src/lib/server/datasets/synthfaces/face-svg.ts';
import { SYNTHFACES_IDENTITY_SIZES } from '../../src/lib/server/datasets/synthfaces.ts';
import { trainIdentityKey } from '../../src/lib/server/datasets/synthfaces/train-split.ts';
import { trainArgv, trainInterpreter } from '../../src/lib/server/train.ts';
import { REPO_ROOT } from '../../src/lib/server/paths.ts';
import { cli } from '../helpers/cli.ts';
import { SKIP_TORCH, TORCH_NOTE } from '../helpers/python-venv.ts';

const tmp = mkdtempSync(join(tmpdir(), 'refbench-train-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** 2 identities x 3 images of 64 px (smooth colour ramps), the LQ folder = the HQ images (trainer check only). */
async function tinySet(root: string): Promise<void> {
  for (const d of ['images512x512', 'lq-train-0', 'reference_mapping']) mkdirSync(join(root, d), { recursive: true });
  const rows = ['gt_image,ref_image'];
  for (let id = 0; id < 2; id++) {
    const names = [0, 1, 2].map((k) => `${id}${k}.png`);
    for (const [k, n] of names.entries()) {
      const data = new Uint8Array(64 * 64 * 3).map((_, i) => (i * (id + 1) * 7 + k * 13) % 251);
      const png = await encodePng({ width: 64, height: 64, data } as never);
      writeFileSync(join(root, 'images512x512', n), png);
      writeFileSync(join(root, 'lq-train-0', n), png);
    }
    for (const n of names) rows.push(`${n},"[${names.filter((m) => m !== n).map((m) => `'${m}'`).join(', ')}]"`);
  }
  writeFileSync(join(root, 'reference_mapping', 'train_references.csv'), rows.join('\n') + '\n');
}

describe('refbench train', () => {
  it('uses the venv interpreter of the torch engine and forwards every option with absolute paths', () => {
    expect(trainInterpreter()).toBe(join(REPO_ROOT, 'python/.venv/bin/python'));
    expect(trainInterpreter('python3')).toBe('python3');
    const argv = trainArgv({ stage: 'refldm', config: 'c.yaml', design: 'spatial', initFrom: 'a/b.ckpt', maxSteps: '5' });
    expect(argv.slice(0, 4)).toEqual(['-m', 'refbench_train', 'refldm', '--config']);
    expect(argv[4]).toBe(join(process.cwd(), 'c.yaml'));
    expect(argv).toContain('--design');
    expect(argv[argv.indexOf('--init-from') + 1]).toBe(join(process.cwd(), 'a/b.ckpt'));
    expect(argv.slice(-2)).toEqual(['--max-steps', '5']);
    expect(() => trainArgv({ stage: 'gan', config: 'x' })).toThrow(/unknown training stage 'gan'.*vqgan, ldm, refldm, arcface/);
  });

  it('a missing interpreter is named', async () => {
    const r = await cli(['train', 'refldm', '--config', 'x.json', '--python', join(tmp, 'no/python')]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(join(tmp, 'no/python'));
  });

  it.skipIf(SKIP_TORCH)(`trains 2 steps end to end and passes config errors through with exit status 2${TORCH_NOTE}`, async () => {
    const data = join(tmp, 'set');
    await tinySet(data);
    const cfg = {
      model: 'tiny', out: join(tmp, 'run'), threads: 1,
      train: { steps: 2, batch_size: 1, checkpoint_every: 1 },
      data: { root: data, lq_dirs: ['lq-train-0'], resolution: 64 },
      autoencoder: { random_init: 0 }, id_loss: { weight: 0 },
    };
    writeFileSync(join(tmp, 'c.json'), JSON.stringify(cfg));
    const ok = await cli(['train', 'refldm', '--config', join(tmp, 'c.json'), '--design', 'spatial']);
    expect(ok.err).toContain('step 2/2');
    expect(ok.code).toBe(0);
    expect(existsSync(join(tmp, 'run', 'refldm.ckpt'))).toBe(true);
    expect(JSON.parse(ok.out.trim().split('\n').at(-1)!).end).toBe(2);
    writeFileSync(join(tmp, 'bad.json'), JSON.stringify({ ...cfg, train: { steps: 2, batchsize: 1 } }));
    const bad = await cli(['train', 'refldm', '--config', join(tmp, 'bad.json')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('bad.json');
    expect(bad.err).toContain('train.batchsize');
  }, 180_000);
});

describe('refbench data synth-train', () => {
  it('train identities come from their own key space, never a benchmark identity', () => {
    const test = SYNTHFACES_IDENTITY_SIZES.map((_, i) => JSON.stringify(sampleIdentity(String(i))));
    for (let i = 0; i < 256; i++) expect(test).not.toContain(JSON.stringify(sampleIdentity(trainIdentityKey(i))));
  });

  it('writes the FFHQ-Ref train layout with LQ folders, and refuses a foreign folder', async () => {
    const out = join(tmp, 'train-split');
    const r = await cli(['data', 'synth-train', '--out', out, '--identities', '2', '--per-identity', '2', '--lq-variants', '1']);
    expect(r.code).toBe(0);
    const csv = readFileSync(join(out, 'reference_mapping', 'train_references.csv'), 'utf8').trim().split('\n');
    expect(csv).toEqual(['gt_image,ref_image', `t00000.png,"['t00001.png']"`, `t00001.png,"['t00000.png']"`, `t00002.png,"['t00003.png']"`, `t00003.png,"['t00002.png']"`]);
    for (const n of ['t00000.png', 't00003.png']) {
      expect(existsSync(join(out, 'images512x512', n))).toBe(true);
      expect(existsSync(join(out, 'lq-train-0', n))).toBe(true);
    }
    expect(readFileSync(join(out, 'lq-train-0', 'params.jsonl'), 'utf8')).toContain('"preset":"train"');
    const foreign = join(tmp, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'mine.txt'), 'x');
    const refused = await cli(['data', 'synth-train', '--out', foreign, '--identities', '1', '--per-identity', '2']);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain(foreign);
    expect(readFileSync(join(foreign, 'mine.txt'), 'utf8')).toBe('x');
  }, 120_000);
});
