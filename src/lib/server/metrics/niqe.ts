/**
 * @file The `niqe` metric: pyiqa 'niqe' as ReF-LDM's eval.py calls it (no reference; lower is better). A thin
 * shell over `eval/metrics/functional/niqe.ts` that loads the pristine model from
 * `<modelsDir>/niqe/niqe-pris-params.json` (committed; produced by python/refbench_metrics/niqe/convert_params.py).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { weightFile } from '../models/weights.ts';
import { join } from 'node:path';
import { perSampleMetric, type Metric, type MetricSpec, type PerSampleState } from '../../eval/metrics/metric.ts';
import { niqe, parseNiqeParams } from '../../eval/metrics/functional/niqe.ts';
import type { MetricFactoryOptions } from './index.ts';

export const NIQE_SPEC: MetricSpec = Object.freeze({
  id: 'niqe',
  version: '1',
  kind: 'no-reference',
  higherIsBetter: false,
  range: [0, 100] as const,
  decimals: 2,
  description:
    "NIQE, pyiqa 'niqe' convention (Y of YIQ rounded, 96px blocks, 2 scales, MATLAB imresize). Pristine model: LIVE " +
    'release parameters as redistributed by BasicSR (niqe_pris_params.npz); byte equality with pyiqa\'s ' +
    'niqe_modelparameters.mat not verified',
  input: {},
  weights: 'real',
});

/** Default location of the pristine parameters, relative to `modelsDir`. */
export const NIQE_PARAMS_FILE = join('niqe', 'niqe-pris-params.json');

/**
 * Creates the `niqe` metric. Images must be at least 96×96 (larger sizes are cropped to multiples of 96).
 * @throws Error naming the parameter file when it is missing or malformed
 */
export async function createNiqe(options: MetricFactoryOptions = {}): Promise<Metric<PerSampleState>> {
  const path = join(options.modelsDir ?? 'models', NIQE_PARAMS_FILE);
  if (!existsSync(path)) throw new Error(`${path}: NIQE pristine parameters not found (see python/refbench_metrics/niqe/convert_params.py)`);
  const file = await weightFile(path, 'pristine parameters');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new Error(`${path}: NIQE pristine parameters not found (see python/refbench_metrics/niqe/convert_params.py)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const params = parseNiqeParams(json, path);
  return perSampleMetric(NIQE_SPEC, (items) => items.map((it) => niqe(it.pred, params, `niqe: sample '${it.sampleId}'`)), {
    needsGt: false,
    weightFiles: [file],
  });
}
