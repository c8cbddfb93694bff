/**
 * A set metric that cannot be computed at the end of a run (FID over one image) is logged, not fatal: the run's
 * samples and per-sample metrics are kept, and `refbench eval` then reports the error loudly.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeGaussianStats } from '../../../../src/lib/server/metrics/fid-stats.ts';
import { evalRun, runSpec } from '../../../../src/lib/server/runner/evaluate.ts';
import { writeFolderDataset } from '../../../helpers/folder-dataset.ts';

const FID_NET = join(import.meta.dirname, '../../../fixtures/fid/fid-inception-narrow.onnx');

describe('distribution metric on a one-image run', () => {
  it('keeps the run, logs why FID is missing, and eval fails with the clear error', async () => {
    const root = mkdtempSync(join(tmpdir(), 'refbench-set-'));
    await writeFolderDataset(join(root, 'ds'), 1, 1);
    const d = 256;
    const sigma = new Float64Array(d * d);
    for (let i = 0; i < d; i++) sigma[i * d + i] = 1;
    const stats = join(root, 'ref.npz');
    await writeGaussianStats(stats, { mu: new Float64Array(d), sigma, n: 10, dim: d });
    const fid = { id: 'fid-clean', options: { modelPath: FID_NET, reference: stats } };
    const logs: string[] = [];
    const r = await runSpec(
      { name: 'one', dataset: { adapter: 'folder', options: { root: join(root, 'ds') } }, restorer: { id: 'lq' }, metrics: ['psnr', fid] },
      { resultsDir: join(root, 'results'), quiet: true, log: (m) => logs.push(m) },
    );
    expect(r.summary.samples.ok).toBe(1);
    expect(r.summary.metrics.psnr.value).toBeGreaterThan(0);
    expect(r.summary.metrics['fid-clean']?.value ?? null).toBeNull();
    expect(logs.join('\n')).toMatch(/fid-clean not computed over 1 sample\(s\): .*2/);
    await expect(evalRun(r.runDir, ['fid-clean'], { quiet: true, metricOptions: { 'fid-clean': fid.options } })).rejects.toThrow(/at least 2|fewer than 2/);
  });
});
