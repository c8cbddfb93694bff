/**
 * @file The `psnr` metric: pyiqa 'psnr' as ReF-LDM's eval.py calls it (RGB, [0, 1], eps 1e-8 → 80 dB cap, no
 * crop). A thin shell over `eval/metrics/functional/psnr.ts`; no network, no weights.
 */
import { perSampleMetric, type Metric, type MetricSpec, type PerSampleState } from '../../eval/metrics/metric.ts';
import { psnr } from '../../eval/metrics/functional/psnr.ts';
import type { MetricFactoryOptions } from './index.ts';

export const PSNR_SPEC: MetricSpec = Object.freeze({
  id: 'psnr',
  version: '1',
  kind: 'paired',
  higherIsBetter: true,
  range: [0, 80] as const,
  decimals: 2,
  description: "PSNR (dB), pyiqa 'psnr' convention: RGB in [0,1] over C·H·W, 10·log10(1/(MSE+1e-8)), no crop",
  input: {},
  weights: 'none',
});

/**
 * Creates the `psnr` metric. Predictions and ground truths must have the same size (any size).
 * @example (await createPsnr()).spec.id // → 'psnr'
 */
export async function createPsnr(_options: MetricFactoryOptions = {}): Promise<Metric<PerSampleState>> {
  return perSampleMetric(PSNR_SPEC, (items) => items.map((it) => psnr(it.pred, it.gt!, `psnr: sample '${it.sampleId}'`)));
}
