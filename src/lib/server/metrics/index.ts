/**
 * @file The metric registry. Each entry is a lazy factory (`(options) => Promise<Metric>`), so listing metrics
 * loads no network. Adding a metric = its file plus one `register` line here.
 */
import type { Metric } from '../../eval/metrics/metric.ts';
import { Registry } from '../../eval/registry.ts';

/** Options every metric factory receives (from the run spec's `metrics[].options` and CLI flags). */
export interface MetricFactoryOptions {
  /** Folder holding model files (default: ./models). */
  readonly modelsDir?: string;
  readonly device?: 'cpu' | 'cuda';
  readonly threads?: number;
  readonly [key: string]: unknown;
}

export type MetricFactory = (options: MetricFactoryOptions) => Promise<Metric<any>>;

export const METRICS = new Registry<MetricFactory>('metric');
METRICS.register('lpips-vgg', async (o) => (await import('./lpips.ts')).createLpips('vgg', o), 'metrics/lpips.ts');
METRICS.register('lpips-alex', async (o) => (await import('./lpips.ts')).createLpips('alex', o), 'metrics/lpips.ts');
METRICS.register('flpips-vgg', async (o) => (await import('./flpips.ts')).createFlpips(o), 'metrics/flpips.ts');
METRICS.register('ids-arcface-r50', async (o) => (await import('./ids.ts')).createIds(o), 'metrics/ids.ts');
METRICS.register('ids-refs-arcface-r50', async (o) => (await import('./ids.ts')).createIdsRefs(o), 'metrics/ids.ts');
METRICS.register('psnr', async (o) => (await import('./psnr.ts')).createPsnr(o), 'metrics/psnr.ts');
METRICS.register('ssim', async (o) => (await import('./ssim.ts')).createSsim(o), 'metrics/ssim.ts');
METRICS.register('niqe', async (o) => (await import('./niqe.ts')).createNiqe(o), 'metrics/niqe.ts');
METRICS.register('fid-clean', async (o) => (await import('./fid.ts')).createFid({ ...o, mode: 'clean' }), 'metrics/fid.ts');
METRICS.register('fid-legacy-pytorch', async (o) => (await import('./fid.ts')).createFid({ ...o, mode: 'legacy-pytorch' }), 'metrics/fid.ts');
METRICS.register('kid-clean', async (o) => (await import('./fid.ts')).createKid({ ...o, mode: 'clean' }), 'metrics/fid.ts');
