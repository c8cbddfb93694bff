/**
 * @file A generic registry of lazy factories with "did you mean" errors (lm-eval `registry.py` semantics).
 * Three instances exist: metrics, restorers, datasets. Importing a registry loads no native module: entries
 * are factories that run only on `create`.
 */

import { z } from 'zod';
import { parseOptions } from './spec/run-spec.ts';
import { suggest } from './suggest.ts';

export { editDistance, suggest } from './suggest.ts';

/** Thrown for an unknown id; the message lists suggestions and every available id. */
export class UnknownIdError extends Error {
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly available: readonly string[],
  ) {
    const close = suggest(id, available);
    super(
      `Unknown ${kind} '${id}'.` +
        (close.length ? ` Did you mean: ${close.join(', ')}?` : '') +
        ` Available: ${available.join(', ') || '(none)'}`,
    );
    this.name = 'UnknownIdError';
  }
}

/** Registry<T>: `register(id, entry)` throws on duplicates naming both; `get(id)` suggests close ids. */
export class Registry<T> {
  private readonly entries = new Map<string, { value: T; origin: string }>();

  constructor(readonly kind: string) {}

  /**
   * @param origin where the entry is defined (a module path), printed in duplicate errors.
   * @throws Error on a duplicate id.
   */
  register(id: string, value: T, origin = 'unknown'): this {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) throw new Error(`Invalid ${this.kind} id '${id}': use kebab-case`);
    const prior = this.entries.get(id);
    if (prior) throw new Error(`Duplicate ${this.kind} id '${id}': registered by ${prior.origin} and again by ${origin}`);
    this.entries.set(id, { value, origin });
    return this;
  }

  /** @throws UnknownIdError with suggestions. */
  get(id: string): T {
    const e = this.entries.get(id);
    if (!e) throw new UnknownIdError(this.kind, id, this.ids());
    return e.value;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  ids(): string[] {
    return [...this.entries.keys()].sort();
  }
}

/** The options schema every component declares: a strict `z.object` (an unknown key is an error, never ignored). */
export type OptionsSchema = z.ZodObject<z.ZodRawShape>;

/** Whether `schema` is a `z.object(...).strict()`. */
export function isStrictObject(schema: unknown): schema is OptionsSchema {
  const def = (schema as { _zod?: { def?: { type?: string; catchall?: { _zod?: { def?: { type?: string } } } } } })?._zod?.def;
  return def?.type === 'object' && def.catchall?._zod?.def?.type === 'never';
}

/** One registered component: its lazy factory and the schema of the options it takes. */
export interface Component<F> {
  readonly create: F;
  readonly options: OptionsSchema;
}

/** Where options come from, for error messages: `spec.yaml: dataset.options.levle: ...`. */
export interface OptionsSite {
  readonly file?: string;
  readonly path: readonly PropertyKey[];
}

/**
 * A registry of components (datasets, restorers, metrics) whose every entry carries a strict options schema.
 * Registering without one is impossible (the schema is a required, checked argument), and `get(id)` returns the
 * factory wrapped so that it validates its options first: no caller, and no new adapter, can skip the check.
 * `parseOptions` is the same check with the spec file and field path in the message (run before anything runs).
 */
export class ComponentRegistry<F extends (options: any) => Promise<unknown>> {
  private readonly entries: Registry<Component<F>>;

  constructor(readonly kind: string) {
    this.entries = new Registry<Component<F>>(kind);
  }

  /**
   * @param origin where the entry is defined (a module path), printed in duplicate errors.
   * @throws Error on a duplicate id, or when `component.options` is not a strict z.object.
   */
  register(id: string, component: Component<F>, origin = 'unknown'): this {
    if (!isStrictObject(component.options)) {
      throw new Error(`${this.kind} '${id}' (${origin}): its options schema must be a strict z.object(...).strict(), so that unknown keys are errors`);
    }
    this.entries.register(id, component, origin);
    return this;
  }

  /** The validating factory. @throws UnknownIdError with suggestions. */
  get(id: string): F {
    const c = this.entries.get(id);
    const wrapped = async (options: unknown, ...rest: unknown[]) => {
      this.parseOptions(id, options ?? {}, { file: `${this.kind} '${id}'`, path: ['options'] });
      return (c.create as (...a: unknown[]) => Promise<unknown>)(options ?? {}, ...rest);
    };
    return wrapped as unknown as F;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  ids(): string[] {
    return this.entries.ids();
  }

  /** The option keys `id` accepts. @throws UnknownIdError. */
  optionKeys(id: string): string[] {
    return Object.keys(this.entries.get(id).options.shape);
  }

  /**
   * Validates `raw` against `id`'s options schema.
   * @returns the parsed options (defaults applied).
   * @throws SpecError whose lines name the file and field path, and for an unknown key the closest valid key and
   *   every valid one.
   */
  parseOptions(id: string, raw: unknown, where: OptionsSite): Record<string, unknown> {
    return parseOptions(this.entries.get(id).options, raw, where) as Record<string, unknown>;
  }
}
