/**
 * @file The options schema of every metric (`metrics[].options` in a run spec). Strict: an unknown key is an error
 * with a "did you mean" (the registry checks them before anything runs). Zod only, so the registry can validate
 * a spec without loading onnxruntime.
 *
 * `device` and `threads` are accepted by the metrics that run a network; the runner fills them from the spec's
 * top-level `device`/`threads` only for metrics whose schema has them.
 */
import { z } from 'zod';

const path = z.string().min(1);
const obj = (what: string) => z.custom<object>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), { message: `expected a path or ${what}` });

/** Options of every metric that loads a network. */
const NetworkOptions = {
  /** Models root holding manifest.json and weights/ (default ./models). */
  modelsDir: path.optional(),
  device: z.enum(['cpu', 'cuda']).optional(),
  /** Intra-op threads (0 = onnxruntime decides). */
  threads: z.number().int().min(0).optional(),
  /** Provenance to report; default `real` for the models folder, `test-random-init` for an explicit file. */
  weights: z.enum(['none', 'real', 'test-random-init']).optional(),
};

/** How a non-512 image is handled: `none` rejects it; `pil-bicubic-512` resizes it as eval.py does. */
const Resize = z.enum(['none', 'pil-bicubic-512']).default('none');

/** `psnr`, `ssim`: no options (their conventions are fixed; see the metric descriptions). */
export const NoOptionsSchema = z.object({}).strict();

/** `niqe`: the pristine parameters live under the models root. */
export const NiqeOptionsSchema = z.object({ modelsDir: path.optional() }).strict();

const lpipsShape = {
  ...NetworkOptions,
  /** Explicit trunk ONNX path (overrides the models folder). */
  onnx: path.optional(),
  /** Explicit `.lin.json` path (default: next to the ONNX). */
  lin: path.optional(),
  resize: Resize,
  /** Image pairs per ONNX run (the trunk sees 2× this batch). */
  batchPairs: z.number().int().min(1).default(2),
};

/** `lpips-vgg`, `lpips-alex`. */
export const LpipsOptionsSchema = z.object(lpipsShape).strict();

/** `flpips-vgg`: LPIPS-VGG on face-masked pairs. */
export const FlpipsOptionsSchema = z
  .object({
    ...lpipsShape,
    /** Folder of per-sample label maps (`<sampleId>.npy` or `.png`); required unless every sample carries a mask. */
    maskDir: path.optional(),
    /** Label values counted as face (default: docs/protocol.md §5.3 `face`). */
    faceClasses: z.array(z.number().int()).optional(),
  })
  .strict();

/** `ids-arcface-r50`, `ids-refs-arcface-r50`. */
export const IdsOptionsSchema = z
  .object({
    ...NetworkOptions,
    /** Explicit ArcFace ONNX path (overrides the models folder). */
    onnx: path.optional(),
    resize: Resize,
    /** Images per ONNX run. */
    batchSize: z.number().int().min(1).default(8),
  })
  .strict();

const fidShape = {
  ...NetworkOptions,
  /** Explicit FID-Inception ONNX path; default: the models folder. */
  modelPath: path.optional(),
  /** Images per ONNX run. */
  batchSize: z.number().int().min(1).default(8),
};

/** `fid-clean`, `fid-legacy-pytorch` (the mode comes from the id). */
export const FidOptionsSchema = z
  .object({
    ...fidShape,
    /** Reference statistics: a .npz (mu, sigma) or .json path (or, in code, the statistics themselves). */
    reference: z.union([path, obj('Gaussian statistics')]).optional(),
  })
  .strict();

/** `kid-clean`. */
export const KidOptionsSchema = z
  .object({
    ...fidShape,
    /** KID reference features: a .npz with `feats` (n × d) (or, in code, the matrix). */
    referenceFeatures: z.union([path, obj('a feature matrix')]).optional(),
    /** Subset sampler seed (recorded in the result). */
    kidSeed: z.number().int().default(0),
  })
  .strict();
