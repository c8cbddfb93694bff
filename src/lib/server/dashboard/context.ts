/**
 * @file What every view of the dashboard reads through: the results folder, the one DuckDB database and the
 * caches. read-model.ts makes one per results folder; the view modules (leaderboard.ts, compare.ts, browse.ts,
 * run-page.ts, paper.ts, fusion.ts) take it as their first argument and keep no state of their own.
 */
import type { ResultsDb } from '../results/query.ts';
import type { ExpiringCache, StampedCache } from './cache.ts';

export interface ReadContext {
  /** The results folder (absolute). */
  readonly root: string;
  /** The process's one in-memory results database (runs are loaded on first use, reloaded when their files change). */
  db(): Promise<ResultsDb>;
  /** Derived pages (leaderboard, comparison), keyed by the stamps of the run files they came from. */
  readonly pages: StampedCache<unknown>;
  /** One run's leaderboard row (aggregates, cells), keyed by that run's stamp and the samples it is over. */
  readonly runRows: StampedCache<unknown>;
  /**
   * The bootstrap resample indices for n values (eval/stats/bootstrap.ts `bootstrapIndices` with the defaults),
   * drawn once and shared by every run and metric with n values.
   */
  resamples(n: number): Uint32Array | null;
  /** Each run's parsed files for the image browser and thumbnails, keyed by the stamps of those files. */
  readonly runFiles: StampedCache<unknown>;
  /** Dataset listings of runs (image panes): the ~100 image requests of one page share one listing. */
  readonly datasets: ExpiringCache<Promise<unknown>>;
  /** Parsed benchmark JSON files of the fusion page, keyed by their mtime + size. */
  readonly benchFiles: StampedCache<unknown>;
}
