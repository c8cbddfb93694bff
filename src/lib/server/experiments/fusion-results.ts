/**
 * @file The ONE reader of fusion.json (`refbench bench fusion` results, `<results>/bench/<id>/fusion.json`): the
 * schema of the fields readers use, the parse that checks them, the listing of a results folder, and the rule that
 * says which bench holds a restorer profile's time and memory. The paper report (`refbench report --paper`, the
 * dashboard's /paper), `refbench reproduce` and the dashboard's /fusion page all read fusion results through here.
 * A pure read: kept apart from reproduce.ts, which runs things.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describeIssues } from '../../eval/results/schema.ts';
import type { FusionReport } from '../timing/fusion.ts';
import { listBenchReports } from '../results/bench-files.ts';
import type { Experiment } from './experiments.ts';

/**
 * fusion.json as bench/fusion.ts `FusionReport` writes it: the fields any reader uses are checked; the measurement
 * details nobody reads may be anything.
 */
const FusionJsonSchema = z
  .object({
    kind: z.literal('fusion-bench'),
    id: z.string(),
    createdAt: z.string(),
    label: z.string(),
    config: z.string(),
    device: z.string(),
    threads: z.number().nullable(),
    steps: z.number(),
    cfg: z.number(),
    repeat: z.number(),
    rows: z.array(
      z
        .object({
          design: z.enum(['cachekv', 'spatial', 'cross', 'channel']),
          refs: z.number().int().positive(),
          timeMs: z.number().positive().optional(),
          peakRssDeltaBytes: z.number().optional(),
          error: z.string().optional(),
        })
        .passthrough(),
    ),
  })
  .passthrough();

/**
 * A parsed fusion.json.
 * @throws Error naming `file` and the wrong field when it is not a valid fusion bench.
 */
export function parseFusionReport(raw: unknown, file: string): FusionReport {
  const r = FusionJsonSchema.safeParse(raw);
  if (!r.success) throw new Error(`${file}: invalid fusion-bench JSON: ${describeIssues(r.error)}`);
  return r.data as unknown as FusionReport;
}

/** Every valid fusion.json under `<results>/bench/`, newest first (a torn or foreign file is skipped). */
export function fusionReports(resultsDir: string): (FusionReport & { path: string })[] {
  const out: (FusionReport & { path: string })[] = [];
  for (const p of listBenchReports(resultsDir)) {
    try {
      out.push({ ...parseFusionReport(JSON.parse(readFileSync(p, 'utf8')), p), path: p });
    } catch {
      // not a match; `report` and the /fusion page name it when they read it directly
    }
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** A profile's fusion bench settings (experiments/restorers.yaml `bench`). */
export interface ProfileBench {
  readonly config: string;
  readonly steps: number;
}

/** The benches made with a profile's settings (same bundle config and step count), newest first. */
export function profileFusions<R extends FusionReport>(reports: readonly R[], bench: ProfileBench | undefined): R[] {
  return bench ? reports.filter((r) => r.config === bench.config && r.steps === bench.steps) : [];
}

/** The newest successful measurement of (design, refs) among `reports` (newest first), with its bench. */
export function fusionCell<R extends FusionReport>(reports: readonly R[], design: string, refs: number): { r: R; row: FusionReport['rows'][number] } | null {
  for (const r of reports) {
    const row = r.rows.find((x) => x.design === design && x.refs === refs && x.timeMs !== undefined && !x.error);
    if (row) return { r, row };
  }
  return null;
}

/** True when `r` was made with these settings and has a measurement for every (design, refs) of the grid. */
export function fusionCovers(
  r: FusionReport,
  f: { config: string; steps: number; device: string; designs: NonNullable<Experiment['bench']>['designs']; refs: readonly number[] },
): boolean {
  if (r.config !== f.config || r.steps !== f.steps || r.device !== f.device) return false;
  return f.designs.every((d) => f.refs.every((n) => r.rows.some((x) => x.design === d && x.refs === n && x.timeMs !== undefined && !x.error)));
}
