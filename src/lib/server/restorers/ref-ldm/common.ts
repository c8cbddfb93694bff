/**
 * @file What both `ref-ldm` engines share and nothing engine-specific: the options (zod schema, parsed types,
 * which options each engine reads), the committed tiny bundle's location, the latent geometry and x_T.
 * Imported by onnx-engine.ts, torch-engine.ts and restorer.ts; it imports neither engine.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import { parseOptions, SpecError } from '../../../eval/spec/run-spec.ts';
import { RefLdmOptionsSchema } from '../options.ts';
import { gaussianNoise, NOISE_GENERATOR_ID } from '../../../eval/refldm/noise.ts';
import type { WeightFileRecord } from '../../../eval/types.ts';
import { weightFile } from '../../models/weights.ts';
import { REPO_ROOT } from '../../paths.ts';

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

