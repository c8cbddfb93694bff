/**
 * @file synthfaces-ref: a small synthetic benchmark generated deterministically on first use, in exactly the
 * FFHQ-Ref layout, so the whole suite (runner, metrics, dashboard) can be exercised without FFHQ.
 *
 * ```
 * <root>/images512x512/<00000..>.png                      HQ (procedural faces, face-svg.ts)
 * <root>/face_parsing/<00000..>.png                       label maps: 8-bit grey, CelebAMask-HQ class ids, same
 *                                                          geometry as the HQ image (label-map.ts; fLPIPS maskDir)
 * <root>/reference_mapping/test_references.csv            gt_image,lq_image,ref_image (Python-list refs)
 * <root>/test_images/{severe,moderate}_degrad/<name>.png  LQ from our degradation pipeline (server/degrade.ts)
 * <root>/params.jsonl                                      one line per LQ: level, file, sampled parameters
 * <root>/manifest.json                                     generator version + sha256 of every file (written last)
 * ```
 * Generation is skipped when manifest.json matches the generator version and every listed file's sha256; a
 * folder left half-written (process killed) has no or a mismatching manifest and is regenerated. Files are
 * produced in a sibling temp folder and moved in, manifest last.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { SeededRng } from '../../eval/datasets/seeded-rng.ts';
import { DEGRADATION_VERSION } from '../../eval/degradation/presets.ts';
import type { Dataset } from '../../eval/datasets/types.ts';
import { degradeWithPreset } from '../degrade.ts';
import { encodePng, readRgb, renderSvg } from '../image/io.ts';
import { createFfhqRef, enumOption } from './ffhq-ref.ts';
import { faceSvg, sampleIdentity, sampleVariation } from './synthfaces/face-svg.ts';
import { encodeGreyPng, renderFaceLabels } from './synthfaces/label-map.ts';

/** Bump when the renderer, the layout or the reference assignment changes. */
export const SYNTHFACES_VERSION = '2';
/** Images per identity (8 identities, 44 images): every target gets 2–6 same-identity references. */
export const SYNTHFACES_IDENTITY_SIZES: readonly number[] = Object.freeze([5, 6, 5, 7, 5, 5, 6, 5]);
/** Degradation seed of the LQ images. */
export const SYNTHFACES_SEED = 2024;
export const SYNTHFACES_LEVELS = ['severe', 'moderate'] as const;
export const DEFAULT_SYNTHFACES_ROOT = '.cache/synthfaces-ref';
/** Folder of the face-parsing label maps, relative to the root. */
export const SYNTHFACES_MASK_DIR = 'face_parsing';

/** The label-map folder of a synthfaces-ref root (`<root>/face_parsing`), e.g. for `flpips-vgg`'s `maskDir`. */
export function synthfacesMaskDir(root: string): string {
  return join(resolve(root), SYNTHFACES_MASK_DIR);
}

interface Manifest {
  generator: 'synthfaces-ref';
  version: string;
  degradationVersion: string;
  seed: number;
  identitySizes: number[];
  images: number;
  files: Record<string, string>;
}

/** Generation settings; tests may shrink `identitySizes` (each ≥ 3, so every target has ≥ 2 references). */
export interface SynthfacesConfig {
  readonly identitySizes: readonly number[];
}

const DEFAULT_CONFIG: SynthfacesConfig = { identitySizes: SYNTHFACES_IDENTITY_SIZES };

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Python `repr` of a list of plain file names (single quotes), as pandas writes FFHQ-Ref's `ref_image`. */
function pyList(names: readonly string[]): string {
  return `[${names.map((n) => `'${n.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ')}]`;
}

/** CSV field quoting (RFC 4180). */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Reports whether `root` holds a complete, current benchmark (every file's sha256 checked). */
export async function synthfacesIsValid(root: string, config: SynthfacesConfig = DEFAULT_CONFIG): Promise<boolean> {
  let m: Manifest;
  try {
    m = JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return false;
  }
  if (m.generator !== 'synthfaces-ref' || m.version !== SYNTHFACES_VERSION || m.degradationVersion !== DEGRADATION_VERSION) return false;
  if (JSON.stringify(m.identitySizes) !== JSON.stringify(config.identitySizes)) return false;
  // Per image: HQ, label map, one LQ per level; plus the CSV and params.jsonl.
  const expectedCount = config.identitySizes.reduce((a, b) => a + b, 0) * (2 + SYNTHFACES_LEVELS.length) + 2;
  if (!m.files || Object.keys(m.files).length !== expectedCount) return false;
  for (const [rel, want] of Object.entries(m.files)) {
    const buf = await readFile(join(root, rel)).catch(() => undefined);
    if (!buf || sha(buf) !== want) return false;
  }
  return true;
}

/** Generates every file of the benchmark into `dir` (which must be empty or absent); returns the manifest. */
async function generateInto(dir: string, config: SynthfacesConfig, onProgress?: (msg: string) => void): Promise<Manifest> {
  const sizes = config.identitySizes;
  if (sizes.length < 1 || sizes.some((n) => !Number.isInteger(n) || n < 3)) throw new Error(`synthfaces: identitySizes must be integers ≥ 3, got ${JSON.stringify(sizes)}`);
  const files: Record<string, string> = {};
  const put = async (rel: string, data: Uint8Array | string): Promise<void> => {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), buf);
    files[rel] = sha(buf);
  };
  // 1. Identities and HQ images.
  const groups: string[][] = [];
  const hq = new Map<string, Awaited<ReturnType<typeof renderSvg>>>();
  let idx = 0;
  for (let i = 0; i < sizes.length; i++) {
    const identity = sampleIdentity(String(i));
    const names: string[] = [];
    for (let k = 0; k < sizes[i]; k++) {
      const name = `${String(idx++).padStart(5, '0')}.png`;
      const variation = sampleVariation(`${i}|${k}`);
      const img = await renderSvg(faceSvg(identity, variation));
      hq.set(name, img);
      await put(`images512x512/${name}`, await encodePng(img));
      await put(`${SYNTHFACES_MASK_DIR}/${name}`, encodeGreyPng(await renderFaceLabels(identity, variation, 512, `synthfaces ${SYNTHFACES_MASK_DIR}/${name}`)));
      names.push(name);
    }
    groups.push(names);
  }
  onProgress?.(`rendered ${hq.size} HQ images and their label maps`);
  // 2. References: every image is a target; its refs are a seeded shuffle of the other images of its identity,
  //    keeping between 2 and all of them.
  const rows = ['gt_image,lq_image,ref_image'];
  for (const names of groups) {
    for (const name of names) {
      const rng = new SeededRng(`synthfaces|refs|${name}`);
      const others = names.filter((n) => n !== name);
      for (let j = others.length - 1; j > 0; j--) {
        const t = rng.int(0, j);
        [others[j], others[t]] = [others[t], others[j]];
      }
      const refs = others.slice(0, rng.int(2, others.length));
      rows.push([name, name, pyList(refs)].map(csvField).join(','));
    }
  }
  await put('reference_mapping/test_references.csv', rows.join('\n') + '\n');
  // 3. LQ images, per level, seeded per image.
  const params: string[] = [];
  for (const level of SYNTHFACES_LEVELS) {
    for (const [name, img] of hq) {
      const { lq, params: p } = await degradeWithPreset(img, level, SYNTHFACES_SEED, name.replace(/\.png$/, ''));
      await put(`test_images/${level}_degrad/${name}`, await encodePng(lq));
      params.push(JSON.stringify({ level, file: name, ...p }));
    }
    onProgress?.(`degraded ${hq.size} images (${level})`);
  }
  await put('params.jsonl', params.join('\n') + '\n');
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
  return {
    generator: 'synthfaces-ref',
    version: SYNTHFACES_VERSION,
    degradationVersion: DEGRADATION_VERSION,
    seed: SYNTHFACES_SEED,
    identitySizes: [...sizes],
    images: hq.size,
    files: sorted,
  };
}

/** Manifests already fully validated in this process, keyed by path + config + manifest mtime/size. */
const VALIDATED = new Set<string>();

async function manifestStamp(abs: string, config: SynthfacesConfig): Promise<string | undefined> {
  const st = await stat(join(abs, 'manifest.json')).catch(() => undefined);
  return st ? `${abs}|${config.identitySizes.join(',')}|${st.mtimeMs}|${st.size}` : undefined;
}

const OWNED_ENTRIES = ['images512x512', SYNTHFACES_MASK_DIR, 'reference_mapping', 'test_images', 'params.jsonl', 'manifest.json'];

/**
 * Ensures `root` holds the current benchmark, generating it when absent, stale or incomplete.
 * Only the benchmark's own entries in `root` are ever removed.
 * @returns whether it was (re)generated.
 */
export async function ensureSynthfaces(
  root: string,
  onProgress?: (msg: string) => void,
  config: SynthfacesConfig = DEFAULT_CONFIG,
): Promise<{ generated: boolean; root: string }> {
  const abs = resolve(root);
  // Hashing every file once per process is enough: later calls (one per run of a multi-run demo) only check
  // that the manifest file is the one validated.
  const stamp = await manifestStamp(abs, config);
  if (stamp && VALIDATED.has(stamp)) return { generated: false, root: abs };
  if (await synthfacesIsValid(abs, config)) {
    if (stamp) VALIDATED.add(stamp);
    return { generated: false, root: abs };
  }
  const tmp = `${abs}.tmp-${process.pid}-${Date.now()}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    const manifest = await generateInto(tmp, config, onProgress);
    await mkdir(abs, { recursive: true });
    // Remove our stale entries, manifest first so a crash mid-swap leaves an invalid (regenerable) folder.
    for (const e of ['manifest.json', ...OWNED_ENTRIES]) await rm(join(abs, e), { recursive: true, force: true });
    for (const e of OWNED_ENTRIES.filter((x) => x !== 'manifest.json')) await rename(join(tmp, e), join(abs, e));
    await writeFile(join(abs, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { generated: true, root: abs };
}

/**
 * `synthfaces-ref` factory. Options: `root` (default `./.cache/synthfaces-ref`), `level` ('severe' | 'moderate',
 * default 'severe'). Generates the benchmark on first use. Every sample carries `mask`: its face-parsing label
 * map (`<root>/face_parsing/<name>.png`).
 */
export async function createSynthfacesRef(options: Readonly<Record<string, unknown>>, config: SynthfacesConfig = DEFAULT_CONFIG): Promise<Dataset> {
  const root = typeof options.root === 'string' && options.root ? options.root : DEFAULT_SYNTHFACES_ROOT;
  const level = enumOption(options, 'level', 'synthfaces-ref', SYNTHFACES_LEVELS, 'severe');
  const { root: abs } = await ensureSynthfaces(root, undefined, config);
  const inner = await createFfhqRef({ root: abs, hqDir: join(abs, 'images512x512'), split: 'test', level });
  const maskDir = synthfacesMaskDir(abs);
  return {
    info: { adapter: 'synthfaces-ref', id: `synthfaces-ref-${level}`, version: SYNTHFACES_VERSION, root: abs, split: 'test', level },
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
