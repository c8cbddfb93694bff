/**
 * @file The plain-folder adapter (`folder`), for users' own data:
 * ```
 * <root>/lq/<id>.<ext>          required; the sample id is the file stem
 * <root>/gt/<id>.<ext>          optional (no GT → only no-reference metrics)
 * <root>/refs/<id>/*.<ext>      optional; sorted by file name (none → the zero-reference case)
 * <root>/masks/<id>.<ext>       optional face-parsing maps (fLPIPS)
 * ```
 * Options: root (required), id (dataset id, default `folder-<basename>`). Sizes follow the shared rule of
 * `load.ts` (LQ 512², GT/refs 512² or 1024²), at inspection and at run time alike.
 */
import { readdir } from 'node:fs/promises';
import { basename, extname, join, parse, resolve } from 'node:path';
import { sampleIdProblem } from '../../eval/datasets/sample-id.ts';
import { DatasetError, type Dataset, type DatasetProblem, type SampleRef } from '../../eval/datasets/types.ts';
import { parseOptions } from '../../eval/spec/run-spec.ts';
import { inspectImageFiles, type ImageFileCheck } from './load.ts';
import { FolderOptionsSchema } from './options.ts';

const IMAGE_EXTS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff']);

async function listImages(dir: string): Promise<string[] | undefined> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => !e.isDirectory() && IMAGE_EXTS.has(extname(e.name).toLowerCase()))
      .map((e) => e.name)
      .sort();
  } catch {
    return undefined;
  }
}

/** Maps stem → file name, reporting duplicate stems (a.png + a.jpg) and invalid ids (`...png`) as problems. */
function byStem(dir: string, names: readonly string[], problems: DatasetProblem[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const n of names) {
    const stem = parse(n).name;
    const why = sampleIdProblem(stem);
    if (why) {
      problems.push({ file: join(dir, n), message: `${why}; rename the file` });
      continue;
    }
    const prior = m.get(stem);
    if (prior) problems.push({ file: join(dir, n), message: `duplicate sample id '${stem}' (also ${join(dir, prior)})` });
    else m.set(stem, n);
  }
  return m;
}

/** `folder` factory (see the file header). */
export async function createFolderDataset(options: Readonly<Record<string, unknown>>): Promise<Dataset> {
  const o = parseOptions(FolderOptionsSchema, options, { file: "dataset adapter 'folder'", path: ['options'] });
  const root = resolve(o.root);
  const defaultId = `folder-${basename(root).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'data'}`;
  const id = o.id ?? defaultId;
  const dirs = { lq: join(root, 'lq'), gt: join(root, 'gt'), refs: join(root, 'refs'), masks: join(root, 'masks') };

  async function list(): Promise<SampleRef[]> {
    const problems: DatasetProblem[] = [];
    const lqNames = await listImages(dirs.lq);
    if (!lqNames) throw new DatasetError([{ file: dirs.lq, message: 'missing lq/ folder (expected <root>/lq/<id>.png)' }]);
    if (lqNames.length === 0) throw new DatasetError([{ file: dirs.lq, message: 'no images in lq/' }]);
    const lq = byStem(dirs.lq, lqNames, problems);
    const gt = byStem(dirs.gt, (await listImages(dirs.gt)) ?? [], problems);
    const masks = byStem(dirs.masks, (await listImages(dirs.masks)) ?? [], problems);
    for (const [stem, n] of gt) if (!lq.has(stem)) problems.push({ file: join(dirs.gt, n), message: `GT image without an LQ image (${stem})` });
    if (problems.length) throw new DatasetError(problems);
    const samples: SampleRef[] = [];
    for (const [stem, n] of [...lq].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const refDir = join(dirs.refs, stem);
      const refs = ((await listImages(refDir)) ?? []).map((r) => join(refDir, r));
      const g = gt.get(stem);
      const m = masks.get(stem);
      samples.push({ id: stem, lq: join(dirs.lq, n), refs, ...(g ? { gt: join(dirs.gt, g) } : {}), ...(m ? { mask: join(dirs.masks, m) } : {}) });
    }
    return samples;
  }

  return {
    info: { adapter: 'folder', id, version: '1', root },
    roots: [root],
    samples: list,
    async inspect(onProgress) {
      let samples: SampleRef[];
      try {
        samples = await list();
      } catch (err) {
        if (err instanceof DatasetError) return [...err.problems];
        throw err;
      }
      const checks: ImageFileCheck[] = [];
      for (const s of samples) {
        checks.push({ path: s.lq, role: 'lq' });
        if (s.gt) checks.push({ path: s.gt, role: 'gt' });
        for (const r of s.refs) checks.push({ path: r, role: 'ref' });
        if (s.mask) checks.push({ path: s.mask, role: 'mask' });
      }
      return inspectImageFiles(checks, onProgress);
    },
  };
}
