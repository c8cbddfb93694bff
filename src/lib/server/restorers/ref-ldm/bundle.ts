/**
 * @file Loads and validates a ReF-LDM ONNX bundle (bundle.json + *.onnx, written by `python -m refbench_export`).
 * The bundle is the only boundary with the Python exporter: its camelCase JSON is parsed here with zod, once,
 * and every ONNX file is checked against the sha256 recorded in `files` before a session is created.
 * See docs/bundle.md (exporter side) and docs/refldm-runner.md (this side).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { sha256Cache, sha256File } from '../../models/sha256-cache.ts';

const DimSchema = z.union([z.number().int(), z.string(), z.null()]);
const IoSchema = z.object({ name: z.string(), dtype: z.string(), shape: z.array(DimSchema) });
/** One graph; `precision` is 'fp16' for the exporter's --fp16 U-Net graphs (absent: fp32). */
const GraphSchema = z.object({ file: z.string(), inputs: z.array(IoSchema), outputs: z.array(IoSchema), precision: z.enum(['fp32', 'fp16']).optional() });

/** One self-attention layer of the U-Net, forward order (docs/model.md §3.1). */
const AttentionLayerSchema = z.object({
  index: z.number().int().nonnegative(),
  name: z.string(),
  channels: z.number().int().positive(),
  heads: z.number().int().positive(),
  headDim: z.number().int().positive(),
  tokens: z.number().int().positive(),
});

const WeightsSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('random-init'), seed: z.number().int() }),
  z.object({ kind: z.literal('checkpoint'), refldmSha256: z.string(), vqganSha256: z.string() }),
]);

/**
 * How the exported graphs attend (docs/bundle.md, "Attention form"). `query-chunked`: the layers listed in `layers`
 * (graph key → layer) run their queries in blocks of `blockRows` feature-map rows, each block over all keys (same
 * arithmetic as full attention, bounded memory). Absent in bundles exported before it: `full`.
 */
const AttentionSchema = z.discriminatedUnion('form', [
  z.object({ form: z.literal('full') }),
  z.object({
    form: z.literal('query-chunked'),
    plannedRefs: z.number().int().positive(),
    budgetElements: z.number().int().positive(),
    layers: z.record(z.string(), z.array(z.object({ name: z.string(), rows: z.number().int().positive(), blockRows: z.array(z.number().int().positive()).min(1) }))),
  }),
]);
export type AttentionForm = z.infer<typeof AttentionSchema>;

/** bundle.json, formatVersion 1. Unknown keys are kept (`loose`) so newer exporters stay readable. */
export const BundleSchema = z.looseObject({
  format: z.literal('refbench-refldm-bundle'),
  formatVersion: z.literal(1),
  config: z.string(),
  model: z.looseObject({ vae: z.record(z.string(), z.unknown()), unet: z.record(z.string(), z.unknown()) }),
  weights: WeightsSchema,
  latent: z.object({ channels: z.number().int().positive(), factor: z.number().int().positive(), size: z.number().int().positive() }),
  schedule: z.object({
    numTimesteps: z.number().int().positive(),
    betaSchedule: z.string(),
    linearStart: z.number(),
    linearEnd: z.number(),
    alphasCumprod: z.array(z.number()),
  }),
  attentionLayers: z.array(AttentionLayerSchema).min(1),
  zeroRefDefault: z.number().int().nonnegative(),
  /** Absent (bundles exported before the query-chunked form): full attention. */
  attention: AttentionSchema.optional(),
  channelConcatRefs: z.number().int().positive(),
  graphs: z.looseObject({
    vaeEncoder: GraphSchema,
    vaeDecoder: GraphSchema,
    unetRef: GraphSchema.optional(),
    unet: GraphSchema.optional(),
    unetSpatial: GraphSchema.optional(),
    unetCross: GraphSchema.optional(),
    unetChannel: GraphSchema.optional(),
  }),
  files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
});

export type BundleJson = z.infer<typeof BundleSchema>;
export type GraphKey = 'vaeEncoder' | 'vaeDecoder' | 'unetRef' | 'unet' | 'unetSpatial' | 'unetCross' | 'unetChannel';
export type AttentionLayer = z.infer<typeof AttentionLayerSchema>;

/** A validated bundle: its JSON plus the directory it lives in. */
export interface Bundle {
  readonly dir: string;
  readonly json: BundleJson;
  /** ᾱ as float32 (the sampler's table). */
  readonly alphasCumprod: Float32Array;
}

/**
 * Reads and validates `<dir>/bundle.json`.
 * @throws Error naming the file and every invalid field.
 */
export async function loadBundleJson(dir: string): Promise<Bundle> {
  const abs = resolve(dir);
  const path = join(abs, 'bundle.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no bundle.json here (export one with python -m refbench_export)' : `cannot read (${code})`}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const parsed = BundleSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
    throw new Error(`${path}: invalid bundle.json:\n${issues}`);
  }
  const json = parsed.data;
  if (json.schedule.alphasCumprod.length !== json.schedule.numTimesteps) {
    throw new Error(`${path}: schedule.alphasCumprod has ${json.schedule.alphasCumprod.length} values, numTimesteps is ${json.schedule.numTimesteps}`);
  }
  for (const [key, g] of Object.entries(json.graphs)) {
    if (g && typeof g === 'object' && 'file' in g && !(String((g as { file: string }).file) in json.files)) {
      throw new Error(`${path}: graphs.${key}.file '${(g as { file: string }).file}' has no sha256 in files`);
    }
  }
  return { dir: abs, json, alphasCumprod: Float32Array.from(json.schedule.alphasCumprod) };
}

export { sha256File };

/**
 * The absolute path of a graph's ONNX file, after checking its sha256 against `files`.
 * @throws Error when the graph is not in the bundle or the hash differs (naming both hashes).
 */
export async function graphPath(bundle: Bundle, key: GraphKey, verify = true): Promise<string> {
  const g = bundle.json.graphs[key];
  if (!g) {
    const have = Object.keys(bundle.json.graphs).join(', ');
    throw new Error(`${join(bundle.dir, 'bundle.json')}: graph '${key}' is not in this bundle (has: ${have}); re-export with it`);
  }
  const path = join(bundle.dir, g.file);
  if (verify) {
    const want = bundle.json.files[g.file];
    // Large paper bundles hash once: the sha256 cache is keyed by path, size, mtime and ctime.
    const got = (await sha256Cache().sha256(path)).sha256;
    if (got !== want) throw new Error(`${path}: sha256 ${got} does not match bundle.json files['${g.file}'] = ${want}; re-export the bundle or restore the file`);
  }
  return path;
}

/** The bundle's attention form; bundles exported before the field existed use full attention. */
export function attentionForm(bundle: Bundle): AttentionForm {
  return bundle.json.attention ?? { form: 'full' };
}

/** The file hashes recorded for provenance (name → sha256). */
export function bundleFiles(bundle: Bundle): { name: string; sha256: string }[] {
  return Object.entries(bundle.json.files)
    .map(([name, sha256]) => ({ name, sha256 }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
