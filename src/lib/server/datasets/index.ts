/**
 * @file The dataset-adapter registry: `adapter` id → factory taking the spec's dataset options, plus the strict
 * schema of those options (validated by the registry before the factory runs; see eval/registry.ts).
 *
 * A factory OPENS a dataset: it reads its index and lists samples, and never generates, writes or deletes a file
 * (the dashboard calls these on every page). Creating a benchmark's files is a separate capability,
 * `materialise.ts`, that only `run`, `demo` and `data synth` use.
 */
import type { Dataset } from '../../eval/datasets/types.ts';
import { ComponentRegistry } from '../../eval/registry.ts';
import { CelebaTestRefOptionsSchema, FfhqRefOptionsSchema, FolderOptionsSchema, SynthfacesRefOptionsSchema } from './options.ts';

/** Opens a dataset (read-only; see the file header). */
export type DatasetFactory = (options: Readonly<Record<string, unknown>>) => Promise<Dataset>;

export const DATASETS = new ComponentRegistry<DatasetFactory>('dataset adapter');

DATASETS.register('ffhq-ref', { options: FfhqRefOptionsSchema, create: async (o) => (await import('./ffhq-ref.ts')).createFfhqRef(o) }, 'datasets/ffhq-ref.ts');
DATASETS.register('synthfaces-ref', { options: SynthfacesRefOptionsSchema, create: async (o) => (await import('./synthfaces.ts')).createSynthfacesRef(o) }, 'datasets/synthfaces.ts');
DATASETS.register('celeba-test-ref', { options: CelebaTestRefOptionsSchema, create: async (o) => (await import('./celeba-test-ref.ts')).createCelebaTestRef(o) }, 'datasets/celeba-test-ref.ts');
DATASETS.register('folder', { options: FolderOptionsSchema, create: async (o) => (await import('./folder.ts')).createFolderDataset(o) }, 'datasets/folder.ts');
