/**
 * @file Generating ("materialising") the synthfaces-ref benchmark (layout in `../synthfaces.ts`). The only code
 * that writes or deletes in a synthfaces root. Reached through `../materialise.ts` by `run`, `demo` and
 * `data synth`; never by a reader (the dashboard, `eval`, `data inspect`), which only open the folder.
 *
 * Safety rules:
 * - A folder is written only when it is absent, empty, or carries refbench's marker (a manifest.json whose
 *   `generator` is `synthfaces-ref`); anything else is refused with an error naming the folder, so a typo in
 *   `--out` or `dataset.options.root` can never delete a user's files.
 * - Generation is skipped when manifest.json matches the generator version and every listed file's sha256.
 * - Files are produced in a sibling temp folder and moved in. Before the swap, manifest.json is replaced by an
 *   `complete: false` marker, so a process killed mid-swap leaves a folder that is still recognisably ours (and
 *   regenerated next time); the complete manifest is written last. Only the benchmark's own entries are removed.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { SeededRng } from '../../../eval/datasets/seeded-rng.ts';
import { DEGRADATION_VERSION } from '../../../eval/degradation/presets.ts';
import { degradeWithPreset } from '../../degrade.ts';
import { encodePng, renderSvg } from '../../image/io.ts';
import {
  readSynthfacesManifest,
  SYNTHFACES_IDENTITY_SIZES,
  SYNTHFACES_LEVELS,
  SYNTHFACES_MANIFEST,
  SYNTHFACES_MASK_DIR,
  SYNTHFACES_SEED,
  SYNTHFACES_VERSION,
  type SynthfacesConfig,
  type SynthfacesManifest,
} from '../synthfaces.ts';
import { faceSvg, sampleIdentity, sampleVariation } from './face-svg.ts';
import { encodeGreyPng, renderFaceLabels } from './label-map.ts';

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
  const m = await readSynthfacesManifest(root);
  if (!m) return false;
  if (m.generator !== 'synthfaces-ref' || m.complete === false || m.version !== SYNTHFACES_VERSION || m.degradationVersion !== DEGRADATION_VERSION) return false;
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
async function generateInto(dir: string, config: SynthfacesConfig, onProgress?: (msg: string) => void): Promise<SynthfacesManifest> {
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
  const st = await stat(join(abs, SYNTHFACES_MANIFEST)).catch(() => undefined);
  return st ? `${abs}|${config.identitySizes.join(',')}|${st.mtimeMs}|${st.size}` : undefined;
}

const OWNED_ENTRIES = ['images512x512', SYNTHFACES_MASK_DIR, 'reference_mapping', 'test_images', 'params.jsonl'];

/** Writes a file through a temp file + rename, so the manifest is never seen half-written. */
async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/**
 * Refuses a folder that is neither absent, empty, nor marked as refbench's own synthfaces-ref folder.
 * @throws Error naming the folder and what to do.
 */
export async function assertSynthfacesWritable(abs: string): Promise<void> {
  const st = await stat(abs).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new Error(`${abs}: exists and is not a folder; refusing to generate synthfaces-ref there. Choose another folder.`);
  if ((await readdir(abs)).length === 0) return;
  const m = await readSynthfacesManifest(abs);
  if (m?.generator === 'synthfaces-ref') return;
  throw new Error(
    `${abs}: the folder is not empty and has no synthfaces-ref ${SYNTHFACES_MANIFEST}, so it is not refbench's own; ` +
      `refusing to generate the benchmark there (that would replace files in it). Use an empty or new folder ` +
      `(\`refbench data synth --out <dir>\`, or the spec's dataset.options.root), or empty this one yourself.`,
  );
}

/**
 * Ensures `root` holds the current benchmark, generating it when absent, stale or incomplete. Writes only into a
 * folder that is absent, empty or marked as ours (see the file header); only the benchmark's own entries are ever
 * removed.
 * @returns whether it was (re)generated.
 * @throws Error naming the folder when it is not ours.
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
  await assertSynthfacesWritable(abs);
  const tmp = `${abs}.tmp-${process.pid}-${Date.now()}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    const manifest = await generateInto(tmp, config, onProgress);
    await mkdir(abs, { recursive: true });
    // Mark the folder as ours and incomplete before touching anything, so a crash mid-swap leaves a folder that
    // readers report as incomplete and the next generation may replace.
    await writeAtomic(join(abs, SYNTHFACES_MANIFEST), JSON.stringify({ ...manifest, files: {}, complete: false }, null, 1) + '\n');
    for (const e of OWNED_ENTRIES) await rm(join(abs, e), { recursive: true, force: true });
    for (const e of OWNED_ENTRIES) await rename(join(tmp, e), join(abs, e));
    await writeAtomic(join(abs, SYNTHFACES_MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { generated: true, root: abs };
}
