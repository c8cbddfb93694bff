/**
 * @file The only importer of onnxruntime-node (transformers.js `backends/onnx.js`). Every network in refbench is
 * created and run through `createSession` / `runSession`.
 *
 * Invariants:
 * - Execution providers are chosen from a frozen table; asking for `cuda` when its provider library is not
 *   installed throws a clear error. onnxruntime does not fall back to the CPU by itself, and neither do we.
 * - `runSession` validates inputs against `session.inputNames`, listing every missing name at once.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { relaxFixedOutputBatch } from './onnx-shape.ts';

export type Device = 'cpu' | 'cuda';

/** Device → execution providers handed to onnxruntime. */
export const EXECUTION_PROVIDERS_BY_DEVICE = Object.freeze({
  cpu: ['cpu'],
  cuda: ['cuda'],
} as const satisfies Record<Device, readonly string[]>);

export interface SessionOptions {
  readonly device?: Device;
  /** Intra-op threads; 0 or undefined lets onnxruntime decide. */
  readonly threads?: number;
  readonly graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Keep outputs on the device (cuda only): `ort.Tensor`s stay device-resident. */
  readonly preferredOutputLocation?: 'cpu' | 'gpu-buffer';
  /** Inter-op threads (only used by the `parallel` execution mode); default 1 when `threads` is set. */
  readonly interOpThreads?: number;
  /** onnxruntime's execution mode (default `sequential`). */
  readonly executionMode?: 'sequential' | 'parallel';
  /**
   * Whether idle intra-op threads spin before sleeping (onnxruntime's default: true). Spinning burns CPU that
   * other processes on a shared/loaded host could use; turning it off does not change any result.
   */
  readonly allowSpinning?: boolean;
  /** Write onnxruntime's per-op JSON profile (chrome trace) with this file prefix; see `endProfiling`. */
  readonly profilePrefix?: string;
  /**
   * For networks run on batches: when the graph declares an output with batch 1 although its input batch is
   * dynamic (insightface's ArcFace exports), declare that output's batch dynamic too, in memory, before creating
   * the session (onnx-shape.ts). Values are unchanged; onnxruntime then stops logging a VerifyOutputSizes
   * warning on every batch.
   */
  readonly relaxOutputBatch?: boolean;
}

export type Session = ort.InferenceSession;
export type Tensor = ort.Tensor;
export const Tensor = ort.Tensor;

/** A command for GPU users, shown when cuda is requested but missing (README has the same line). */
export const CUDA_INSTALL_HINT = 'npm run install:cuda   (downloads the onnxruntime CUDA provider into node_modules/onnxruntime-node)';

/**
 * The CUDA provider libraries onnxruntime-node loads from its binding folder, on the platform that
 * `npm run install:cuda` supports (linux x64); empty elsewhere (onnxruntime itself then decides).
 */
export function cudaProviderFiles(): string[] {
  if (process.platform !== 'linux' || process.arch !== 'x64') return [];
  const dir = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin/napi-v6/linux/x64');
  return ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'].map((f) => join(dir, f));
}

/**
 * Creates an inference session from a file path or bytes.
 * NOTE: for `cuda`, missing provider libraries are detected before onnxruntime is asked: onnxruntime would print
 * its own red "Failed to load library libonnxruntime_providers_shared.so" line to stderr (native logging, which
 * cannot be captured) before our clear error.
 * @throws Error naming the file and, for cuda, how to install the provider.
 */
export async function createSession(model: string | Uint8Array, opts: SessionOptions = {}): Promise<Session> {
  const device = opts.device ?? 'cpu';
  const what = typeof model === 'string' ? model : `<${model.byteLength}-byte model>`;
  const so: ort.InferenceSession.SessionOptions = {
    executionProviders: [...EXECUTION_PROVIDERS_BY_DEVICE[device]],
    graphOptimizationLevel: opts.graphOptimization ?? 'all',
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
    ...(opts.interOpThreads ? { interOpNumThreads: opts.interOpThreads } : {}),
    ...(opts.executionMode ? { executionMode: opts.executionMode } : {}),
    ...(opts.allowSpinning !== undefined ? { extra: { session: { intra_op: { allow_spinning: opts.allowSpinning ? '1' : '0' } } } } : {}),
    ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
    ...(device === 'cuda' && opts.preferredOutputLocation ? { preferredOutputLocation: opts.preferredOutputLocation } : {}),
  };
  if (device === 'cuda') {
    const missing = cudaProviderFiles().filter((f) => !existsSync(f));
    if (missing.length) throw new Error(`${what}: the CUDA execution provider could not be loaded (${missing.join(', ')} not installed). Install it with: ${CUDA_INSTALL_HINT}`);
  }
  try {
    const session = typeof model === 'string' ? await ort.InferenceSession.create(model, so) : await ort.InferenceSession.create(model, so);
    if (!opts.relaxOutputBatch || !hasFixedOutputBatch(session)) return session;
    const relaxed = relaxFixedOutputBatch(typeof model === 'string' ? await readFile(model) : model);
    if (!relaxed) return session;
    await session.release();
    return await ort.InferenceSession.create(relaxed.model, so);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (device === 'cuda' && /cuda|providers_shared|shared library/i.test(msg)) {
      throw new Error(`${what}: the CUDA execution provider could not be loaded (${msg.split('\n')[0]}). Install it with: ${CUDA_INSTALL_HINT}`);
    }
    throw new Error(`${what}: could not create an onnxruntime session: ${msg}`);
  }
}

/** Whether the first input's batch is symbolic while some output's batch is declared as 1. */
function hasFixedOutputBatch(session: ort.InferenceSession): boolean {
  const meta = session as unknown as { inputMetadata?: readonly { shape?: readonly unknown[] }[]; outputMetadata?: readonly { shape?: readonly unknown[] }[] };
  const b0 = meta.inputMetadata?.[0]?.shape?.[0];
  const dynamicIn = typeof b0 === 'string' || (typeof b0 === 'number' && b0 < 0);
  return dynamicIn && !!meta.outputMetadata?.some((o) => o.shape?.[0] === 1);
}

/** Input feeds by name. */
export type Feeds = Record<string, ort.Tensor>;

/**
 * Runs a session after checking the feeds against `session.inputNames` (all missing names are listed).
 * @throws Error naming the missing/unexpected inputs, or the run failure with each input's type and dims.
 */
export async function runSession(session: Session, feeds: Feeds, outputNames?: readonly string[]): Promise<Record<string, ort.Tensor>> {
  const missing = session.inputNames.filter((n) => !(n in feeds));
  const extra = Object.keys(feeds).filter((n) => !session.inputNames.includes(n));
  if (missing.length || extra.length) {
    throw new Error(
      `onnx inputs do not match the graph: ${missing.length ? `missing [${missing.join(', ')}]` : ''}` +
        `${extra.length ? ` unexpected [${extra.join(', ')}]` : ''}; graph inputs: [${session.inputNames.join(', ')}]`,
    );
  }
  try {
    return outputNames ? await session.run(feeds, outputNames as string[]) : await session.run(feeds);
  } catch (err) {
    const desc = Object.entries(feeds)
      .map(([k, t]) => `${k}: ${t.type}[${t.dims.join(',')}]`)
      .join('; ');
    throw new Error(`onnx run failed (${err instanceof Error ? err.message : String(err)}); inputs: ${desc}`);
  }
}

/** Float32 tensor helper. */
export function f32(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims as number[]);
}

/** onnxruntime-node's version, for run.json. */
export const ORT_VERSION: string = (ort.env as unknown as { versions?: { common?: string } }).versions?.common ?? 'unknown';
