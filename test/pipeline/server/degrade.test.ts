import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RgbImage } from '../../../src/lib/eval/types.ts';
import { degradeFolder, degradeWithPreset } from '../../../src/lib/server/degrade.ts';
import { encodePng } from '../../../src/lib/server/image/io.ts';

function face(): RgbImage {
  const data = new Uint8Array(512 * 512 * 3);
  for (let y = 0; y < 512; y++) {
    for (let x = 0; x < 512; x++) {
      const i = (y * 512 + x) * 3;
      const inside = (x - 256) ** 2 / 150 ** 2 + (y - 256) ** 2 / 190 ** 2 < 1;
      data[i] = inside ? 220 : (x * 3) & 255;
      data[i + 1] = inside ? 170 : (y * 5) & 255;
      data[i + 2] = inside ? 140 : ((x ^ y) * 2) & 255;
    }
  }
  return { width: 512, height: 512, data };
}
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'refbench-degrade-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('degradation pipeline', () => {
  it('same (preset, seed, id) → identical bytes; other ids → other parameters and pixels', async () => {
    const hq = face();
    const a = await degradeWithPreset(hq, 'severe', 2024, '00001');
    const b = await degradeWithPreset(hq, 'severe', 2024, '00001');
    const c = await degradeWithPreset(hq, 'severe', 2024, '00002');
    expect([a.lq.width, a.lq.height]).toEqual([512, 512]);
    expect(sha(a.lq.data)).toBe(sha(b.lq.data));
    expect(a.params).toEqual(b.params);
    expect(c.params).not.toEqual(a.params);
    expect(sha(c.lq.data)).not.toBe(sha(a.lq.data));
    // Severe degradation destroys detail: the LQ is far from the HQ but keeps the overall colour.
    let diff = 0;
    let meanHq = 0;
    let meanLq = 0;
    for (let i = 0; i < hq.data.length; i++) {
      diff += Math.abs(hq.data[i] - a.lq.data[i]);
      meanHq += hq.data[i];
      meanLq += a.lq.data[i];
    }
    expect(diff / hq.data.length).toBeGreaterThan(10);
    expect(Math.abs(meanHq - meanLq) / hq.data.length).toBeLessThan(12);
  });

  it('degradeFolder writes one PNG per image and a params.jsonl line each, deterministically', async () => {
    const inDir = join(dir, 'in');
    await mkdir(inDir, { recursive: true });
    await writeFile(join(inDir, 'x.png'), await encodePng(face()));
    await writeFile(join(inDir, 'notes.txt'), 'ignored');
    const n1 = await degradeFolder(inDir, join(dir, 'o1'), 'moderate', 7);
    await degradeFolder(inDir, join(dir, 'o2'), 'moderate', 7);
    expect(n1).toBe(1);
    expect(sha(await readFile(join(dir, 'o1/x.png')))).toBe(sha(await readFile(join(dir, 'o2/x.png'))));
    const lines = (await readFile(join(dir, 'o1/params.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ file: 'x.png', preset: 'moderate', key: 'degrade|moderate|7|x', size: [512, 512] });
    await expect(degradeFolder(inDir, join(dir, 'o3'), 'mild', 7)).rejects.toThrow(/unknown degradation preset 'mild'/);
  });
});
