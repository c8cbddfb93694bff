/**
 * @file `lq`: the pass-through restorer. Returns the LQ input unchanged; it needs no weights and is the floor of
 * every table (and the fastest restorer for pipeline and crash tests).
 */
import { parseOptions } from '../../eval/spec/run-spec.ts';
import type { Restorer } from '../../eval/restorers/restorer.ts';
import { LqOptionsSchema } from './options.ts';

/**
 * @param options must be empty (`restorer.options` in the spec).
 * @example
 * const r = await createLqRestorer({});
 * (await r.restore({ sampleId: 'a', lq, refs: [] })).image === lq; // true
 */
export async function createLqRestorer(options: Readonly<Record<string, unknown>>): Promise<Restorer> {
  parseOptions(LqOptionsSchema, options, { path: ['restorer', 'options'] });
  return {
    info: { id: 'lq', version: '1', weights: { kind: 'none' }, settings: {} },
    async restore(input, opts) {
      opts?.signal?.throwIfAborted();
      const t0 = performance.now();
      const image = input.lq;
      return { image, timings: { total: performance.now() - t0 }, info: { refsUsed: 0 } };
    },
    async dispose() {},
  };
}
