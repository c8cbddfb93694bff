/**
 * @file Benchmark reports in a results root: `<results>/bench/<id>/fusion.json` (`refbench bench fusion`, the
 * demo's and `reproduce`'s fusion timing). Written atomically; listed in id order.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic.ts';

/** The benchmark folder of a results root. */
export function benchRoot(resultsDir: string): string {
  return join(resultsDir, 'bench');
}

/** Where benchmark `id`'s report is. */
export function benchReportPath(resultsDir: string, id: string): string {
  return join(benchRoot(resultsDir), id, 'fusion.json');
}

/** Writes benchmark `id`'s report (atomically); returns its path. */
export function writeBenchReport(resultsDir: string, id: string, report: unknown): string {
  const path = benchReportPath(resultsDir, id);
  writeJsonAtomic(path, report);
  return path;
}

/** Every `<results>/bench/<id>/fusion.json` that exists, in id order; none when there is no bench folder. */
export function listBenchReports(resultsDir: string): string[] {
  const root = benchRoot(resultsDir);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort()
    .map((id) => benchReportPath(resultsDir, id))
    .filter((p) => existsSync(p));
}
