/**
 * @file The options schema of every restorer (`restorer.options` in a run spec, `-r key=value` on the CLI).
 * Strict: an unknown key is an error with a "did you mean" (the registry checks them before anything runs).
 * Zod only, so the registry can validate a spec without loading onnxruntime or sharp.
 */
import { z } from 'zod';

/** `lq`: the pass-through takes no options. */
export const LqOptionsSchema = z.object({}).strict();

/** `classical`: bilateral denoise + unsharp mask. */
export const ClassicalOptionsSchema = z
  .object({
    /** Bilateral window radius in pixels (window is (2r+1)²). */
    radius: z.number().int().min(0).max(15).default(3),
    /** Spatial Gaussian σ in pixels. */
    sigmaSpace: z.number().positive().default(2),
    /** Range (colour) Gaussian σ in 8-bit levels. */
    sigmaColor: z.number().positive().default(20),
    /** Unsharp-mask blur σ in pixels. */
    sharpenSigma: z.number().positive().default(1.5),
    /** Unsharp-mask gain; 0 disables sharpening. */
    sharpenAmount: z.number().min(0).max(5).default(0.6),
  })
  .strict();

/**
 * How the `command` restorer turns its program's output file into 8-bit RGB:
 * - `require-8bit` (default): the file must be 8 bits per channel; a 16-bit or float image fails the sample.
 * - `rescale-16bit-and-float`: 16-bit values v become round(v·255/65535); float values are taken as sRGB in
 *   [0, 1] (no gamma change) and become round(clamp(v, 0, 1)·255).
 * Non-finite values (NaN, ±Inf) fail the sample whatever the setting.
 */
export const OUTPUT_CONVERSIONS = ['require-8bit', 'rescale-16bit-and-float'] as const;
export type OutputConversion = (typeof OUTPUT_CONVERSIONS)[number];

/** `command`: an external program per sample. */
export const CommandOptionsSchema = z
  .object({
    /** Program to run (a path or a name on PATH). */
    program: z.string().min(1),
    /** Arguments with placeholders ({in} {out} {refs} {refDir} {inDir} {outDir} {id}). */
    args: z.array(z.string()).default(['{in}', '{out}', '{refs}']),
    /** Working directory for the program. */
    cwd: z.string().optional(),
    /** Per-sample timeout in seconds. */
    timeoutS: z.number().positive().default(600),
    /** At most this many references are written (CSV order). */
    maxRefs: z.number().int().min(0).default(5),
    /** Extra environment variables. */
    env: z.record(z.string(), z.string()).default({}),
    /** A version label for run.json (e.g. the external repo's commit). */
    version: z.string().default('1'),
    /** How a non-8-bit output file is handled (see `OUTPUT_CONVERSIONS`); recorded in run.json. */
    outputConversion: z.enum(OUTPUT_CONVERSIONS).default('require-8bit'),
  })
  .strict();

/**
 * `precomputed`: a folder of restored images made by another program (a baseline's published outputs), matched by
 * sample id through `pattern`.
 */
export const PrecomputedOptionsSchema = z
  .object({
    /** The folder of restored images. */
    dir: z.string().min(1),
    /**
     * A sample's file, relative to `dir`: `{id}` is replaced by the sample id (e.g. `final_results/{id}.png`).
     * It must stay inside `dir`.
     */
    pattern: z
      .string()
      .min(1)
      .refine((p) => p.includes('{id}'), { message: 'must contain {id} (the sample id)' })
      .default('{id}.png'),
    /** How a non-8-bit file is handled (as the `command` restorer's `outputConversion`). */
    outputConversion: z.enum(OUTPUT_CONVERSIONS).default('require-8bit'),
    /** What made the images (method, code version, settings), recorded in run.json. */
    method: z.string().min(1).optional(),
    /** A version label for run.json. */
    version: z.string().default('1'),
  })
  .strict();

const RangeSchema = z.enum(['minus-one-one', 'zero-one']);
const ScalarSchema = z.union([
  z.number(),
  z.object({ value: z.number(), dtype: z.enum(['float32', 'float64', 'int64', 'bool']).default('float32'), shape: z.array(z.number().int()).default([]) }).strict(),
]);

/** `onnx-single`: one-pass ONNX face restorers. */
export const OnnxSingleOptionsSchema = z
  .object({
    /** Path of the .onnx file. */
    model: z.string(),
    /** Square model input size in px (images are PIL-bicubic resized to it when they differ). */
    inputSize: z.number().int().positive().default(512),
    /** Input value range. */
    range: RangeSchema.default('minus-one-one'),
    /** Output value range (defaults to `range`). */
    outputRange: RangeSchema.optional(),
    channels: z.enum(['rgb', 'bgr']).default('rgb'),
    /** Image input name (default: the graph's first input). */
    inputName: z.string().optional(),
    /** Image output name (default: the graph's first output). */
    outputName: z.string().optional(),
    /** Extra scalar inputs: name → number (float32 scalar) or {value, dtype, shape}. */
    extraInputs: z.record(z.string(), ScalarSchema).default({}),
    /** Output quantisation: basicsr `tensor2img` rounds. */
    quantise: z.enum(['round', 'trunc']).default('round'),
    device: z.enum(['cpu', 'cuda']).default('cpu'),
    threads: z.number().int().min(0).optional(),
  })
  .strict();

/** `ref-ldm` options; keys map 1:1 to run-spec `restorer.options`. */
export const RefLdmOptionsSchema = z
  .object({
    /** Bundle directory (bundle.json + *.onnx). Required unless `config` is 'tiny'. */
    bundle: z.string().optional(),
    config: z.enum(['tiny', 'paper']).optional(),
    /** Requested DDIM steps (the schedule may give one more, e.g. 30 → 31). Paper: 100. */
    steps: z.number().int().min(1).max(1000).default(100),
    /** Paper: 'uniform' (1, 11, …, 991); the demo uses 'uniform_trailing'. */
    schedule: z.enum(['uniform', 'uniform_trailing']).default('uniform'),
    /** Classifier-free guidance scale; 1 runs the conditional pass only. Paper: 1.5. */
    cfg: z.number().min(0).default(1.5),
    /**
     * At most this many references: the first k in CSV order, never duplicated. Paper: 5. 0 = ignore the
     * dataset's references and use the model's learned "no reference" input (`zeroRefs` zero latents,
     * docs/model.md §8).
     */
    maxRefs: z.number().int().min(0).default(5),
    /** Zero latents standing for "no references" (docs/model.md §8); default bundle.zeroRefDefault (5). */
    zeroRefs: z.number().int().min(1).optional(),
    design: z.enum(['cachekv', 'spatial', 'cross', 'channel']).default('cachekv'),
    /** x_T: a .f32 file (1×8×64×64, little-endian) or a seed for the documented PRNG (not torch's). */
    xT: z.union([z.string(), z.number().int()]).optional(),
    device: z.enum(['cpu', 'cuda']).default('cpu'),
    threads: z.number().int().min(0).optional(),
    quantise: z.enum(['trunc', 'round']).default('trunc'),
    /**
     * onnx engine: check every ONNX file's sha256 against bundle.json before loading (default true). With false,
     * run.json still records the files' actual hashes.
     */
    verifyHashes: z.boolean().default(true),
    /** `onnx`: the ONNX bundle through onnxruntime (default); `torch`: python/refbench_model in a PyTorch worker. */
    engine: z.enum(['onnx', 'torch']).default('onnx'),
    // The keys below are read by engine 'torch' only (an error with engine 'onnx'; docs/refldm-runner.md).
    /** The Python interpreter (default python/.venv/bin/python, made by python/setup.sh). */
    python: z.string().min(1).optional(),
    /** The official refldm.ckpt (EMA weights; config defaults to 'paper'). */
    ckpt: z.string().min(1).optional(),
    /** The official vqgan.ckpt (needed when refldm.ckpt holds no VQGAN copy). */
    vqgan: z.string().min(1).optional(),
    /** Allow full unpickling of a checkpoint that weights_only loading refuses (trusted files only). */
    allowPickle: z.boolean().default(false),
    /** Seeded random-init weights (test-only; needs `config`). A random-init `bundle` gives its seed too. */
    randomInit: z.number().int().min(0).optional(),
    /** Autocast precision of the VAE encoder and the U-Net (the decoder and DDIM stay fp32). */
    dtype: z.enum(['fp32', 'bf16', 'fp16']).default('fp32'),
    /** CFG's two main passes as one B = 2 batch [uncond, cond], as the official sampler (false: one pass per branch). */
    cfgBatch: z.boolean().default(true),
    /** Attention kernel: `math` (the official arithmetic) or `sdpa` (scaled_dot_product_attention). */
    attention: z.enum(['math', 'sdpa']).default('sdpa'),
    /** CacheKV storage: `concat` per layer and step (official) or preallocated `buffers`. */
    kvCache: z.enum(['concat', 'buffers']).default('buffers'),
    /** Reference pass: `loop` (official: one U-Net pass per reference, B = 2 [zero, real] with CFG) or `batched`. */
    refPass: z.enum(['loop', 'batched']).default('batched'),
    /** cuda only: torch.compile of the fixed-shape U-Net step. */
    compile: z.boolean().default(false),
    /** cuda only: one CUDA graph per fixed-shape U-Net step. */
    cudaGraphs: z.boolean().default(false),
    /** cuda only: cuDNN convolution autotuning. */
    cudnnBenchmark: z.boolean().default(false),
    /** Seconds one image may take before the worker is killed and the sample fails (0 = no limit). */
    timeoutS: z.number().min(0).default(3600),
  })
  .strict();
