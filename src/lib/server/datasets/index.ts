/**
 * @file The dataset-adapter registry: `adapter` id → factory taking the spec's dataset options.
 */
import type { Dataset } from '../../eval/datasets/types.ts';
import { Registry } from '../../eval/registry.ts';

export type DatasetFactory = (options: Readonly<Record<string, unknown>>) => Promise<Dataset>;

export const DATASETS = new Registry<DatasetFactory>('dataset adapter');

DATASETS.register('ffhq-ref', async (o) => (await import('./ffhq-ref.ts')).createFfhqRef(o), 'datasets/ffhq-ref.ts');
DATASETS.register('synthfaces-ref', async (o) => (await import('./synthfaces.ts')).createSynthfacesRef(o), 'datasets/synthfaces.ts');
DATASETS.register('celeba-test-ref', async (o) => (await import('./celeba-test-ref.ts')).createCelebaTestRef(o), 'datasets/celeba-test-ref.ts');
DATASETS.register('folder', async (o) => (await import('./folder.ts')).createFolderDataset(o), 'datasets/folder.ts');
