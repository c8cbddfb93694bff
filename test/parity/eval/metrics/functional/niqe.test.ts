/**
 * Parity of NIQE (and its MATLAB imresize) with pyiqa 0.1.16 (goldens from python/refbench_golden/pyiqa_basic.py,
 * same pristine parameters). Tolerance: NIQE 1e-4 relative (brief); imresize bit-exact.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imresizeMatlab } from '../../../../../src/lib/eval/metrics/functional/matlab-resize.ts';
import { niqe, parseNiqeParams } from '../../../../../src/lib/eval/metrics/functional/niqe.ts';
import { fixtureImage, PYIQA_GOLDEN, relDelta } from '../../../../helpers/pyiqa-golden.ts';

const TOL = 1e-4;
const paramsPath = join(import.meta.dirname, '../../../../../models/niqe/niqe-pris-params.json');
const params = parseNiqeParams(JSON.parse(readFileSync(paramsPath, 'utf8')), paramsPath);

describe('matlab imresize parity with pyiqa (float32)', () => {
  const g = PYIQA_GOLDEN.imresize;
  for (const scale of [0.5, 0.75]) {
    it(`scale ${scale}`, () => {
      const want = g[`scale_${scale}`];
      const r = imresizeMatlab(Float64Array.from(g.input_u8, (u) => u / 255), g.width, g.height, scale);
      expect([r.width, r.height]).toEqual([want.width, want.height]);
      expect(Array.from(r.data)).toEqual(want.output);
    });
  }
});

describe('niqe parity with pyiqa', () => {
  const seen = new Set<string>();
  for (const c of PYIQA_GOLDEN.cases) {
    for (const [file, want] of [[c.a, c.niqe_a], [c.b, c.niqe_b]] as const) {
      if (seen.has(file) || want === null) continue;
      seen.add(file);
      it(file, async () => {
        const v = niqe(await fixtureImage(file), params);
        console.log(`[parity] niqe ${file}: ${v} vs pyiqa ${want} Δrel=${relDelta(v, want).toExponential(2)}`);
        expect(relDelta(v, want), `niqe ${v} vs pyiqa ${want}`).toBeLessThanOrEqual(TOL);
      });
    }
  }
});
