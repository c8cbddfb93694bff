/**
 * @file The synthfaces-ref TRAIN split (issue 16), separate from the benchmark and off by default: it is written
 * only by `refbench data synth-train`, into its own folder. The test identities and every embedded number are
 * unchanged: train identities are drawn from their own key space (`sampleIdentity('train|<i>')`, the test set uses
 * `sampleIdentity('<i>')`), image variations from `train|<i>|<k>`, and file names carry a `t` prefix, so no
 * train file can be mistaken for a test file. Train identities have identity marks (moles, a scar) from the same
 * model as the test identities (`FaceMark`, drawn from `synthfaces|marks|train|<i>`).
 *
 * Layout (FFHQ-Ref train layout, what python/refbench_train reads):
 * ```
 * <out>/images512x512/t00000.png ...
 * <out>/reference_mapping/train_references.csv    gt_image,ref_image   (refs: every other image of the identity)
 * <out>/lq-train-<v>/t00000.png ... + params.jsonl  (`train` preset ranges, seed `<seed>|<v>`; v = 0..lqVariants-1)
 * <out>/manifest.json                               generator `synthfaces-ref-train`
 * ```
 * Writes only into an absent or empty folder or one carrying this generator's manifest.
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SeededRng } from '../../../eval/datasets/seeded-rng.ts';
import { DEGRADATION_VERSION } from '../../../eval/degradation/presets.ts';
import { degradeWithPreset } from '../../degrade.ts';
import { encodePng, renderSvg } from '../../image/io.ts';
import { SYNTHFACES_VERSION } from '../synthfaces.ts';
import { faceSvg, sampleIdentity, sampleVariation } from './face-svg.ts';

export const SYNTHFACES_TRAIN_GENERATOR = 'synthfaces-ref-train';

export interface SynthfacesTrainOptions {
  /** Number of identities (default 64). */
  readonly identities: number;
  /** Images per identity (default 6; ≥ 2 so that every image has a reference). */
  readonly perIdentity: number;
  /** LQ folders, each degraded with its own seed (default 2). */
  readonly lqVariants: number;
  /** Degradation seed (default 2024). */
  readonly seed: number;
}

export const SYNTHFACES_TRAIN_DEFAULTS: SynthfacesTrainOptions = { identities: 64, perIdentity: 6, lqVariants: 2, seed: 2024 };

/** The identity key of train identity `i` (never a test key: those are plain integers). */
export const trainIdentityKey = (i: number): string => `train|${i}`;

function pyList(names: readonly string[]): string {
  return `[${names.map((n) => `'${n}'`).join(', ')}]`;
}

async function assertWritable(abs: string): Promise<void> {
  const st = await stat(abs).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new Error(`${abs}: exists and is not a folder; refusing to write the synthfaces train split there`);
  const entries = await readdir(abs);
  if (entries.length === 0) return;
  const m = JSON.parse(await readFile(join(abs, 'manifest.json'), 'utf8').catch(() => '{}')) as { generator?: string };
  if (m.generator === SYNTHFACES_TRAIN_GENERATOR) return;
  throw new Error(`${abs}: the folder is not empty and is not a synthfaces train split (no ${SYNTHFACES_TRAIN_GENERATOR} manifest.json); use an empty or new folder`);
}

/** Generates the train split into `out` (replacing a previous train split there); returns the image count. */
export async function generateSynthfacesTrain(
  out: string,
  options: Partial<SynthfacesTrainOptions> = {},
  onProgress?: (msg: string) => void,
): Promise<{ root: string; images: number; identities: number }> {
  const o = { ...SYNTHFACES_TRAIN_DEFAULTS, ...options };
  for (const [k, v, min] of [['identities', o.identities, 1], ['perIdentity', o.perIdentity, 2], ['lqVariants', o.lqVariants, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`synthfaces train split: ${k} must be an integer ≥ ${min}, got ${v}`);
  }
  const abs = resolve(out);
  await assertWritable(abs);
  for (const e of ['images512x512', 'reference_mapping', 'manifest.json']) await rm(join(abs, e), { recursive: true, force: true });
  for (const e of await readdir(abs).catch(() => [] as string[])) if (e.startsWith('lq-train-')) await rm(join(abs, e), { recursive: true, force: true });
  await mkdir(join(abs, 'images512x512'), { recursive: true });
  await mkdir(join(abs, 'reference_mapping'), { recursive: true });
  const rows = ['gt_image,ref_image'];
  const lqParams: string[][] = Array.from({ length: o.lqVariants }, () => []);
  for (let v = 0; v < o.lqVariants; v++) await mkdir(join(abs, `lq-train-${v}`), { recursive: true });
  let idx = 0;
  for (let i = 0; i < o.identities; i++) {
    const identity = sampleIdentity(trainIdentityKey(i));
    const names: string[] = [];
    for (let k = 0; k < o.perIdentity; k++) {
      const name = `t${String(idx++).padStart(5, '0')}.png`;
      const img = await renderSvg(faceSvg(identity, sampleVariation(`${trainIdentityKey(i)}|${k}`)));
      await writeFile(join(abs, 'images512x512', name), await encodePng(img));
      for (let v = 0; v < o.lqVariants; v++) {
        const { lq, params } = await degradeWithPreset(img, 'train', `${o.seed}|${v}`, name.replace(/\.png$/, ''));
        await writeFile(join(abs, `lq-train-${v}`, name), await encodePng(lq));
        lqParams[v].push(JSON.stringify({ file: name, ...params }));
      }
      names.push(name);
    }
    for (const name of names) {
      const rng = new SeededRng(`synthfaces|train-refs|${name}`);
      const others = names.filter((n) => n !== name);
      for (let j = others.length - 1; j > 0; j--) {
        const t = rng.int(0, j);
        [others[j], others[t]] = [others[t], others[j]];
      }
      rows.push(`${name},"${pyList(others)}"`);
    }
    if ((i + 1) % 8 === 0 || i + 1 === o.identities) onProgress?.(`${i + 1}/${o.identities} identities`);
  }
  await writeFile(join(abs, 'reference_mapping', 'train_references.csv'), rows.join('\n') + '\n');
  for (let v = 0; v < o.lqVariants; v++) await writeFile(join(abs, `lq-train-${v}`, 'params.jsonl'), lqParams[v].join('\n') + '\n');
  const manifest = {
    generator: SYNTHFACES_TRAIN_GENERATOR, version: SYNTHFACES_VERSION, degradationVersion: DEGRADATION_VERSION,
    identities: o.identities, perIdentity: o.perIdentity, lqVariants: o.lqVariants, seed: o.seed, images: idx,
    identityKeys: `train|0 .. train|${o.identities - 1} (test identities use 0 .. N-1)`,
  };
  await writeFile(join(abs, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
  return { root: abs, images: idx, identities: o.identities };
}
