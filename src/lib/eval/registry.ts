/**
 * @file A generic registry of lazy factories with "did you mean" errors (lm-eval `registry.py` semantics).
 * Three instances exist: metrics, restorers, datasets. Importing a registry loads no native module: entries
 * are factories that run only on `create`.
 */

/** Levenshtein distance, used for suggestions. */
export function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

/** Up to `max` known ids closest to `id` (edit distance ≤ max(2, len/3), or a prefix/substring match). */
export function suggest(id: string, known: readonly string[], max = 3): string[] {
  const limit = Math.max(2, Math.floor(id.length / 3));
  return known
    .map((k) => ({ k, d: k.includes(id) || id.includes(k) ? 0.5 : editDistance(id, k) }))
    .filter(({ d }) => d <= limit)
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, max)
    .map(({ k }) => k);
}

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
