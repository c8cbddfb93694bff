/**
 * @file The dataset-adapter registry: `adapter` id → factory taking the spec's dataset options.
 *
 * A factory OPENS a dataset: it reads its index and lists samples, and never generates, writes or deletes a file
 * (the dashboard calls these on every page). Creating a benchmark's files is a separate capability,
 * `materialise.ts`, that only `run`, `demo` and `data synth` use.
 */
import type { Dataset } from '../../eval/datasets/types.ts';
import { Registry } from '../../eval/registry.ts';

/** Opens a dataset (read-only; see the file header). */
export type DatasetFactory = (options: Readonly<Record<string, unknown>>) => Promise<Dataset>;

export const DATASETS = new Registry<DatasetFactory>('dataset adapter');

DATASETS.register('ffhq-ref', async (o) => (await import('./ffhq-ref.ts')).createFfhqRef(o), 'datasets/ffhq-ref.ts');
DATASETS.register('synthfaces-ref', async (o) => (await import('./synthfaces.ts')).createSynthfacesRef(o), 'datasets/synthfaces.ts');
DATASETS.register('celeba-test-ref', async (o) => (await import('./celeba-test-ref.ts')).createCelebaTestRef(o), 'datasets/celeba-test-ref.ts');
DATASETS.register('folder', async (o) => (await import('./folder.ts')).createFolderDataset(o), 'datasets/folder.ts');
