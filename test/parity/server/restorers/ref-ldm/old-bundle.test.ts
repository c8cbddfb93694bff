/**
 * A bundle in the form exported before query-chunked attention (docs/bundle.md, "Attention form") still loads and
 * gives the same images as before. The old form is re-created with the exporter's `--attention full`, which writes
 * byte-identical graphs and bundle.json to the pre-change exporter (checked once by hand against the previous
 * committed fixture: all seven sha256 and bundle.json equal), from the same seed-0 weights as the committed tiny
 * bundle. Checked: bundle.json has no `attention` key and is read as `full`; its 10-step CFG samples (CacheKV
 * 1 and 3 references, spatial-concatenation 3) meet the goldens' tolerances (as refldm.test.ts); and they equal
 * the committed query-chunked bundle's samples (latent max abs ≤ 1e-4, no image value off by more than 1).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionForm, loadBundleJson, type Bundle } from '../../../../../src/lib/server/restorers/ref-ldm/bundle.ts';
import { RefLdmSampler, type SamplerSettings } from '../../../../../src/lib/server/restorers/ref-ldm/sampler.ts';
import { readRgb } from '../../../../../src/lib/server/image/io.ts';
import type { RgbImage } from '../../../../../src/lib/eval/types.ts';
import { REPO, SKIP_TORCH, TORCH_NOTE, VENV_PYTHON } from '../../../../helpers/python-venv.ts';

const DIR = join(import.meta.dirname, '../../../../fixtures/refldm-tiny');
/** As refldm.test.ts: final latent vs the PyTorch golden, and images within 1 level on ≥ 99.9 % of values. */
const LATENT_TOL = 1e-3;
const IMAGE_MIN = 0.999;
/**
 * Old form vs the committed query-chunked form on the same weights, final latent. Each block runs the same per-row
 * arithmetic; only a GEMM over a shorter query slab may order its sums differently (graphs at 5 references: max
 * |Δ| ≤ 7.2e-7, python/tests/test_refldm_export.py). Those 1-ulp differences compound over 10 CFG steps as
 * onnxruntime-vs-PyTorch rounding does (1e-5 to 1.4e-4 on these samples, refldm.test.ts). Measured here: 8.8e-6
 * (refs1), 6.7e-6 (refs3), 5.7e-6 (spatial3); 1e-4 is about 10x that and 10x below the golden tolerance.
 */
const SAME_TOL = 1e-4;
const SLOW = 1_200_000;

type Key = 'refs1' | 'refs3' | 'spatial3';
interface Golden {
  settings: { steps: number; schedule: 'uniform' | 'uniform_trailing'; cfg: number; zeroRefDefault: number; quantise: 'trunc' | 'round' };
  inputs: { lq: string; refs: string[]; xT: { file: string } };
  samples: Record<Key, { design: 'cachekv' | 'spatial'; refs: string[]; latent: string; image: string }>;
}
const readF32 = (name: string) => {
  const b = readFileSync(join(DIR, name));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const maxAbs = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const within1 = (a: RgbImage, b: RgbImage) => {
  let worse = 0;
  for (let i = 0; i < a.data.length; i++) if (Math.abs(a.data[i] - b.data[i]) > 1) worse++;
  return 1 - worse / a.data.length;
};

describe.skipIf(SKIP_TORCH)(`a full-attention (pre-chunking) bundle still loads and gives the same images${TORCH_NOTE}`, () => {
  let out: string;
  let oldBundle: Bundle;
  let newBundle: Bundle;
  let golden: Golden;
  let lq: RgbImage;
  let refs: RgbImage[];
  let xT: Float32Array;
  const deltas: Record<string, number> = {};

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'refbench-old-bundle-'));
    const r = spawnSync(
      VENV_PYTHON,
      ['-m', 'refbench_export', 'bundle', '--config', 'tiny', '--random-init', '0', '--designs', 'cachekv,spatial', '--attention', 'full', '--out', out],
      { cwd: join(REPO, 'python'), encoding: 'utf8' },
    );
    expect(r.status, `export failed: ${r.stderr}`).toBe(0);
    oldBundle = await loadBundleJson(out);
    newBundle = await loadBundleJson(DIR);
    golden = JSON.parse(readFileSync(join(DIR, 'golden.json'), 'utf8')) as Golden;
    lq = await readRgb(join(DIR, golden.inputs.lq));
    refs = await Promise.all(golden.inputs.refs.map((f) => readRgb(join(DIR, f))));
    xT = readF32(golden.inputs.xT.file);
  }, SLOW);
  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
    console.log(`old-form bundle deltas (max abs): ${JSON.stringify(deltas)}`);
  });

  it('has no attention key and reads as full; the committed bundle is query-chunked', () => {
    expect('attention' in oldBundle.json).toBe(false);
    expect(attentionForm(oldBundle)).toEqual({ form: 'full' });
    expect(attentionForm(newBundle).form).toBe('query-chunked');
  });

  for (const key of ['refs1', 'refs3', 'spatial3'] as Key[]) {
    it(`'${key}': meets the goldens and equals the query-chunked bundle's sample`, async () => {
      const g = golden.samples[key];
      const settings: SamplerSettings = {
        design: g.design,
        steps: golden.settings.steps,
        schedule: golden.settings.schedule,
        cfg: golden.settings.cfg,
        maxRefs: 5,
        zeroRefs: golden.settings.zeroRefDefault,
        quantise: golden.settings.quantise,
        device: 'cpu',
        threads: 2,
        verifyHashes: true,
      };
      const run = async (b: Bundle) => {
        const s = await RefLdmSampler.create(b, settings);
        try {
          return await s.sample(lq, refs.slice(0, g.refs.length), xT);
        } finally {
          await s.release();
        }
      };
      const old = await run(oldBundle);
      const cur = await run(newBundle);
      const want = await readRgb(join(DIR, g.image));
      deltas[`${key}.oldVsGolden`] = maxAbs(old.latent, readF32(g.latent));
      deltas[`${key}.oldVsChunked`] = maxAbs(old.latent, cur.latent);
      expect(deltas[`${key}.oldVsGolden`]).toBeLessThanOrEqual(LATENT_TOL);
      expect(within1(old.image, want)).toBeGreaterThanOrEqual(IMAGE_MIN);
      expect(deltas[`${key}.oldVsChunked`]).toBeLessThanOrEqual(SAME_TOL);
      expect(within1(old.image, cur.image)).toBe(1);
    }, SLOW);
  }
});
