/**
 * @file Test-only: the sharded-run fixture shared by the shard/merge pipeline test and the SLURM e2e test: a 7-sample
 * folder dataset, FID reference statistics and KID reference features for the narrow FID test network, a spec
 * scoring psnr, ssim, fid-clean and kid-clean, and readers that compare runs.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { writeGaussianStats } from '../../src/lib/server/metrics/fid-stats.ts';
import { writeNpz } from '../../src/lib/server/metrics/npz.ts';
import { writeFolderDataset } from './folder-dataset.ts';

const FID_NET = join(import.meta.dirname, '../fixtures/fid/fid-inception-narrow.onnx');
const D = 256;

/**
 * Writes the dataset (`root/ds`), reference files and `root/spec.json` (plus `root/spec-other.json`, another
 * restorer setting); returns the spec path. 5 KID reference rows, so KID's subsets of 5 out of 7 rows depend on
 * the row order.
 */
export async function writeShardFixture(root: string): Promise<string> {
  await writeFolderDataset(join(root, 'ds'), 7, 2);
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2;
  const sigma = new Float64Array(D * D);
  for (let i = 0; i < D; i++) sigma[i * D + i] = 0.01;
  await writeGaussianStats(join(root, 'ref.npz'), { dim: D, mu: Float64Array.from({ length: D }, rnd), sigma, n: 100 });
  await writeNpz(join(root, 'kid-ref.npz'), { feats: { shape: [5, D], data: Float64Array.from({ length: 5 * D }, rnd) } });
  const spec = {
    name: 'sharded',
    dataset: { adapter: 'folder', options: { root: join(root, 'ds') } },
    // NOTE: the `lq` restorer keeps the test fast on a loaded machine; the metrics still differ per image.
    restorer: { id: 'lq' },
    metrics: [
      'psnr',
      'ssim',
      { id: 'fid-clean', options: { modelPath: FID_NET, reference: join(root, 'ref.npz') } },
      { id: 'kid-clean', options: { modelPath: FID_NET, referenceFeatures: join(root, 'kid-ref.npz') } },
    ],
  };
  const file = join(root, 'spec.json');
  writeFileSync(file, JSON.stringify(spec));
  writeFileSync(join(root, 'spec-other.json'), JSON.stringify({ ...spec, restorer: { id: 'classical', options: { sharpenAmount: 0.5 } } }));
  return file;
}

/** sha256 of every file under `dir`, keyed by relative path. */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

const jsonl = (p: string) =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

/** Per sample: status, output and input hashes, and metric values without the wall time. */
export function perImage(runDir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const l of jsonl(join(runDir, 'samples.jsonl'))) {
    const { 'time-ms': _t, ...metrics } = l.metrics;
    out[l.sampleId] = { status: l.status, outputHash: l.outputHash, inputHash: l.inputHash, metrics };
  }
  return out;
}

/** The last set line per distribution metric. */
export function setValues(runDir: string): Record<string, { value: number; n: number; extra?: Record<string, number> }> {
  const out: Record<string, { value: number; n: number }> = {};
  for (const l of jsonl(join(runDir, 'eval.jsonl'))) if (!('sampleId' in l)) out[l.metric] = l;
  return out;
}

/** The run directories under a results root. */
export const runDirs = (resultsDir: string): string[] => readdirSync(join(resultsDir, 'runs')).map((d) => join(resultsDir, 'runs', d));

/** |a − b| / max(|a|, |b|). */
export const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
