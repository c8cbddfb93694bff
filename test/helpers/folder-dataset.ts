/**
 * @file Test-only helpers: a tiny folder layout (gt/, lq/, refs/<id>/) written to a temp dir, and a `Dataset`
 * over it, so runner tests do not depend on the datasets helper's adapters.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset, SampleRef } from '../../src/lib/eval/datasets/types.ts';
import { encodePng } from '../../src/lib/server/image/io.ts';

/** A deterministic 512×512 test image (a seeded gradient pattern). */
export function patternImage(seed: number, size = 512): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const p = (y * size + x) * 3;
      data[p] = (x + seed * 37) & 255;
      data[p + 1] = (y * 2 + seed * 11) & 255;
      data[p + 2] = ((x ^ y) + seed * 5) & 255;
    }
  return { width: size, height: size, data };
}

/** Writes `n` samples s00..s(n-1) with GT, a slightly changed LQ and `refs` references each. */
export async function writeFolderDataset(root: string, n: number, refs = 1): Promise<void> {
  for (const d of ['gt', 'lq']) mkdirSync(join(root, d), { recursive: true });
  for (let i = 0; i < n; i++) {
    const id = `s${String(i).padStart(2, '0')}`;
    const gt = patternImage(i);
    const lq = { ...gt, data: gt.data.map((v, j) => (j % 7 === 0 ? 255 - v : v)) };
    writeFileSync(join(root, 'gt', `${id}.png`), await encodePng(gt));
    writeFileSync(join(root, 'lq', `${id}.png`), await encodePng(lq));
    mkdirSync(join(root, 'refs', id), { recursive: true });
    for (let r = 0; r < refs; r++) writeFileSync(join(root, 'refs', id, `${r}.png`), await encodePng(patternImage(i + 100 + r)));
  }
}

/** A `Dataset` over the folder layout; sample order is sorted by id. */
export function folderDataset(root: string): Dataset {
  return {
    info: { adapter: 'test-folder', id: 'test-folder', version: '1', root },
    async samples(): Promise<SampleRef[]> {
      return readdirSync(join(root, 'lq'))
        .filter((f) => f.endsWith('.png'))
        .sort()
        .map((f) => {
          const id = f.replace(/\.png$/, '');
          const refDir = join(root, 'refs', id);
          const refs = existsSync(refDir) ? readdirSync(refDir).sort().map((r) => join(refDir, r)) : [];
          return { id, lq: join(root, 'lq', f), gt: join(root, 'gt', f), refs };
        });
    },
    async inspect() {
      return [];
    },
  };
}
