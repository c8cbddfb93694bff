/**
 * @file Shared loader for the pyiqa PSNR/SSIM/NIQE goldens (test/fixtures/pyiqa/, generator
 * python/refbench_golden/pyiqa_basic.py). Not a test file itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRgb } from '../../src/lib/server/image/io.ts';
import type { RgbImage } from '../../src/lib/eval/types.ts';

export const PYIQA_FIXTURE_DIR = join(import.meta.dirname, '../fixtures/pyiqa');

export interface PyiqaCase {
  name: string;
  a: string;
  b: string;
  width: number;
  height: number;
  psnr: number;
  ssim: number;
  niqe_a: number | null;
  niqe_b: number | null;
}

export interface PyiqaGolden {
  pyiqa_version: string;
  cases: PyiqaCase[];
  'fspecial_11_1.5': number[];
  'fspecial_7_7/6': number[];
  imresize: {
    height: number;
    width: number;
    input_u8: number[];
    [scale: `scale_${string}`]: { height: number; width: number; output: number[] };
  };
}

export const PYIQA_GOLDEN: PyiqaGolden = JSON.parse(readFileSync(join(PYIQA_FIXTURE_DIR, 'golden.json'), 'utf8'));

const cache = new Map<string, Promise<RgbImage>>();
/** Reads a fixture PNG once per test file. */
export function fixtureImage(file: string): Promise<RgbImage> {
  let p = cache.get(file);
  if (!p) cache.set(file, (p = readRgb(join(PYIQA_FIXTURE_DIR, file))));
  return p;
}

/** |a − b| / |b| (absolute when b = 0). */
export function relDelta(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b);
}
