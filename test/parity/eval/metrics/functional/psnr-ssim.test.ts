/**
 * Parity of PSNR and SSIM with pyiqa 0.1.16 (goldens from python/refbench_golden/pyiqa_basic.py).
 * Tolerance: 1e-6 relative (pyiqa PSNR runs in float32; SSIM matches to ~1e-10, see gaussian.ts).
 */
import { describe, expect, it } from 'vitest';
import { psnr } from '../../../../../src/lib/eval/metrics/functional/psnr.ts';
import { ssim } from '../../../../../src/lib/eval/metrics/functional/ssim.ts';
import { fspecialGaussian } from '../../../../../src/lib/eval/metrics/functional/gaussian.ts';
import { fixtureImage, PYIQA_GOLDEN, relDelta } from '../../../../helpers/pyiqa-golden.ts';

const TOL = 1e-6;

describe('psnr/ssim parity with pyiqa', () => {
  it('fspecial windows equal pyiqa float32 taps bit for bit', () => {
    expect(Array.from(fspecialGaussian(11, 1.5))).toEqual(PYIQA_GOLDEN['fspecial_11_1.5']);
    expect(Array.from(fspecialGaussian(7, 7 / 6))).toEqual(PYIQA_GOLDEN['fspecial_7_7/6']);
  });

  for (const c of PYIQA_GOLDEN.cases) {
    it(`${c.name}`, async () => {
      const a = await fixtureImage(c.a);
      const b = await fixtureImage(c.b);
      expect([a.width, a.height]).toEqual([c.width, c.height]);
      const p = psnr(a, b);
      const s = ssim(a, b);
      expect(relDelta(p, c.psnr), `psnr ${p} vs pyiqa ${c.psnr}`).toBeLessThanOrEqual(TOL);
      expect(relDelta(s, c.ssim), `ssim ${s} vs pyiqa ${c.ssim}`).toBeLessThanOrEqual(TOL);
      console.log(`[parity] ${c.name}: psnr Δrel=${relDelta(p, c.psnr).toExponential(2)} ssim Δrel=${relDelta(s, c.ssim).toExponential(2)}`);
    });
  }
});
