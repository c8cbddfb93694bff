/**
 * @file The FFHQ-Ref adapter (`ffhq-ref`, docs/protocol.md §1.1–1.3) and the shared reference-CSV machinery that the
 * CelebA-Test-Ref and synthfaces-ref adapters reuse.
 *
 * Layout (official release; HQ images come from the user's FFHQ copy, not the zip):
 * ```
 * <root>/reference_mapping/{train,val,test}_references.csv   gt_image,lq_image,ref_image (train: gt_image,ref_image)
 * <root>/test_images/{severe_degrad,moderate_degrad}/<lq_image>
 * <hqDir>/<name>.png  or  <hqDir>/<00000..69000>/<name>.png    (FFHQ images1024x1024 or images512x512)
 * ```
 * Sample id = GT file stem; references in CSV order (the runner keeps the first 5).
 */
import { readdir } from 'node:fs/promises';
import { isAbsolute, join, parse, resolve } from 'node:path';
import { parseCsvTable } from '../../eval/datasets/csv.ts';
import { parsePythonStringList } from '../../eval/datasets/python-list.ts';
import { sampleIdProblem } from '../../eval/datasets/sample-id.ts';
import { DatasetError, type Dataset, type DatasetInfo, type DatasetProblem, type SampleRef } from '../../eval/datasets/types.ts';
import { parseOptions } from '../../eval/spec/run-spec.ts';
import { readRegularFile } from '../fs/read-regular.ts';
import { inspectImageFiles, type ImageFileCheck } from './load.ts';
import { FfhqRefOptionsSchema } from './options.ts';

/**
 * Resolves image names to paths inside a directory, by file name, also looking one level down (FFHQ's
 * 1000-image subfolders `00000/`, `01000/`, …). Names containing '/' are joined as given.
 */
export class ImageDirIndex {
  private constructor(
    readonly dir: string,
    private readonly byName: Map<string, string>,
    readonly ambiguous: ReadonlySet<string>,
  ) {}

  /** Lists `dir` and its immediate subfolders; a missing directory yields an empty index. */
  static async build(dir: string): Promise<ImageDirIndex> {
    const byName = new Map<string, string>();
    const ambiguous = new Set<string>();
    const add = (name: string, path: string): void => {
      if (byName.has(name) && byName.get(name) !== path) ambiguous.add(name);
      else byName.set(name, path);
    };
    const top = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const subdirs: string[] = [];
    for (const e of top) {
      if (e.isDirectory()) subdirs.push(e.name);
      else add(e.name, join(dir, e.name));
    }
    for (const sd of subdirs.sort()) {
      for (const e of await readdir(join(dir, sd), { withFileTypes: true }).catch(() => [])) {
        if (!e.isDirectory() && !byName.has(e.name)) byName.set(e.name, join(dir, sd, e.name));
      }
    }
    return new ImageDirIndex(dir, byName, ambiguous);
  }

  /** The path of `name`: the indexed location when known, else `dir/name` (so `inspect` reports it missing). */
  resolve(name: string): string {
    if (name.includes('/')) return join(this.dir, name);
    return this.byName.get(name) ?? join(this.dir, name);
  }
}

/**
 * Why a file name from an index cannot be used, or null. Names are relative to their folder (FFHQ's `00000/x.png`
 * form is fine) and may not climb out of it: no absolute path, no '..' segment, no NUL.
 */
export function indexNameProblem(name: string): string | null {
  if (name.includes('\0')) return 'file name contains a NUL character';
  if (isAbsolute(name) || /^[A-Za-z]:/.test(name)) return `absolute path ${JSON.stringify(name)} (names are relative to their folder)`;
  if (name.split(/[/\\]/).includes('..')) return `${JSON.stringify(name)} climbs out of its folder ('..')`;
  return null;
}

/** Where each CSV column's files live. */
export interface RefCsvLayout {
  readonly csv: string;
  readonly gtDir: string;
  readonly lqDir: string;
  readonly refDir: string;
}

/**
 * Parses a `gt_image,lq_image,ref_image` CSV into samples. Every malformed line, bad Python list, empty name and
 * duplicate id becomes a problem (file + line + field); any problem → `DatasetError` listing all of them.
 */
export async function readRefCsv(layout: RefCsvLayout): Promise<{ samples: SampleRef[]; lines: Map<string, number> }> {
  let text: string;
  try {
    text = (await readRegularFile(layout.csv)).toString('utf8');
  } catch (err) {
    throw new DatasetError([{ file: layout.csv, message: `cannot read the reference CSV (${(err as NodeJS.ErrnoException).code ?? String(err)})` }]);
  }
  const { table, problems } = parseCsvTable(text, layout.csv, ['gt_image', 'lq_image', 'ref_image']);
  const samples: SampleRef[] = [];
  const lines = new Map<string, number>();
  if (table) {
    const [gtIdx, lqIdx, refIdx] = [0, 1, 2];
    const sameDir = layout.gtDir === layout.refDir;
    const gtIndex = await ImageDirIndex.build(layout.gtDir);
    const refIndex = sameDir ? gtIndex : await ImageDirIndex.build(layout.refDir);
    for (const r of table.records) {
      const gt = r.fields[gtIdx].trim();
      const lq = r.fields[lqIdx].trim();
      let bad = false;
      const badName = (field: string, name: string): void => {
        const why = name ? indexNameProblem(name) : 'empty file name';
        if (why) {
          problems.push({ file: layout.csv, line: r.line, field, message: why });
          bad = true;
        }
      };
      badName('gt_image', gt);
      badName('lq_image', lq);
      if (gt && !bad) {
        const why = sampleIdProblem(parse(gt).name);
        if (why) {
          problems.push({ file: layout.csv, line: r.line, field: 'gt_image', message: `${why} (the sample id is the file stem of ${JSON.stringify(gt)})` });
          bad = true;
        }
      }
      let refs: string[] = [];
      try {
        refs = parsePythonStringList(r.fields[refIdx]);
        if (refs.some((x) => x.trim() === '')) throw new Error('empty file name in the list');
        for (const x of refs) {
          const why = indexNameProblem(x);
          if (why) throw new Error(why);
        }
      } catch (err) {
        problems.push({
          file: layout.csv,
          line: r.line,
          field: 'ref_image',
          message: `not a Python list of file names: ${err instanceof Error ? err.message : String(err)}: ${JSON.stringify(r.fields[refIdx].slice(0, 80))}`,
        });
        bad = true;
      }
      if (bad) continue;
      const id = parse(gt).name;
      const prior = lines.get(id);
      if (prior !== undefined) {
        problems.push({ file: layout.csv, line: r.line, field: 'gt_image', message: `duplicate sample id '${id}' (first on line ${prior})` });
        continue;
      }
      lines.set(id, r.line);
      samples.push({ id, gt: gtIndex.resolve(gt), lq: join(layout.lqDir, lq), refs: refs.map((x) => refIndex.resolve(x)) });
    }
    // A header and nothing else would make an empty "0/0 ok" run.
    if (!table.records.length && !problems.length) problems.push({ file: layout.csv, line: table.headerLine, message: 'no samples: the CSV has a header but no data rows' });
  }
  if (problems.length) throw new DatasetError(problems);
  return { samples, lines };
}

/** Builds the file checks of `inspect` for CSV-backed samples. */
export function refCsvChecks(layout: RefCsvLayout, samples: readonly SampleRef[], lines: Map<string, number>): ImageFileCheck[] {
  const checks: ImageFileCheck[] = [];
  for (const s of samples) {
    const line = lines.get(s.id) ?? 0;
    checks.push({ path: s.lq, role: 'lq', source: { file: layout.csv, line, field: 'lq_image' } });
    if (s.gt) checks.push({ path: s.gt, role: 'gt', source: { file: layout.csv, line, field: 'gt_image' } });
    for (const r of s.refs) checks.push({ path: r, role: 'ref', source: { file: layout.csv, line, field: 'ref_image' } });
  }
  return checks;
}

/** A dataset over a reference CSV. */
export function refCsvDataset(info: DatasetInfo, layout: RefCsvLayout): Dataset {
  return {
    info,
    roots: [...new Set([info.root, layout.gtDir, layout.lqDir, layout.refDir])],
    async samples() {
      return (await readRefCsv(layout)).samples;
    },
    async inspect(onProgress) {
      let parsed: Awaited<ReturnType<typeof readRefCsv>>;
      try {
        parsed = await readRefCsv(layout);
      } catch (err) {
        if (err instanceof DatasetError) return [...err.problems];
        throw err;
      }
      return inspectImageFiles(refCsvChecks(layout, parsed.samples, parsed.lines), onProgress);
    },
  };
}

/**
 * `ffhq-ref` factory. Options: `root` (the unzipped FFHQ-Ref folder), `hqDir` (FFHQ images, 1024 or 512;
 * default `<root>/images512x512`), `split` ('test' | 'val', default 'test'), `level` ('severe' | 'moderate',
 * default 'severe'; test only), `lqDir` (required for val: the release has no val LQ images).
 */
export async function createFfhqRef(options: Readonly<Record<string, unknown>>): Promise<Dataset> {
  const o = parseOptions(FfhqRefOptionsSchema, options, { file: "dataset adapter 'ffhq-ref'", path: ['options'] });
  const root = resolve(o.root);
  const hqDir = resolve(o.hqDir ?? join(root, 'images512x512'));
  const { split, level } = o;
  if (split === 'val' && !o.lqDir) throw new Error("dataset adapter 'ffhq-ref': options.lqDir is required for split 'val' (the release has no val LQ images)");
  const lqDir = o.lqDir ? resolve(o.lqDir) : join(root, 'test_images', `${level}_degrad`);
  const layout: RefCsvLayout = {
    csv: join(root, 'reference_mapping', `${split}_references.csv`),
    gtDir: hqDir,
    lqDir,
    refDir: hqDir,
  };
  const id = split === 'test' ? `ffhq-ref-test-${level}` : 'ffhq-ref-val';
  return refCsvDataset({ adapter: 'ffhq-ref', id, version: '1', root, split, level: split === 'test' ? level : undefined }, layout);
}
