/**
 * @file The restorer registry. Each entry is a lazy factory; adding a restorer = its file plus one line here.
 */
import type { RestorerFactory } from '../../eval/restorers/restorer.ts';
import { Registry } from '../../eval/registry.ts';

export const RESTORERS = new Registry<RestorerFactory>('restorer');

RESTORERS.register('lq', async (o) => (await import('./lq.ts')).createLqRestorer(o), 'restorers/lq.ts');
RESTORERS.register('classical', async (o) => (await import('./classical.ts')).createClassicalRestorer(o), 'restorers/classical.ts');
RESTORERS.register('ref-ldm', async (o) => (await import('./ref-ldm/restorer.ts')).createRefLdm(o), 'restorers/ref-ldm/restorer.ts');
RESTORERS.register('onnx-single', async (o) => (await import('./onnx-single.ts')).createOnnxSingle(o), 'restorers/onnx-single.ts');
RESTORERS.register('command', async (o) => (await import('./command.ts')).createCommandRestorer(o), 'restorers/command.ts');
