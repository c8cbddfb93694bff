/**
 * @file The `ref-ldm` restorer: options (zod) → bundle → sampler, and the Restorer seam around it.
 * Weights provenance comes from bundle.json: a random-init bundle makes `info.weights.kind = 'random-init'`,
 * so the run is labelled untrained everywhere downstream.
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
import { parseOptions } from '../../../eval/spec/run-spec.ts';
import { RefLdmOptionsSchema } from '../options.ts';
import type { Restorer, RestorerInfo, RestoreInput, RestoreOptions, RestoreOutput } from '../../../eval/restorers/restorer.ts';
import { gaussianNoise, NOISE_GENERATOR_ID } from '../../../eval/refldm/noise.ts';
import type { WeightFileRecord } from '../../../eval/types.ts';
import { weightFile } from '../../models/weights.ts';
import { bundleFiles, loadBundleJson } from './bundle.ts';
import { RefLdmSampler } from './sampler.ts';
import { ms2 } from './instrumentation.ts';

/** Repository root (four levels above src/lib/server/restorers/ref-ldm). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../../../../', import.meta.url)));
/** The committed tiny random-init bundle, the default for `config: 'tiny'`. */
export const TINY_BUNDLE_DIR = join(REPO_ROOT, 'test/fixtures/refldm-tiny');

export { RefLdmOptionsSchema };

export type RefLdmOptions = z.input<typeof RefLdmOptionsSchema>;

/** Parses options, naming every bad field. */
export function parseRefLdmOptions(options: Readonly<Record<string, unknown>>): z.output<typeof RefLdmOptionsSchema> {
  return parseOptions(RefLdmOptionsSchema, options, { path: ['restorer', 'options'] });
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

/** Creates the `ref-ldm` restorer (loads every session up front; `loadMs` is reported separately). */
export async function createRefLdm(options: Readonly<Record<string, unknown>>): Promise<Restorer & { sampler: RefLdmSampler; xT: Float32Array }> {
  const o = parseRefLdmOptions(options);
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
  const n = C * S * S;
  let xT: Float32Array;
  let xTRecord: Record<string, unknown>;
  let xTFile: WeightFileRecord | undefined;
  const defaultFile = join(bundle.dir, 'x_T.f32');
  if (typeof o.xT === 'string' || (o.xT === undefined && existsSync(defaultFile))) {
    const p = resolve(typeof o.xT === 'string' ? o.xT : defaultFile);
    if (!existsSync(p)) throw new Error(`${p}: cannot read x_T (file not found)`);
    xTFile = await weightFile(p, 'x_T');
    xT = await readF32(p, n);
    xTRecord = { kind: 'file', path: p, sha256: xTFile.sha256 };
  } else {
    const seed = o.xT ?? 2024;
    xT = gaussianNoise(n, seed);
    xTRecord = { kind: 'seed', seed, generator: NOISE_GENERATOR_ID, note: "not torch's RNG: outputs differ from a PyTorch run with the same seed" };
  }

  const w = bundle.json.weights;
  const files = bundleFiles(bundle);
  const info: RestorerInfo = {
    id: 'ref-ldm',
    version: `bundle-v${bundle.json.formatVersion}`,
    weights: w.kind === 'random-init' ? { kind: 'random-init', seed: w.seed, files } : { kind: 'checkpoint', files },
    settings: {
      bundle: bundle.dir,
      config: bundle.json.config,
      design: o.design,
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
