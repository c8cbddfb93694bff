/**
 * @file "Materialising" a benchmark: the step that may CREATE a dataset's files before it is opened (today only
 * synthfaces-ref, which refbench generates itself). It is kept apart from the dataset registry (`index.ts`) on
 * purpose: opening a dataset there is a pure read (list samples, never generate, write or delete), and only the
 * commands that are meant to write (`run`, `demo`, `data synth`) import this module. The dashboard and `eval`
 * cannot reach it (a test walks their import graph to keep it so).
 */
import { Registry } from '../../eval/registry.ts';

/** Creates (or checks) a dataset's files from its spec options; `log` receives progress lines. */
export type Materialiser = (options: Readonly<Record<string, unknown>>, log?: (msg: string) => void) => Promise<{ generated: boolean; root: string }>;

/** `adapter` id → materialiser, for the adapters whose data refbench generates. */
export const MATERIALISERS = new Registry<Materialiser>('benchmark generator');

MATERIALISERS.register(
  'synthfaces-ref',
  async (o, log) => {
    const [{ ensureSynthfaces }, { synthfacesRoot }] = await Promise.all([import('./synthfaces/generate.ts'), import('./synthfaces.ts')]);
    return ensureSynthfaces(synthfacesRoot(o), log);
  },
  'datasets/synthfaces/generate.ts',
);

/**
 * Materialises the benchmark of `adapter` when refbench generates it (no-op for datasets users bring).
 * @returns null when the adapter has nothing to generate.
 * @throws Error naming the folder when it is not empty and not refbench's own.
 */
export async function materialiseDataset(
  adapter: string,
  options: Readonly<Record<string, unknown>>,
  log?: (msg: string) => void,
): Promise<{ generated: boolean; root: string } | null> {
  if (!MATERIALISERS.has(adapter)) return null;
  return MATERIALISERS.get(adapter)(options, log);
}
