/**
 * @file synthfaces-ref: a small synthetic benchmark generated deterministically, in exactly the FFHQ-Ref layout,
 * so the whole suite (runner, metrics, dashboard) can be exercised without FFHQ.
 *
 * ```
 * <root>/images512x512/<00000..>.png                      HQ (procedural faces, face-svg.ts)
 * <root>/face_parsing/<00000..>.png                       label maps: 8-bit grey, CelebAMask-HQ class ids, same
 *                                                          geometry as the HQ image (label-map.ts; fLPIPS maskDir)
 * <root>/reference_mapping/test_references.csv            gt_image,lq_image,ref_image (Python-list refs)
 * <root>/test_images/{severe,moderate}_degrad/<name>.png  LQ from our degradation pipeline (server/degrade.ts)
 * <root>/params.jsonl                                      one line per LQ: level, file, sampled parameters
 * <root>/manifest.json                                     generator version + sha256 of every file (written last);
 *                                                          also refbench's marker that the folder is its own
 * ```
 *
 * This module only READS a benchmark (the `synthfaces-ref` dataset adapter): it never generates, writes or
 * deletes anything, so every reader (the dashboard, `eval`, `data inspect`) is safe on any folder. Generating it
 * ("materialising") lives in `synthfaces/generate.ts`, reached only through `materialise.ts` by `run`, `demo` and
 * `data synth`.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DatasetError, type Dataset } from '../../eval/datasets/types.ts';
import { readRgb } from '../image/io.ts';
import { parseOptions } from '../../eval/spec/run-spec.ts';
import { createFfhqRef } from './ffhq-ref.ts';
import { SynthfacesRefOptionsSchema } from './options.ts';

/** Bump when the renderer, the layout or the reference assignment changes. */
export const SYNTHFACES_VERSION = '3';
/** Images per identity (8 identities, 44 images): every target gets 2–6 same-identity references. */
export const SYNTHFACES_IDENTITY_SIZES: readonly number[] = Object.freeze([5, 6, 5, 7, 5, 5, 6, 5]);
/** Degradation seed of the LQ images. */
export const SYNTHFACES_SEED = 2024;
export const SYNTHFACES_LEVELS = ['severe', 'moderate'] as const;
export const DEFAULT_SYNTHFACES_ROOT = '.cache/synthfaces-ref';
/** Folder of the face-parsing label maps, relative to the root. */
export const SYNTHFACES_MASK_DIR = 'face_parsing';
/** The marker file: a folder holding one whose `generator` is `synthfaces-ref` is refbench's own. */
export const SYNTHFACES_MANIFEST = 'manifest.json';

/** The label-map folder of a synthfaces-ref root (`<root>/face_parsing`), e.g. for `flpips-vgg`'s `maskDir`. */
export function synthfacesMaskDir(root: string): string {
  return join(resolve(root), SYNTHFACES_MASK_DIR);
}

/** manifest.json. `complete: false` marks a folder whose (re)generation is under way or was interrupted. */
export interface SynthfacesManifest {
  generator: 'synthfaces-ref';
  version: string;
  degradationVersion: string;
  seed: number;
  identitySizes: number[];
  images: number;
  files: Record<string, string>;
  complete?: boolean;
}

/** The generation settings of a synthfaces-ref folder; tests may shrink `identitySizes` (each ≥ 3). */
export interface SynthfacesConfig {
  readonly identitySizes: readonly number[];
}

/** The `root` option of a synthfaces-ref spec (default `./.cache/synthfaces-ref`), resolved. */
export function synthfacesRoot(options: Readonly<Record<string, unknown>>): string {
  return resolve(typeof options.root === 'string' && options.root ? options.root : DEFAULT_SYNTHFACES_ROOT);
}

/**
 * Reads `<root>/manifest.json` (a pure read). `undefined` when it is missing or not JSON; a manifest whose
 * `generator` is not synthfaces-ref is returned as is (callers check it).
 */
export async function readSynthfacesManifest(root: string): Promise<SynthfacesManifest | undefined> {
  try {
    return JSON.parse(await readFile(join(root, SYNTHFACES_MANIFEST), 'utf8')) as SynthfacesManifest;
  } catch {
    return undefined;
  }
}

/**
 * Why `root` cannot be read as a synthfaces-ref benchmark, or `null` when its manifest says it is complete and of
 * this version. Only the manifest is read (listing must stay cheap: the dashboard lists on every page).
 */
export async function synthfacesReadProblem(root: string): Promise<string | null> {
  const regen = `generate it with \`refbench data synth --out ${root}\` (or \`refbench run\` a synthfaces-ref spec)`;
  const m = await readSynthfacesManifest(root);
  if (!m) return `no synthfaces-ref benchmark here (${SYNTHFACES_MANIFEST} missing or unreadable); ${regen}`;
  if (m.generator !== 'synthfaces-ref') return `${SYNTHFACES_MANIFEST} is not a synthfaces-ref manifest (generator ${JSON.stringify(m.generator)})`;
  if (m.complete === false || !m.files || Object.keys(m.files).length === 0) return `the benchmark is incomplete (its generation was interrupted); ${regen}`;
  if (m.version !== SYNTHFACES_VERSION) return `the benchmark was made by generator version ${m.version}, this refbench reads version ${SYNTHFACES_VERSION}; ${regen}`;
  return null;
}

/**
 * `synthfaces-ref` factory (read-only). Options: `root` (default `./.cache/synthfaces-ref`), `level` ('severe' |
 * 'moderate', default 'severe'). Every sample carries `mask`: its face-parsing label map
 * (`<root>/face_parsing/<name>.png`).
 * @throws DatasetError naming the folder when it holds no complete benchmark of this version (never generates).
 */
export async function createSynthfacesRef(options: Readonly<Record<string, unknown>>): Promise<Dataset> {
  const { level } = parseOptions(SynthfacesRefOptionsSchema, options, { file: "dataset adapter 'synthfaces-ref'", path: ['options'] });
  const abs = synthfacesRoot(options);
  const problem = await synthfacesReadProblem(abs);
  if (problem) throw new DatasetError([{ file: abs, message: problem }]);
  const inner = await createFfhqRef({ root: abs, hqDir: join(abs, 'images512x512'), split: 'test', level });
  const maskDir = synthfacesMaskDir(abs);
  return {
    info: { adapter: 'synthfaces-ref', id: `synthfaces-ref-${level}`, version: SYNTHFACES_VERSION, root: abs, split: 'test', level },
    roots: [abs],
    samples: async () => (await inner.samples()).map((s) => ({ ...s, mask: join(maskDir, `${s.id}.png`) })),
    inspect: async (p) => {
      const problems = [...(await inner.inspect(p))];
      for (const s of await inner.samples()) {
        const file = join(maskDir, `${s.id}.png`);
        try {
          const m = await readRgb(file);
          if (m.width !== 512 || m.height !== 512) problems.push({ file, message: `label map is ${m.width}×${m.height}, expected 512×512` });
        } catch (err) {
          problems.push({ file, message: err instanceof Error ? err.message : String(err) });
        }
      }
      return problems;
    },
  };
}
