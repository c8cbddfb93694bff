/**
 * @file Step 1 and 3 of a run (evaluate.ts): the inputs. Opens the dataset (generating a benchmark refbench makes
 * itself), checks its sample ids, selects the run's samples (`dataset.limit`, then the shard), and hashes every
 * sample's input files into the per-sample input hashes and the dataset hash that run.json records.
 *
 * Dataset index errors are whole-run errors (DatasetError, surfaced whole), raised before any work.
 */
import { sampleIdProblem } from '../../eval/datasets/sample-id.ts';
import { DatasetError, type Dataset, type DatasetProblem, type SampleRef } from '../../eval/datasets/types.ts';
import type { ResolvedRunSpec } from '../../eval/spec/run-spec.ts';
import { DATASETS } from '../datasets/index.ts';
import { materialiseDataset } from '../datasets/materialise.ts';
import { readRegularFile } from '../fs/read-regular.ts';
import { sha256Hex } from '../results/store.ts';
import { prefixError } from './errors.ts';
import { selectShard, type Shard } from './shard.ts';

/** The samples a run evaluates, and the lists they were taken from. */
export interface RunInputs {
  readonly dataset: Dataset;
  /** Every sample the dataset lists. */
  readonly all: readonly SampleRef[];
  /** The first `dataset.limit` of them: the full run's samples (a shard's run is one part of these). */
  readonly listed: readonly SampleRef[];
  /** The samples this run evaluates: `listed`, or the shard's part of it. */
  readonly samples: readonly SampleRef[];
}

/**
 * Opens the spec's dataset (or uses `o.dataset`), checks its sample ids and selects the run's samples.
 * @throws DatasetError for an empty list, a duplicate or unusable id; other errors prefixed with the spec field.
 */
export async function openInputs(
  spec: ResolvedRunSpec,
  fileLabel: string,
  o: { dataset?: Dataset; shard?: Shard; log: (msg: string) => void },
): Promise<RunInputs> {
  const dataset = await openDataset(spec, fileLabel, o);
  const all = await dataset.samples();
  checkSampleIds(dataset, all);
  const listed = spec.dataset.limit !== undefined ? all.slice(0, spec.dataset.limit) : all;
  const samples = o.shard ? selectShard(listed, o.shard) : listed;
  return { dataset, all, listed, samples };
}

/**
 * The dataset object. `run` is one of the commands allowed to generate a benchmark refbench makes itself
 * (synthfaces-ref); opening it afterwards is a pure read.
 */
async function openDataset(spec: ResolvedRunSpec, fileLabel: string, o: { dataset?: Dataset; log: (msg: string) => void }): Promise<Dataset> {
  try {
    if (o.dataset) return o.dataset;
    const m = await materialiseDataset(spec.dataset.adapter, spec.dataset.options, (msg) => o.log(`  ${msg}`));
    if (m?.generated) o.log(`generated ${spec.dataset.adapter} in ${m.root}`);
    return await DATASETS.get(spec.dataset.adapter)(spec.dataset.options);
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw prefixError(err, `${fileLabel}: dataset '${spec.dataset.adapter}': `);
  }
}

/** Every adapter: an empty sample list, a duplicate id or an id unusable as a file name is a whole-run error. */
function checkSampleIds(dataset: Dataset, all: readonly SampleRef[]): void {
  // An empty sample list is an error, never an empty "0/0 ok" run.
  if (!all.length) throw new DatasetError([{ file: dataset.info.root, message: `dataset '${dataset.info.id}' (adapter ${dataset.info.adapter}) lists no samples` }]);
  const ids = new Set<string>();
  const badIds: DatasetProblem[] = [];
  for (const s of all) {
    // The adapters reject bad ids with the file/line that made them; this backstop covers datasets registered
    // from elsewhere (plugins, tests), because an id becomes file names downstream.
    const why = sampleIdProblem(s.id);
    if (why) badIds.push({ file: s.lq, message: why });
    if (ids.has(s.id)) throw new DatasetError([{ file: dataset.info.root, message: `duplicate sample id '${s.id}'` }]);
    ids.add(s.id);
  }
  if (badIds.length) throw new DatasetError(badIds);
}

/** sha256 of a file, or a marker naming the problem (the run still starts; the sample fails later). */
async function fileHash(path: string): Promise<string> {
  try {
    return sha256Hex(await readRegularFile(path));
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}

/** Per-sample input hash: sha256 over the role-tagged hashes of LQ, refs (in order) and GT. */
export async function sampleInputHash(s: SampleRef): Promise<string> {
  const parts = [`lq:${await fileHash(s.lq)}`];
  for (const [i, r] of s.refs.entries()) parts.push(`ref${i}:${await fileHash(r)}`);
  if (s.gt) parts.push(`gt:${await fileHash(s.gt)}`);
  return sha256Hex(parts.join('\n'));
}

/**
 * The input hash of every sample (in order) and the dataset hash over them (sorted, so it does not depend on the
 * order): what makes runs comparable (docs/architecture.md §5, docs/results-format.md).
 */
export async function hashInputs(samples: readonly SampleRef[]): Promise<{ inputHashes: string[]; datasetHash: string }> {
  const inputHashes = await mapLimit(samples, 4, sampleInputHash);
  return { inputHashes, datasetHash: sha256Hex([...inputHashes].sort().join('\n')) };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}
