import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabelMap } from '../../../../src/lib/server/metrics/flpips.ts';
import { FLPIPS_FACE_CLASSES } from '../../../../src/lib/eval/metrics/functional/lpips.ts';
import { createSynthfacesRef, synthfacesMaskDir, type SynthfacesConfig } from '../../../../src/lib/server/datasets/synthfaces.ts';
import { ensureSynthfaces } from '../../../../src/lib/server/datasets/synthfaces/generate.ts';
import { FACE_LABELS, sampleIdentity, sampleVariation } from '../../../../src/lib/server/datasets/synthfaces/face-svg.ts';
import { encodeGreyPng, renderFaceLabels } from '../../../../src/lib/server/datasets/synthfaces/label-map.ts';
import { readRgb } from '../../../../src/lib/server/image/io.ts';
import type { RgbImage } from '../../../../src/lib/eval/types.ts';

// 2 identities × 3 images; the full benchmark runs the same code.
const SMALL: SynthfacesConfig = { identitySizes: [3, 3] };
const NAMES = ['00000', '00001', '00002', '00003', '00004', '00005'];
const VALID = new Set<number>(Object.values(FACE_LABELS));
let dir: string;
let root: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'refbench-synth-labels-'));
  root = join(dir, 'a');
  await ensureSynthfaces(root, undefined, SMALL);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Parses the PNG header: [width, height, bitDepth, colourType]. */
function pngHeader(buf: Buffer): number[] {
  expect(buf.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return [buf.readUInt32BE(16), buf.readUInt32BE(20), buf[24], buf[25]];
}

/**
 * Fraction of class-2 pixels (optionally read `dx` pixels to the right in the HQ image) whose colour is the
 * identity's skin colour under the image's lighting overlay. The overlay is a linear gradient from white to black
 * at constant opacity a, so a skin pixel is (1 − a)·skin + a·g for one grey level g ∈ [0, 255]: the residual
 * d_c = hq_c − (1 − a)·skin_c is the same for the three channels and lies in [0, 255a] (±3 for 8-bit rounding).
 * Blush (a few %) and the identity marks (moles and a scar: tens of pixels, far below 1 %) are the only skin
 * shading outside this model.
 */
function skinFit(hq: RgbImage, labels: ArrayLike<number>, identitySeed: string, imageSeed: string, dx: number): number {
  const hex = sampleIdentity(identitySeed).skin;
  const skin = [1, 3, 5].map((o) => parseInt(hex.slice(o, o + 2), 16));
  const a = sampleVariation(imageSeed).lightStrength;
  let cnt = 0;
  let ok = 0;
  for (let y = 0; y < hq.height; y++) {
    for (let x = 0; x < hq.width; x++) {
      if (labels[y * hq.width + x] !== FACE_LABELS.skin) continue;
      const q = 3 * (y * hq.width + Math.min(hq.width - 1, Math.max(0, x + dx)));
      const d = [0, 1, 2].map((c) => hq.data[q + c] - (1 - a) * skin[c]);
      cnt++;
      if (Math.max(...d) - Math.min(...d) <= 4 && Math.min(...d) >= -3 && Math.max(...d) <= 255 * a + 3) ok++;
    }
  }
  expect(cnt).toBeGreaterThan(10_000);
  return ok / cnt;
}

describe('synthfaces-ref face-parsing label maps', () => {
  it('exist for every HQ image as 8-bit greyscale 512×512 PNGs, listed in the manifest', async () => {
    const manifest = JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8'));
    for (const n of NAMES) {
      const rel = `face_parsing/${n}.png`;
      expect(manifest.files[rel]).toMatch(/^[0-9a-f]{64}$/);
      expect(pngHeader(await readFile(join(root, rel)))).toEqual([512, 512, 8, 0]);
    }
    expect(synthfacesMaskDir(root)).toBe(join(root, 'face_parsing'));
  });

  it('hold only valid class ids, a plausible face fraction, and a skin region aligned with the HQ skin', async () => {
    for (const [i, n] of NAMES.entries()) {
      const { width, height, labels } = await readLabelMap(synthfacesMaskDir(root), n);
      expect([width, height]).toEqual([512, 512]);
      const hist = new Map<number, number>();
      for (const v of labels) hist.set(v, (hist.get(v) ?? 0) + 1);
      for (const k of hist.keys()) expect(VALID.has(k)).toBe(true);
      // The parts every face has: background, skin, cloth, both eyes, both brows, nose, both lips, hair.
      for (const k of [0, 2, 3, 6, 7, 8, 9, 10, 12, 13, 14]) expect(hist.get(k) ?? 0).toBeGreaterThan(20);
      const face = FLPIPS_FACE_CLASSES.reduce((a, k) => a + (hist.get(k) ?? 0), 0) / labels.length;
      expect(face).toBeGreaterThan(0.08);
      expect(face).toBeLessThan(0.6);

      // Alignment: inside class 2 the HQ pixels follow the skin colour under the image's lighting overlay.
      const idx = Math.floor(i / 3);
      const fit = skinFit(await readRgb(join(root, 'images512x512', `${n}.png`)), labels, String(idx), `${idx}|${i % 3}`, 0);
      expect(fit).toBeGreaterThan(0.93);
    }
  });

  it('a shifted label map fails the alignment check (the check has teeth)', async () => {
    const { labels } = await readLabelMap(synthfacesMaskDir(root), '00004');
    const hq = await readRgb(join(root, 'images512x512', '00004.png'));
    const aligned = skinFit(hq, labels, '1', '1|1', 0);
    expect(aligned).toBeGreaterThan(0.93);
    expect(skinFit(hq, labels, '1', '1|1', 30)).toBeLessThan(aligned - 0.1);
    expect(skinFit(hq, labels, '1', '1|1', -30)).toBeLessThan(aligned - 0.1);
  });

  it('renders deterministically (same bytes twice) and is exposed as the mask of each sample', async () => {
    const id = sampleIdentity('1');
    const v = sampleVariation('1|2');
    const a = encodeGreyPng(await renderFaceLabels(id, v));
    const b = encodeGreyPng(await renderFaceLabels(id, v));
    expect(Buffer.compare(a, b)).toBe(0);
    expect(Buffer.compare(a, await readFile(join(root, 'face_parsing/00005.png')))).toBe(0);

    const ds = await createSynthfacesRef({ root, level: 'severe' });
    const samples = await ds.samples();
    expect(samples.map((s) => s.id)).toEqual(NAMES);
    for (const s of samples) expect(s.mask).toBe(join(synthfacesMaskDir(root), `${s.id}.png`));
  });
});
