/**
 * @file The metric registry. Each entry is a lazy factory (`(options) => Promise<Metric>`), so listing metrics
 * loads no network, plus the strict schema of its options (validated by the registry before the factory runs).
 * Adding a metric = its file, its schema in options.ts, one `register` line here, with its conventions (the exact
 * mode the dashboard shows on the metric's column: implementation and version, input range, resize and crop;
 * eval/metrics/conventions.ts). A test checks every metric declares them.
 */
import type { MetricConventions } from '../../eval/metrics/conventions.ts';
import type { Metric } from '../../eval/metrics/metric.ts';
import { ComponentRegistry, type Component } from '../../eval/registry.ts';
import { TIME_METRIC } from '../../eval/results/schema.ts';
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

const CONVENTIONS = new Map<string, MetricConventions>();

/** Registers a metric with its conventions (the registry keeps the factory and schema; the conventions live here). */
function register(id: string, entry: Component<MetricFactory> & { readonly conventions: MetricConventions }, origin: string): void {
  METRICS.register(id, { create: entry.create, options: entry.options }, origin);
  CONVENTIONS.set(id, entry.conventions);
}

/**
 * The same registration for code outside this file (a plugin, or a test following docs/architecture.md's "Add a
 * metric" recipe): factory, strict options schema and conventions, checked like the entries below.
 */
export const registerMetric = register;

/** The conventions declared by metric `id` (`time-ms` included), or undefined for an id not registered here. */
export function metricConventions(id: string): MetricConventions | undefined {
  return CONVENTIONS.get(id);
}

// How a non-512 image is handled by the metrics with a `resize` option (metrics/options.ts `Resize`).
const RESIZE_512 = (crop: string) => ({
  none: `none: 512×512 required (other sizes are refused); ${crop}`,
  'pil-bicubic-512': `PIL bicubic to 512×512 when not 512 (as ReF-LDM's eval.py); ${crop}`,
});
const LPIPS_INPUT = 'RGB [0, 1] (uint8 / 255), mapped to [−1, 1] (2x − 1) before the network';
const ARCFACE = (vs: string) => ({
  implementation: `ReF-LDM IdentityLoss: insightface ArcFace R50 (WebFace) embeddings, cosine ${vs}`,
  input: 'RGB [−1, 1] ((x / 255 − 0.5) / 0.5), no face alignment',
  resize: RESIZE_512('then centre crop [32:480] and area resize (4×4 mean) to 112×112'),
});
const FID_CLEAN = {
  input: 'RGB uint8 as float, (x − 128) / 128 after the resize',
  resize: { default: 'PIL bicubic per channel in float ("clean" mode) to 299×299, no crop' },
};

register('lpips-vgg', {
  options: LpipsOptionsSchema,
  create: async (o) => (await import('./lpips.ts')).createLpips('vgg', o),
  conventions: { implementation: "lpips 0.1.4 LPIPS v0.1, VGG16 trunk + linear heads (= pyiqa 0.1.16 'lpips-vgg')", input: LPIPS_INPUT, resize: RESIZE_512('no crop') },
}, 'metrics/lpips.ts');
register('lpips-alex', {
  options: LpipsOptionsSchema,
  create: async (o) => (await import('./lpips.ts')).createLpips('alex', o),
  conventions: { implementation: "lpips 0.1.4 LPIPS v0.1, AlexNet trunk + linear heads (= pyiqa 0.1.16 'lpips')", input: LPIPS_INPUT, resize: RESIZE_512('no crop') },
}, 'metrics/lpips.ts');
register('flpips-vgg', {
  options: FlpipsOptionsSchema,
  create: async (o) => (await import('./flpips.ts')).createFlpips(o),
  conventions: {
    implementation: "ReF-LDM fLPIPS: lpips 0.1.4 LPIPS v0.1 VGG16 on prediction and GT both multiplied by the GT's face mask (CelebAMask-HQ face classes 2, 4-13, 15)",
    input: LPIPS_INPUT,
    resize: RESIZE_512('no crop; the mask is the label map of the GT at 512×512'),
  },
}, 'metrics/flpips.ts');
register('ids-arcface-r50', { options: IdsOptionsSchema, create: async (o) => (await import('./ids.ts')).createIds(o), conventions: ARCFACE('of prediction and GT') }, 'metrics/ids.ts');
register('ids-refs-arcface-r50', { options: IdsOptionsSchema, create: async (o) => (await import('./ids.ts')).createIdsRefs(o), conventions: ARCFACE('of prediction and each reference, averaged') }, 'metrics/ids.ts');
register('psnr', {
  options: NoOptionsSchema,
  create: async (o) => (await import('./psnr.ts')).createPsnr(o),
  conventions: { implementation: "pyiqa 0.1.16 'psnr' (RGB, not the Y channel): 10·log10(1 / (MSE + 1e-8))", input: 'RGB [0, 1] (uint8 / 255), MSE over C·H·W', resize: { default: 'none, no crop (prediction and GT at the same size)' } },
}, 'metrics/psnr.ts');
register('ssim', {
  options: NoOptionsSchema,
  create: async (o) => (await import('./ssim.ts')).createSsim(o),
  conventions: { implementation: "pyiqa 0.1.16 'ssim': Gaussian window 11, σ 1.5, valid convolution, mean of the map", input: 'Y of YIQ, ×255 and rounded', resize: { default: 'none, no crop, no downsampling' } },
}, 'metrics/ssim.ts');
register('niqe', {
  options: NiqeOptionsSchema,
  create: async (o) => (await import('./niqe.ts')).createNiqe(o),
  conventions: { implementation: "pyiqa 0.1.16 'niqe': 96-px blocks, 2 scales, LIVE pristine model (BasicSR's niqe_pris_params)", input: 'Y of YIQ, rounded', resize: { default: 'none on the image; MATLAB imresize (bicubic, antialiased) ×½ for the second scale' } },
}, 'metrics/niqe.ts');
register('fid-clean', {
  options: FidOptionsSchema,
  create: async (o) => (await import('./fid.ts')).createFid({ ...o, mode: 'clean' }),
  conventions: { implementation: "clean-fid 'clean' mode as pyiqa 0.1.16 'fid' runs it: FID-Inception (pytorch-fid port of TF inception-2015-12-05) pool3, 2048-d; Fréchet distance", ...FID_CLEAN },
}, 'metrics/fid.ts');
register('fid-legacy-pytorch', {
  options: FidOptionsSchema,
  create: async (o) => (await import('./fid.ts')).createFid({ ...o, mode: 'legacy-pytorch' }),
  conventions: {
    implementation: 'pytorch-fid convention (= clean-fid legacy_pytorch): FID-Inception pool3, 2048-d; Fréchet distance',
    input: 'RGB [−1, 1] (2x − 1) after the resize',
    resize: { default: 'torch bilinear (align_corners=False, no antialias) to 299×299, as torch 2.13; no crop' },
  },
}, 'metrics/fid.ts');
register('kid-clean', {
  options: KidOptionsSchema,
  create: async (o) => (await import('./kid.ts')).createKid({ ...o, mode: 'clean' }),
  conventions: { implementation: "clean-fid kernel_distance (as pyiqa 0.1.16): cubic polynomial kernel MMD², 100 subsets of min(n, 1000), seeded (clean-fid's are unseeded)", ...FID_CLEAN },
}, 'metrics/kid.ts');
// `time-ms` is no registered metric (the runner measures it), but it is a column too.
CONVENTIONS.set(TIME_METRIC.id, { implementation: "refbench: the restorer's own timings.total per image, wall clock", input: '—', resize: { default: '—' } });
