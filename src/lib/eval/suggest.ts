/**
 * @file "Did you mean" suggestions (lm-eval `registry.py` semantics), shared by the registries (unknown ids) and
 * the option validation (unknown keys). Pure.
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

/**
 * Up to `max` known names closest to `id` (edit distance ≤ max(2, len/3), or a prefix/substring match).
 * Case and `_`/`-` differences count as nothing (`crop_border` is close to `cropBorder`).
 */
export function suggest(id: string, known: readonly string[], max = 3): string[] {
  const limit = Math.max(2, Math.floor(id.length / 3));
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const nid = norm(id);
  return known
    .map((k) => {
      const nk = norm(k);
      const d = nk === nid ? 0.25 : nk.includes(nid) || nid.includes(nk) ? 0.5 : editDistance(nid, nk);
      return { k, d };
    })
    .filter(({ d }) => d <= limit)
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, max)
    .map(({ k }) => k);
}
