/**
 * @file Test-only entry point: the real `refbench` CLI (`main`) with an extra `test-folder` dataset adapter
 * registered, so crash/interrupt tests can spawn the CLI as a child process over a temp folder dataset.
 * Usage: node --import tsx test/pipeline/server/runner/child-cli.ts run <spec> [flags]
 */
import { z } from 'zod';
import { main } from '../../../../src/cli/main.ts';
import { DATASETS } from '../../../../src/lib/server/datasets/index.ts';
import { folderDataset } from '../../../helpers/folder-dataset.ts';

DATASETS.register('test-folder', { options: z.object({ root: z.string().min(1) }).strict(), create: async (o) => folderDataset(String(o.root)) }, 'test/pipeline/server/runner/child-cli.ts');
process.exitCode = await main(process.argv);
