/**
 * @file The `ssim` metric: pyiqa 'ssim' as ReF-LDM's eval.py calls it (Y of YIQ rounded, Gaussian 11/1.5,
 * 'valid', relu on cs, no downsampling). A thin shell over `eval/metrics/functional/ssim.ts`; no weights.
 */
import { perSampleMetric, type Metric, type MetricSpec, type PerSampleState } from '../../eval/metrics/metric.ts';
import { ssim } from '../../eval/metrics/functional/ssim.ts';
import type { MetricFactoryOptions } from './index.ts';

export const SSIM_SPEC: MetricSpec = Object.freeze({
  id: 'ssim',
  version: '1',
  kind: 'paired',
  higherIsBetter: true,
  range: [0, 1] as const,
  decimals: 4,
  description:
    "SSIM, pyiqa 'ssim' convention: Y of YIQ ×255 rounded, Gaussian window 11/σ1.5, valid, cs relu, mean map, no downsampling",
  input: {},
  weights: 'none',
});

/**
 * Creates the `ssim` metric. Predictions and ground truths must have the same size, at least 11×11.
 * @example (await createSsim()).spec.id // → 'ssim'
 */
export async function createSsim(_options: MetricFactoryOptions = {}): Promise<Metric<PerSampleState>> {
  return perSampleMetric(SSIM_SPEC, (items) => items.map((it) => ssim(it.pred, it.gt!, `ssim: sample '${it.sampleId}'`)));
}
