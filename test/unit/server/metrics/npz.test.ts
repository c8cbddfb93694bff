// src/lib/server/metrics/npz.ts on the committed numpy-written archives (np.savez / np.savez_compressed, made by
// python/refbench_golden/fid.py), its own output, and broken files. Both directions against numpy, for every
// supported dtype: python/tests/test_npz_roundtrip.py.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpz, parseNpz, readNpz } from '../../../../src/lib/server/metrics/npz.ts';
import { REPO_ROOT } from '../../../../src/lib/server/paths.ts';

const DIR = join(REPO_ROOT, 'test/fixtures/fid');

describe('npz', () => {
  it('reads np.savez (stored, zip64 extras) and np.savez_compressed (deflate) archives of the same statistics', async () => {
    const stored = await readNpz(join(DIR, 'stats_small.npz'));
    const deflated = await readNpz(join(DIR, 'stats_small_compressed.npz'));
    expect([...stored.keys()].sort()).toEqual(['mu', 'sigma']);
    expect(stored.get('mu')).toMatchObject({ dtype: '<f8', shape: [64] });
    expect(stored.get('sigma')).toMatchObject({ dtype: '<f8', shape: [64, 64] });
    expect(deflated.get('sigma')).toMatchObject({ dtype: '<f4', shape: [64, 64] });
    // The compressed file holds the same values cast to float32 (fid.py): equal after rounding, element by element.
    for (const k of ['mu', 'sigma']) {
      const a = stored.get(k)!.data;
      const b = deflated.get(k)!.data;
      expect(b.length).toBe(a.length);
      expect(a.every((v, i) => Math.fround(v) === b[i])).toBe(true);
      expect(a.some((v, i) => v !== b[i])).toBe(true); // the cast did round: the two files are not read alike by accident
    }
    // sigma is a covariance: symmetric with a positive diagonal (a shuffled or misaligned read would break both).
    const s = stored.get('sigma')!.data;
    for (let i = 0; i < 64; i++) {
      expect(s[i * 64 + i]).toBeGreaterThan(0);
      for (let j = 0; j < i; j++) expect(s[i * 64 + j]).toBe(s[j * 64 + i]);
    }
  });

  it('writes archives it reads back exactly, the same bytes for the same arrays', () => {
    const arrays = {
      mu: { shape: [3], data: Float64Array.of(1.5, -0, Number.MIN_VALUE) },
      sigma: { shape: [2, 3], data: Float64Array.of(1, 2, 3, 4, 5, Number.MAX_VALUE) },
      n: { shape: [], data: Float64Array.of(7) },
    };
    const bytes = encodeNpz(arrays);
    expect(Buffer.from(encodeNpz(arrays)).equals(Buffer.from(bytes))).toBe(true);
    const back = parseNpz(bytes, 'mem');
    for (const [k, a] of Object.entries(arrays)) {
      expect(back.get(k)!.shape).toEqual(a.shape);
      expect(Buffer.from(back.get(k)!.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
    }
  });

  it('names the file for a non-zip, a truncated archive and a bad entry', async () => {
    const good = readFileSync(join(DIR, 'stats_small.npz'));
    expect(() => parseNpz(new TextEncoder().encode('not a zip at all, just text'.repeat(2)), 'x.npz')).toThrow(/^x\.npz: not a readable \.npz \(zip\) file/);
    expect(() => parseNpz(good.subarray(0, good.length - 40), 'cut.npz')).toThrow(/^cut\.npz: /);
    const bad = encodeNpz({ a: { shape: [2], data: Float64Array.of(1, 2) } });
    // Corrupt the .npy magic inside the stored entry: the error names the file and the key.
    const at = Buffer.from(bad).indexOf(Buffer.from('NUMPY'));
    bad[at] = 0x58;
    expect(() => parseNpz(bad, 'b.npz')).toThrow(/^b\.npz:a: not a \.npy array \(bad magic\)/);
    await expect(readNpz(join(DIR, 'no-such.npz'))).rejects.toThrow(/no-such\.npz: file not found/);
  });
});
