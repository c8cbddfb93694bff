/**
 * @file Reference statistics files of the FID family: Gaussian statistics (`mu`, `sigma`, as clean-fid/pyiqa
 * `.npz` or refbench `.json`) for FID, and feature matrices (`feats`) for KID.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { GaussianStats } from '../../eval/metrics/functional/frechet-distance.ts';
import type { FeatureMatrix } from '../../eval/metrics/functional/kernel-distance.ts';
import { encodeNpz, readNpz } from './npz.ts';

/**
 * Reads reference statistics: `.npz` with keys `mu` (d,) and `sigma` (d, d) (clean-fid/pyiqa files such as
 * `ffhq_clean_trainval70k_512.npz`), or refbench `.json` (`{ mu: number[], sigma: number[] (row-major), n? }`).
 * @throws Error naming the file and the keys found when `mu`/`sigma` are missing or mis-shaped.
 */
export async function readGaussianStats(path: string): Promise<GaussianStats> {
  if (path.endsWith('.json')) {
    const j = JSON.parse(await readFile(path, 'utf8')) as { mu?: number[]; sigma?: number[]; n?: number };
    if (!Array.isArray(j.mu) || !Array.isArray(j.sigma)) throw new Error(`${path}: expected fields 'mu' and 'sigma'`);
    const dim = j.mu.length;
    if (j.sigma.length !== dim * dim) throw new Error(`${path}: 'sigma' has ${j.sigma.length} values, expected ${dim}×${dim}`);
    return { dim, mu: Float64Array.from(j.mu), sigma: Float64Array.from(j.sigma), n: j.n };
  }
  const arrays = await readNpz(path);
  const mu = arrays.get('mu');
  const sigma = arrays.get('sigma');
  if (!mu || !sigma) {
    throw new Error(`${path}: expected arrays 'mu' and 'sigma' (clean-fid statistics), found: ${[...arrays.keys()].join(', ') || '(none)'}`);
  }
  const dim = mu.data.length;
  if (mu.shape.length !== 1 || sigma.shape.length !== 2 || sigma.shape[0] !== dim || sigma.shape[1] !== dim) {
    throw new Error(`${path}: 'mu' has shape (${mu.shape.join(', ')}) and 'sigma' (${sigma.shape.join(', ')}); expected (d,) and (d, d)`);
  }
  const n = arrays.get('n')?.data[0];
  return { dim, mu: mu.data, sigma: sigma.data, ...(n ? { n } : {}) };
}

/** Writes statistics as `.npz` (float64 `mu`, `sigma`, `n`; readable by `np.load`) or `.json`. */
export async function writeGaussianStats(path: string, s: GaussianStats, meta: Record<string, unknown> = {}): Promise<void> {
  if (path.endsWith('.json')) {
    await writeFile(path, JSON.stringify({ format: 'refbench-fid-stats', ...meta, dim: s.dim, n: s.n, mu: Array.from(s.mu), sigma: Array.from(s.sigma) }));
    return;
  }
  const arrays: Record<string, { shape: number[]; data: Float64Array }> = {
    mu: { shape: [s.dim], data: s.mu },
    sigma: { shape: [s.dim, s.dim], data: s.sigma },
  };
  if (s.n) arrays.n = { shape: [], data: Float64Array.of(s.n) };
  await writeFile(path, encodeNpz(arrays));
}

/** Reads KID reference features: a `.npz` with `feats` of shape (n, d). @throws naming the file and the keys found. */
export async function readFeatureMatrix(path: string): Promise<FeatureMatrix> {
  const arrays = await readNpz(path);
  const f = arrays.get('feats');
  if (!f || f.shape.length !== 2) throw new Error(`${path}: expected an array 'feats' of shape (n, d), found: ${[...arrays.keys()].join(', ')}`);
  return { n: f.shape[0], dim: f.shape[1], data: f.data };
}
