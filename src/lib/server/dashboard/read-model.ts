/**
 * @file The dashboard's read model: the ONE module the routes call (and the benches and tests that stand in for
 * them). It owns what the views share:
 * - the process's one in-memory DuckDB (`ResultsDb`: runs are loaded on first use and reloaded only when their files
 *   change, so a warm page re-reads nothing);
 * - the caches, each keyed by the stamps of the files behind it (cache.ts): derived pages, each run's leaderboard
 *   row (a run being written recomputes only its own row), parsed run files, dataset listings, bench files;
 * - the bootstrap resample indices, drawn once per sample count and shared by every run and metric;
 * and answers one method per page. The views (leaderboard.ts, compare.ts, browse.ts, run-page.ts, paper.ts,
 * fusion.ts) are functions of a `ReadContext` and keep no state; metric cells are made in one place
 * (metric-cells.ts). Each method loads its view module on first use, so a route pulls in only its own page's
 * code (the dev server compiles less per first request). Every method is a pure read: nothing is written.
 */
import { resolve } from 'node:path';
import { BOOTSTRAP_DEFAULTS, bootstrapIndices } from '../../eval/stats/bootstrap.ts';
import { ResultsDb } from '../results/query.ts';
import type { BrowsePage } from './browse.ts';
import { ExpiringCache, StampedCache } from './cache.ts';
import type { CompareQuery, Comparison } from './compare.ts';
import type { ReadContext } from './context.ts';
import type { FusionPage } from './fusion.ts';
import type { Leaderboard } from './leaderboard.ts';
import type { PaperPage } from './paper.ts';
import type { RunPage } from './run-page.ts';
import type { ServedImage } from './serve-file.ts';

/** The results root the dashboard reads: `REFBENCH_RESULTS_DIR` or `./results`. */
export function resultsDir(): string {
  return resolve(process.env.REFBENCH_RESULTS_DIR ?? 'results');
}

let DB: Promise<ResultsDb> | null = null;

/** Pages of a results folder, each method one route's data. */
export class DashboardReadModel implements ReadContext {
  readonly pages = new StampedCache<unknown>(64);
  readonly runRows = new StampedCache<unknown>(4096);
  readonly runFiles = new StampedCache<unknown>(4096);
  readonly datasets = new ExpiringCache<Promise<unknown>>(10_000);
  readonly benchFiles = new StampedCache<unknown>(1024);

  readonly #resamples = new Map<number, Uint32Array | null>();

  constructor(readonly root: string) {}

  resamples(n: number): Uint32Array | null {
    let idx = this.#resamples.get(n);
    if (idx === undefined) {
      // A few sizes at most (one per benchmark's shared count, plus runs' own counts): 4 bytes × 1000 per value.
      if (this.#resamples.size >= 16) this.#resamples.delete(this.#resamples.keys().next().value as number);
      idx = bootstrapIndices(n, BOOTSTRAP_DEFAULTS);
      this.#resamples.set(n, idx);
    }
    return idx;
  }

  /** The one DuckDB of the process (every results folder's runs are keyed by their directory in it). */
  db(): Promise<ResultsDb> {
    DB ??= ResultsDb.open();
    return DB;
  }

  /** `/`: every benchmark's table; `over: 'own'` shows each run over its own samples instead of the shared ones. */
  async leaderboard(over: 'shared' | 'own' = 'shared'): Promise<Leaderboard> {
    return (await import('./leaderboard.ts')).leaderboard(this, over);
  }

  /** `/compare`: runs against a baseline over their shared samples. */
  async compare(q: CompareQuery): Promise<Comparison> {
    return (await import('./compare.ts')).compare(this, q);
  }

  /** `/browse`: the run picker, a redirect to the canonical URL, or the image browser for the URL's state. */
  async browse(params: URLSearchParams): Promise<BrowsePage> {
    return (await import('./browse.ts')).browsePage(this, params);
  }

  /** `/runs/<id>`: one run and a page of its samples. */
  async run(runId: string, params: URLSearchParams = new URLSearchParams()): Promise<RunPage> {
    const [{ runPage }, { missingThumbs }] = await Promise.all([import('./run-page.ts'), import('./browse.ts')]);
    return runPage(this, runId, params, (images) => missingThumbs(this, runId, images));
  }

  /** `/paper`: the paper's tables and charts with our runs and fusion benches beside them. */
  async paper(opts: { data?: string | null; restorer?: string | null } = {}): Promise<PaperPage> {
    return (await import('./paper.ts')).paperPage(this, opts);
  }

  /** `/fusion`: every fusion benchmark file under `<results>/bench/` and the measured folder. */
  async fusion(measured?: string): Promise<FusionPage> {
    const { fusionPage, measuredDir } = await import('./fusion.ts');
    return fusionPage(this, measured ?? measuredDir());
  }

  /** An image of a sample (`output`, `lq`, `gt`, `ref-<i>`), contained and typed by serve-file.ts. */
  async image(runId: string, sampleId: string, kind: string): Promise<ServedImage> {
    return (await import('./run-page.ts')).imageFile(this, runId, sampleId, kind);
  }

  /** A thumbnail, or null when it was never made (the route then redirects to the full image). */
  async thumb(runId: string, sampleId: string, kind: string): Promise<ServedImage | null> {
    return (await import('./browse.ts')).thumbImage(this, runId, sampleId, kind);
  }
}

const MODELS = new Map<string, DashboardReadModel>();

/** The read model of results folder `root` (default: `resultsDir()`), one per folder for the process's life. */
export function readModel(root = resultsDir()): DashboardReadModel {
  const key = resolve(root);
  let m = MODELS.get(key);
  if (!m) MODELS.set(key, (m = new DashboardReadModel(key)));
  return m;
}
