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
