/**
 * @file The fusion benchmarks already in a results folder (`<results>/bench/<id>/fusion.json`), for the tables
 * whose time and memory columns read them. A pure read (the dashboard's paper page uses it): kept apart from
 * reproduce.ts, which runs things.
 */
import { readFileSync } from 'node:fs';
import type { FusionReport } from '../timing/fusion.ts';
import { listBenchReports } from '../results/bench-files.ts';
import type { Experiment } from './experiments.ts';

/** Every fusion.json under `<results>/bench/`, newest first. */
export function fusionReports(resultsDir: string): (FusionReport & { path: string })[] {
  const out: (FusionReport & { path: string })[] = [];
  for (const p of listBenchReports(resultsDir)) {
    try {
      const r = JSON.parse(readFileSync(p, 'utf8')) as FusionReport;
      if (r.kind === 'fusion-bench' && Array.isArray(r.rows)) out.push({ ...r, path: p });
    } catch {
      // a torn or foreign file is not a match; `report` names it when asked for it directly
    }
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** True when `r` was made with these settings and has a measurement for every (design, refs) of the grid. */
export function fusionCovers(
  r: FusionReport,
  f: { config: string; steps: number; device: string; designs: NonNullable<Experiment['bench']>['designs']; refs: readonly number[] },
): boolean {
  if (r.config !== f.config || r.steps !== f.steps || r.device !== f.device) return false;
  return f.designs.every((d) => f.refs.every((n) => r.rows.some((x) => x.design === d && x.refs === n && x.timeMs !== undefined && !x.error)));
}
