/**
 * @file Validates a resolved run spec against the registries BEFORE anything runs: every id exists (with "did
 * you mean"), and every options object (the dataset adapter's, the restorer's, each metric's) passes that
 * component's strict schema. All problems are reported at once, each as `file: field.path: message`.
 */
import { ComponentRegistry, UnknownIdError } from '../../eval/registry.ts';
import { TIME_METRIC } from '../../eval/results/schema.ts';
import { SpecError, type ResolvedRunSpec } from '../../eval/spec/run-spec.ts';
import { DATASETS } from '../datasets/index.ts';
import { METRICS } from '../metrics/index.ts';
import { RESTORERS } from '../restorers/index.ts';

/**
 * Checks one component reference: its id, then its options.
 * @returns the problem lines (empty when valid).
 */
function checkComponent(
  registry: ComponentRegistry<(o: any) => Promise<unknown>>,
  id: string,
  options: unknown,
  file: string,
  idField: string,
  optionsPath: readonly PropertyKey[],
): string[] {
  if (!registry.has(id)) {
    try {
      registry.get(id);
    } catch (err) {
      if (err instanceof UnknownIdError) return [`${file}: ${idField}: ${err.message}`];
      throw err;
    }
  }
  try {
    registry.parseOptions(id, options ?? {}, { file, path: optionsPath });
    return [];
  } catch (err) {
    if (err instanceof SpecError) return err.issues.length ? [...err.issues] : [err.message];
    throw err;
  }
}

/**
 * Validates every id and options object of `spec`.
 * @param opts.skipDataset the caller supplies its own dataset object (tests, demo): its adapter id is not looked up.
 * @throws SpecError listing every problem, one `file: path: message` per line.
 */
export function validateSpec(spec: ResolvedRunSpec, file: string, opts: { skipDataset?: boolean } = {}): void {
  const lines: string[] = [];
  if (!opts.skipDataset) lines.push(...checkComponent(DATASETS, spec.dataset.adapter, spec.dataset.options, file, 'dataset.adapter', ['dataset', 'options']));
  lines.push(...checkComponent(RESTORERS, spec.restorer.id, spec.restorer.options, file, 'restorer.id', ['restorer', 'options']));
  spec.metrics.forEach((m, i) => {
    if (m.id === TIME_METRIC.id) {
      if (Object.keys(m.options).length) lines.push(`${file}: metrics[${i}].options: '${TIME_METRIC.id}' takes no options`);
      return;
    }
    lines.push(...checkComponent(METRICS, m.id, m.options, file, `metrics[${i}].id`, ['metrics', i, 'options']));
  });
  if (lines.length) throw new SpecError(lines.join('\n'), lines);
}
