/**
 * Parity of the lead's Pillow port (src/lib/eval/image/pil-resize.ts) against Pillow 13 goldens from
 * python/refbench_golden/fid.py: mode 'F' bicubic to 299² (clean-fid's per-channel resize) within 1e-4, and
 * uint8 RGB BICUBIC 1024→512 and 512→299 pixel-exact.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resizePlanePil, resizeRgbPil } from '../../../../src/lib/eval/image/pil-resize.ts';
import { readRgb } from '../../../../src/lib/server/image/io.ts';
import type { RgbImage } from '../../../../src/lib/eval/types.ts';

const DIR = 'test/fixtures/fid';
const imgs: Record<string, RgbImage> = {};
beforeAll(async () => {
  for (const n of ['a512', 'd1024', 'e300x200']) imgs[n] = await readRgb(`${DIR}/images/${n}.png`);
});

function channel(img: RgbImage, c: number): Float32Array {
  const p = new Float32Array(img.width * img.height);
  for (let i = 0; i < p.length; i++) p[i] = img.data[i * 3 + c];
  return p;
}

describe("resizePlanePil vs Pillow Image.fromarray(ch, 'F').resize((299, 299), BICUBIC)", () => {
  for (const [name, c] of [['a512', 0], ['a512', 2], ['e300x200', 1]] as const) {
    it(`${name} channel ${c}: max |Δ| ≤ 1e-4`, () => {
      const img = imgs[name];
      const got = resizePlanePil(channel(img, c), img.width, img.height, 299, 299);
      const b = readFileSync(`${DIR}/resize_f_${name}_c${c}.f32`);
      const want = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      expect(got.length).toBe(want.length);
      let md = 0;
      for (let i = 0; i < want.length; i++) md = Math.max(md, Math.abs(got[i] - want[i]));
      console.log(`resize F ${name} c${c}: max |Δ| = ${md.toExponential(2)}`);
      expect(md).toBeLessThanOrEqual(1e-4);
    });
  }
});

describe('resizeRgbPil vs Pillow uint8 BICUBIC', () => {
  for (const [name, w, golden] of [['d1024', 512, 'resize_u8_d1024_512.png'], ['a512', 299, 'resize_u8_a512_299.png']] as const) {
    it(`${name} → ${w}: pixel-exact`, async () => {
      const got = resizeRgbPil(imgs[name], w, w);
      const want = await readRgb(`${DIR}/${golden}`);
      expect([got.width, got.height]).toEqual([want.width, want.height]);
      let md = 0;
      let nd = 0;
      for (let i = 0; i < want.data.length; i++) {
        const d = Math.abs(got.data[i] - want.data[i]);
        md = Math.max(md, d);
        if (d) nd++;
      }
      console.log(`resize u8 ${name}→${w}: max |Δ| = ${md}, ${nd} values differ`);
      expect(md).toBe(0);
    });
  }
});
