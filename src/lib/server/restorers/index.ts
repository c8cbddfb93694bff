/**
 * @file The restorer registry. Each entry is a lazy factory plus the strict schema of its options (validated by
 * the registry before the factory runs); adding a restorer = its file, its schema in options.ts, one line here.
 */
import type { RestorerFactory } from '../../eval/restorers/restorer.ts';
import { ComponentRegistry } from '../../eval/registry.ts';
import { ClassicalOptionsSchema, CommandOptionsSchema, LqOptionsSchema, OnnxSingleOptionsSchema, PrecomputedOptionsSchema, RefLdmOptionsSchema } from './options.ts';

export const RESTORERS = new ComponentRegistry<RestorerFactory>('restorer');

RESTORERS.register('lq', { options: LqOptionsSchema, create: async (o) => (await import('./lq.ts')).createLqRestorer(o) }, 'restorers/lq.ts');
RESTORERS.register('classical', { options: ClassicalOptionsSchema, create: async (o) => (await import('./classical.ts')).createClassicalRestorer(o) }, 'restorers/classical.ts');
RESTORERS.register('ref-ldm', { options: RefLdmOptionsSchema, create: async (o) => (await import('./ref-ldm/restorer.ts')).createRefLdm(o) }, 'restorers/ref-ldm/restorer.ts');
RESTORERS.register('onnx-single', { options: OnnxSingleOptionsSchema, create: async (o) => (await import('./onnx-single.ts')).createOnnxSingle(o) }, 'restorers/onnx-single.ts');
RESTORERS.register('command', { options: CommandOptionsSchema, create: async (o) => (await import('./command.ts')).createCommandRestorer(o) }, 'restorers/command.ts');
RESTORERS.register('precomputed', { options: PrecomputedOptionsSchema, create: async (o) => (await import('./precomputed.ts')).createPrecomputedRestorer(o) }, 'restorers/precomputed.ts');
