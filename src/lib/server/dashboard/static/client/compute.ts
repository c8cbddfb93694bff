/**
 * @file The static snapshot's compare, computed in the browser (bundled into assets/static.js by ../snapshot.ts):
 * the shared samples as src/lib/server/results/query.ts `sharedSamples` defines them, and per metric and run the
 * mean with its bootstrap CI and the paired comparison against the baseline, as src/lib/server/dashboard/compare.ts
 * computes them, with the same statistics code (src/lib/eval/stats) on the same values in the same order.
 * No DOM: unit-tested in node (test/unit/server/dashboard/static/client/compute.test.ts).
 */
import { bootstrapMean, BOOTSTRAP_DEFAULTS } from '../../../../eval/stats/bootstrap.ts';
import { pairedComparison } from '../../../../eval/stats/paired.ts';
import { columnMode, type ColumnMode } from '../../../../eval/metrics/conventions.ts';
import type { StaticRun } from '../data.ts';
import type { Bench } from '../pack.ts';

/** A benchmark's data (its data script read back by ../pack.ts): its runs and metrics, and its image manifest. */
export type { Bench } from '../pack.ts';

export interface Shared {
  ids: string[];
  total: number;
  missing: number;
  failed: number;
  differentInputs: number;
  unverified: number;
}

/**
 * The samples `runs` share: present and ok in every run, each with an input hash, one hash among them; sorted by
 * id (the order the bootstrap resamples in). The others are counted by why they are left out, first reason first.
 */
export function sharedSamples(runs: readonly StaticRun[]): Shared {
  const by = new Map<string, { present: number; ok: number; hashed: number; hashes: Set<string> }>();
  for (const r of runs)
    for (const [id, status, hash] of r.samples) {
      const e = by.get(id) ?? { present: 0, ok: 0, hashed: 0, hashes: new Set<string>() };
      by.set(id, e);
      e.present++;
      if (status === 'ok') {
        e.ok++;
        if (hash) (e.hashed++, e.hashes.add(hash));
      }
    }
  const k = runs.length;
  const out: Shared = { ids: [], total: by.size, missing: 0, failed: 0, differentInputs: 0, unverified: 0 };
  for (const id of [...by.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const e = by.get(id)!;
    if (e.present < k) out.missing++;
    else if (e.ok < k) out.failed++;
    else if (e.hashed < k) out.unverified++;
    else if (e.hashes.size > 1) out.differentInputs++;
    else out.ids.push(id);
  }
  return out;
}

/** A run's values of `metric` on `ids` (null where it has none). */
export function valuesOn(r: StaticRun, metric: string, ids: readonly string[]): (number | null)[] {
  const at = new Map(r.samples.map((s, i) => [s[0], i]));
  const v = r.values[metric];
  return ids.map((id) => {
    const i = at.get(id);
    return i === undefined || !v ? null : (v[i] ?? null);
  });
}

/**
 * Compare of the runs `ids` (all of `b`) with the state of `p` (baseline, vs, metric).
 * @throws Error when the baseline or vs is not one of the runs.
 */
export function computeCompare(b: Bench, ids: string[], p: URLSearchParams) {
  const runs = ids.map((id) => b.runs.find((r) => r.runId === id)!);
  const baseline = p.get('baseline') || ids[0];
  if (!ids.includes(baseline)) throw new Error(`baseline '${baseline}' is not one of the compared runs (${ids.join(', ')})`);
  const vs = p.get('vs') || ids.find((id) => id !== baseline) || null;
  if (vs !== null && !ids.includes(vs)) throw new Error(`vs '${vs}' is not one of the compared runs (${ids.join(', ')})`);
  const shared = sharedSamples(runs);
  const present = new Set<string>();
  const values: Record<string, Record<string, { value: number | null; ci95: readonly [number, number] | null; n: number; testWeights: boolean; error?: string }>> = {};
  for (const r of runs) {
    const v: (typeof values)[string] = {};
    for (const m of b.metrics) {
      if (m.set) {
        const s = r.sets[m.id];
        if (s) (present.add(m.id), (v[m.id] = { value: s.value, ci95: null, n: s.n, testWeights: r.testWeights.includes(m.id), ...(s.error ? { error: s.error } : {}) }));
        continue;
      }
      const xs = valuesOn(r, m.id, shared.ids).filter((x): x is number => x !== null);
      if (!xs.length) continue;
      present.add(m.id);
      const bm = bootstrapMean(xs, BOOTSTRAP_DEFAULTS);
      v[m.id] = { value: bm.mean, ci95: bm.ci95, n: xs.length, testWeights: r.testWeights.includes(m.id) };
    }
    values[r.runId] = v;
  }
  // Each column's mode: the compared runs' modes, grouped in their order (as the live compare's modeOfColumn).
  const columns = b.metrics.filter((m) => present.has(m.id)).map((m) => ({ ...m, mode: columnMode(runs.flatMap((r) => (r.modes[m.id] ? [{ runId: r.runId, mode: r.modes[m.id] }] : []))) as ColumnMode }));
  const deltas: Record<string, Record<string, ReturnType<typeof pairedComparison>>> = {};
  const base = runs[ids.indexOf(baseline)];
  for (const c of columns.filter((x) => !x.set)) {
    const bv = valuesOn(base, c.id, shared.ids);
    for (const r of runs) {
      if (r === base) continue;
      const ov = valuesOn(r, c.id, shared.ids);
      const x: number[] = [];
      const y: number[] = [];
      bv.forEach((a, k) => {
        const o = ov[k];
        if (a !== null && o !== null) (x.push(a), y.push(o));
      });
      if (x.length) (deltas[r.runId] ??= {})[c.id] = pairedComparison(x, y, c.higherIsBetter);
    }
  }
  const asked = p.get('metric');
  const metric = asked !== null ? (columns.find((c) => c.id === asked) ?? null) : (columns.find((c) => !c.set && c.id !== 'time-ms') ?? columns[0] ?? null);
  return { runs, baseline, vs, shared, values, columns, deltas, metric, unknownMetric: asked !== null && !metric ? asked : null };
}
