/**
 * @file The metric registry. Each entry is a lazy factory (`(options) => Promise<Metric>`), so listing metrics
 * loads no network, plus the strict schema of its options (validated by the registry before the factory runs).
 * Adding a metric = its file, its schema in options.ts, one `register` line here.
 */
import type { Metric } from '../../eval/metrics/metric.ts';
import { ComponentRegistry } from '../../eval/registry.ts';
import { FidOptionsSchema, FlpipsOptionsSchema, IdsOptionsSchema, KidOptionsSchema, LpipsOptionsSchema, NiqeOptionsSchema, NoOptionsSchema } from './options.ts';

/** Options every metric factory receives (from the run spec's `metrics[].options` and CLI flags). */
export interface MetricFactoryOptions {
  /** Folder holding model files (default: ./models). */
  readonly modelsDir?: string;
  readonly device?: 'cpu' | 'cuda';
  readonly threads?: number;
  readonly [key: string]: unknown;
}

export type MetricFactory = (options: MetricFactoryOptions) => Promise<Metric<any>>;

export const METRICS = new ComponentRegistry<MetricFactory>('metric');
METRICS.register('lpips-vgg', { options: LpipsOptionsSchema, create: async (o) => (await import('./lpips.ts')).createLpips('vgg', o) }, 'metrics/lpips.ts');
METRICS.register('lpips-alex', { options: LpipsOptionsSchema, create: async (o) => (await import('./lpips.ts')).createLpips('alex', o) }, 'metrics/lpips.ts');
METRICS.register('flpips-vgg', { options: FlpipsOptionsSchema, create: async (o) => (await import('./flpips.ts')).createFlpips(o) }, 'metrics/flpips.ts');
METRICS.register('ids-arcface-r50', { options: IdsOptionsSchema, create: async (o) => (await import('./ids.ts')).createIds(o) }, 'metrics/ids.ts');
METRICS.register('ids-refs-arcface-r50', { options: IdsOptionsSchema, create: async (o) => (await import('./ids.ts')).createIdsRefs(o) }, 'metrics/ids.ts');
METRICS.register('psnr', { options: NoOptionsSchema, create: async (o) => (await import('./psnr.ts')).createPsnr(o) }, 'metrics/psnr.ts');
METRICS.register('ssim', { options: NoOptionsSchema, create: async (o) => (await import('./ssim.ts')).createSsim(o) }, 'metrics/ssim.ts');
METRICS.register('niqe', { options: NiqeOptionsSchema, create: async (o) => (await import('./niqe.ts')).createNiqe(o) }, 'metrics/niqe.ts');
METRICS.register('fid-clean', { options: FidOptionsSchema, create: async (o) => (await import('./fid.ts')).createFid({ ...o, mode: 'clean' }) }, 'metrics/fid.ts');
METRICS.register('fid-legacy-pytorch', { options: FidOptionsSchema, create: async (o) => (await import('./fid.ts')).createFid({ ...o, mode: 'legacy-pytorch' }) }, 'metrics/fid.ts');
METRICS.register('kid-clean', { options: KidOptionsSchema, create: async (o) => (await import('./fid.ts')).createKid({ ...o, mode: 'clean' }) }, 'metrics/fid.ts');
