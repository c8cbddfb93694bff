/**
 * @file The `ref-ldm` restorer: options (zod) → engine → Restorer. Two engines share the options, inputs, x_T,
 * quantisation and record format: `onnx` (default; bundle → sampler.ts over onnxruntime) and `torch`
 * (python/refbench_model in a long-lived PyTorch worker, torch-engine.ts).
 * Weights provenance comes from bundle.json (onnx) or the worker (torch): random-init weights make
 * `info.weights.kind = 'random-init'`, so the run is labelled untrained everywhere downstream.
 *
 * @example
 *   const r = await createRefLdm({ config: 'tiny', steps: 10 });
 *   const out = await r.restore({ sampleId: 'a', lq, refs: [ref0, ref1] });
 *   out.image.width; // 512
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { parseOptions, SpecError } from '../../../eval/spec/run-spec.ts';
import { RefLdmOptionsSchema } from '../options.ts';
import type { Restorer, RestorerInfo, RestoreInput, RestoreOptions, RestoreOutput } from '../../../eval/restorers/restorer.ts';
import { gaussianNoise, NOISE_GENERATOR_ID } from '../../../eval/refldm/noise.ts';
import type { WeightFileRecord } from '../../../eval/types.ts';
import { weightFile } from '../../models/weights.ts';
import { attentionForm, bundleFiles, loadBundleJson } from './bundle.ts';
import { RefLdmSampler } from './sampler.ts';
import { ms2 } from './instrumentation.ts';

/** Repository root (four levels above src/lib/server/restorers/ref-ldm). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../../../../', import.meta.url)));
/** The committed tiny random-init bundle, the default for `config: 'tiny'`. */
export const TINY_BUNDLE_DIR = join(REPO_ROOT, 'test/fixtures/refldm-tiny');

export { RefLdmOptionsSchema };

export type RefLdmOptions = z.input<typeof RefLdmOptionsSchema>;
export type RefLdmParsedOptions = z.output<typeof RefLdmOptionsSchema>;

/** Options only the torch engine reads (an error with `engine: onnx`). */
export const TORCH_ONLY_OPTIONS = Object.freeze([
  'python', 'ckpt', 'vqgan', 'allowPickle', 'randomInit', 'dtype', 'cfgBatch', 'attention', 'kvCache', 'refPass', 'compile', 'cudaGraphs', 'cudnnBenchmark', 'timeoutS',
] as const);
/** Options only the onnx engine reads (an error with `engine: torch`). */
export const ONNX_ONLY_OPTIONS = Object.freeze(['verifyHashes'] as const);

/** Parses options, naming every bad field, and every option given that the chosen engine does not read. */
export function parseRefLdmOptions(options: Readonly<Record<string, unknown>>): RefLdmParsedOptions {
  const o = parseOptions(RefLdmOptionsSchema, options, { path: ['restorer', 'options'] });
  // NOTE: not a schema refinement: the registry requires a plain strict z.object (its keys drive "did you mean").
  const foreign: readonly string[] = o.engine === 'torch' ? ONNX_ONLY_OPTIONS : TORCH_ONLY_OPTIONS;
  const given = foreign.filter((k) => k in options);
  if (given.length) {
    const other = o.engine === 'torch' ? 'onnx' : 'torch';
    throw new SpecError(
      `restorer.options: ${given.join(', ')}: only read by engine '${other}' (this is engine '${o.engine}'${o.engine === 'onnx' ? ', the default' : ''}); remove ${given.length > 1 ? 'them' : 'it'} or set engine: ${other}`,
    );
  }
  return o;
}

/** The x_T of a run, how it was obtained (recorded in run.json) and, when read from a file, that file's record. */
export interface ResolvedXT {
  readonly xT: Float32Array;
  readonly record: Record<string, unknown>;
  readonly file?: WeightFileRecord;
}

/**
 * x_T for every image of a run (paper protocol, §12): the `xT` option (a .f32 file or a seed), else
 * `<defaultDir>/x_T.f32` when present, else seed 2024 with the documented PRNG. Shared by both engines.
 */
export async function resolveXT(xTOption: string | number | undefined, defaultDir: string | undefined, n: number): Promise<ResolvedXT> {
  const defaultFile = defaultDir ? join(defaultDir, 'x_T.f32') : undefined;
  if (typeof xTOption === 'string' || (xTOption === undefined && defaultFile && existsSync(defaultFile))) {
    const p = resolve(typeof xTOption === 'string' ? xTOption : defaultFile!);
    if (!existsSync(p)) throw new Error(`${p}: cannot read x_T (file not found)`);
    const file = await weightFile(p, 'x_T');
    return { xT: await readF32(p, n), record: { kind: 'file', path: p, sha256: file.sha256 }, file };
  }
  const seed = xTOption ?? 2024;
  return {
    xT: gaussianNoise(n, seed),
    record: { kind: 'seed', seed, generator: NOISE_GENERATOR_ID, note: "not torch's RNG: outputs differ from a PyTorch run with the same seed" },
  };
}

/** Reads a raw little-endian float32 file and checks its length. */
export async function readF32(path: string, expected: number): Promise<Float32Array> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new Error(`${path}: cannot read x_T (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (buf.byteLength !== expected * 4) throw new Error(`${path}: expected ${expected} float32 values (${expected * 4} bytes), got ${buf.byteLength} bytes`);
  const out = new Float32Array(expected);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/**
 * Creates the `ref-ldm` restorer (loads every model up front; `modelLoadMs` is reported separately).
 * `engine: torch` returns the PyTorch-worker restorer (torch-engine.ts).
 */
export async function createRefLdm(options: Readonly<Record<string, unknown>>): Promise<Restorer> {
  const o = parseRefLdmOptions(options);
  if (o.engine === 'torch') return (await import('./torch-engine.ts')).createTorchRefLdm(o);
  return createOnnxRefLdm(o);
}

/** The onnx engine: a bundle's graphs through onnxruntime (sampler.ts). */
export async function createOnnxRefLdm(o: RefLdmParsedOptions): Promise<Restorer & { sampler: RefLdmSampler; xT: Float32Array }> {
  const dir = o.bundle ?? (o.config === 'tiny' ? TINY_BUNDLE_DIR : undefined);
  if (!dir) {
    throw new Error(
      "ref-ldm options: 'bundle' is required (a directory with bundle.json); for the paper config export one with " +
        '`python/.venv/bin/python -m refbench_export bundle --config paper --random-init 0 --out <dir>` or convert real weights',
    );
  }
  const bundle = await loadBundleJson(dir);
  const bundleFile = await weightFile(join(bundle.dir, 'bundle.json'), 'bundle.json');
  if (o.config && o.config !== bundle.json.config) throw new Error(`${dir}/bundle.json: config is '${bundle.json.config}', options ask for '${o.config}'`);
  const zeroRefs = o.zeroRefs ?? (bundle.json.zeroRefDefault || 5);
  const sampler = await RefLdmSampler.create(bundle, {
    design: o.design,
    steps: o.steps,
    schedule: o.schedule,
    cfg: o.cfg,
    maxRefs: o.maxRefs,
    zeroRefs,
    quantise: o.quantise,
    device: o.device,
    threads: o.threads,
    verifyHashes: o.verifyHashes,
  });

  // x_T: one tensor shared by every image (paper protocol, §12).
  const { channels: C, size: S } = sampler.latent;
  const { xT, record: xTRecord, file: xTFile } = await resolveXT(o.xT, bundle.dir, C * S * S);

  const w = bundle.json.weights;
  const files = bundleFiles(bundle);
  const info: RestorerInfo = {
    id: 'ref-ldm',
    version: `bundle-v${bundle.json.formatVersion}`,
    weights: w.kind === 'random-init' ? { kind: 'random-init', seed: w.seed, files } : { kind: 'checkpoint', files },
    settings: {
      engine: 'onnx',
      bundle: bundle.dir,
      config: bundle.json.config,
      design: o.design,
      /** The graphs' attention form (docs/bundle.md): results do not depend on it, memory does. */
      attention: attentionForm(bundle).form,
      steps: o.steps,
      stepsRun: sampler.tables.timesteps.length,
      schedule: o.schedule,
      eta: 0,
      cfg: o.cfg,
      maxRefs: o.maxRefs,
      zeroRefs,
      quantise: o.quantise,
      device: o.device,
      threads: o.threads ?? 0,
      xT: xTRecord,
      modelLoadMs: ms2(sampler.loadMs),
      untrained: w.kind === 'random-init',
    },
  };

  const weightFiles: WeightFileRecord[] = [bundleFile, ...sampler.graphFiles, ...(xTFile ? [xTFile] : [])];

  return {
    info,
    weightFiles,
    sampler,
    xT,
    async restore(input: RestoreInput, opts?: RestoreOptions): Promise<RestoreOutput> {
      if (opts?.signal?.aborted) throw new Error(`${input.sampleId}: aborted`);
      const r = await sampler.sample(input.lq, input.refs, xT, opts?.onStep);
      const t = r.timings;
      return {
        image: r.image,
        timings: {
          preprocess: ms2(t.preprocess),
          encode: ms2(t.encode),
          refPass: ms2(t.refPass),
          steps: t.steps.map(ms2),
          decode: ms2(t.decode),
          total: ms2(t.total),
        },
        info: { ...r.info, modelLoadMs: ms2(sampler.loadMs), weights: w.kind },
      };
    },
    async dispose() {
      // Sessions are released with the process; onnxruntime-node has `release()` on sessions but the sampler
      // owns several and may be shared by a benchmark loop.
      await sampler.release();
    },
  };
}
