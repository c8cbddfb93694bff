/**
 * @file The model manifest (`models/manifest.json`): zod schema, loader and lookup. The manifest lists every
 * network and statistics file a metric or restorer needs: where to download it, its sha256 (or `null` =
 * "pinned at first fetch" in `weights/lock.json`), its licence, and how it becomes what the consumer loads
 * (a converter command run with python/.venv, or nothing).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UnknownIdError } from '../../eval/registry.ts';
import { modelsRoot } from './paths.ts';

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase 64-hex sha256');

export const ModelFileSchema = z.object({
  /** File name under `weights/<id>/`. */
  name: z.string().regex(/^[^/\\]+$/, 'a bare file name'),
  /** Canonical URLs, tried in order. */
  urls: z.array(z.string().regex(/^(https?):\/\//, 'an http(s) URL')).min(1),
  /** Published sha256, or null: the hash is pinned at first fetch. */
  sha256: SHA256.nullable(),
  /** Hash prefix in the published file name (torchvision style), checked when no full hash is known. */
  sha256Prefix: z.string().regex(/^[0-9a-f]{6,63}$/).optional(),
  /** A third-party hash: a difference is a warning, not an error. */
  sha256Unverified: SHA256.optional(),
  sizeBytes: z.number().int().positive().optional(),
  /** Human-readable size. */
  size: z.string(),
  /** The URL cannot be fetched by a program (e.g. Google Drive): place the file by hand. */
  manual: z.boolean().optional(),
  note: z.string().optional(),
});

export const ModelEntrySchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'kebab-case'),
  description: z.string(),
  usedBy: z.array(z.string()),
  licence: z.string(),
  files: z.array(ModelFileSchema),
  /** Converter command (argv; placeholders {python} {dir} {models} {repo}), or null when files are used as-is. */
  convert: z.object({ command: z.array(z.string()).min(1), note: z.string().optional() }).nullable(),
  /** What consumers load, relative to the models root (e.g. `weights/lpips-vgg/lpips-vgg.onnx`). */
  outputs: z.array(z.string().regex(/^[^/\\][^\\]*$/, 'a relative path')).min(1),
  outputNote: z.string().optional(),
});

export const ManifestSchema = z
  .object({ schemaVersion: z.literal(1), note: z.string().optional(), models: z.array(ModelEntrySchema) })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.models.forEach((e, i) => {
      if (seen.has(e.id)) ctx.addIssue({ code: 'custom', path: ['models', i, 'id'], message: `duplicate id '${e.id}'` });
      seen.add(e.id);
    });
  });

export type ModelFile = z.infer<typeof ModelFileSchema>;
export type ModelEntry = z.infer<typeof ModelEntrySchema>;
export type Manifest = z.infer<typeof ManifestSchema>;

/** Path of the manifest under a models root. */
export function manifestPath(modelsDir?: string): string {
  return join(modelsRoot(modelsDir), 'manifest.json');
}

/**
 * Parses a manifest document.
 * @throws Error naming the file and each invalid field path.
 */
export function parseManifest(json: unknown, what: string): Manifest {
  const r = ManifestSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${what}: invalid model manifest: ${issues}`);
  }
  return r.data;
}

/** Loads `<modelsDir>/manifest.json`. @throws Error naming the file. */
export async function loadManifest(modelsDir?: string): Promise<Manifest> {
  const p = manifestPath(modelsDir);
  let text: string;
  try {
    text = await readFile(p, 'utf8');
  } catch {
    throw new Error(`${p}: model manifest not found`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${p}: invalid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return parseManifest(json, p);
}

/** The entry for `id`. @throws UnknownIdError with suggestions. */
export function getEntry(manifest: Manifest, id: string): ModelEntry {
  const e = manifest.models.find((m) => m.id === id);
  if (!e) throw new UnknownIdError('model', id, manifest.models.map((m) => m.id));
  return e;
}
