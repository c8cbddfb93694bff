/**
 * @file Experiments as data (`experiments/<table>.yaml`) and restorer profiles (`experiments/restorers.yaml`): how
 * the runs of one benchmark map onto the rows and columns of a paper table, and the plan `refbench reproduce` and
 * `refbench report --paper` share (`planExperiment`): one planned run per (benchmark, row), with its run spec, its
 * name (`<benchmark>-<profile>-<variant>`, shared by every table that needs the same run, e.g. Table 5's "max 5
 * refs", Table 2's CacheKV and Table 7's ReF-LDM), its state in the store and its estimated cost.
 *
 * A planned run is `blocked` (never run, shown with the reason) when it needs something refbench cannot make: a
 * config key that is missing (the message names the key and the benchmark), or a fusion design's fine-tuned
 * checkpoint that was never released.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { canonicalJson, formatIssues, identityOfSpec, parseRunSpec } from '../../eval/spec/run-spec.ts';
import { runsRoot, sha256Hex, RunStore } from '../results/store.ts';
import { cachePath } from '../results/cache-files.ts';
import { REPO_ROOT } from '../paths.ts';
import { loadBenchmark, resolveValues, type Benchmark, type MissingFile, type ValueRef } from './benchmarks.ts';
import { ConfigKeyError, type UserConfig } from './user-config.ts';

/** Folder of the experiment files and the restorer profiles. */
export const EXPERIMENTS_DIR = join(REPO_ROOT, 'experiments');

const Options = z.record(z.string(), z.unknown()).default({});
const DesignEnum = z.enum(['cachekv', 'spatial', 'cross', 'channel']);

/** One restorer profile of experiments/restorers.yaml. */
export const ProfileSchema = z
  .object({
    title: z.string().min(1),
    restorer: z.object({ id: z.string().min(1), options: Options }).strict(),
    /** Fusion designs whose trained weights the profile has (default: cachekv). */
    designs: z.array(DesignEnum).default(['cachekv']),
    /** Config references to user-supplied bundles of the other designs. */
    designBundles: z.partialRecord(DesignEnum, z.unknown()).default({}),
    /** `refbench bench fusion` settings of this profile (absent: the profile has no fusion bench). */
    bench: z.object({ config: z.enum(['tiny', 'paper']), bundle: z.unknown().optional(), steps: z.number().int().positive() }).strict().optional(),
    cost: z.object({ secondsPerImage: z.object({ cpu: z.number().positive(), cuda: z.number().positive() }).strict() }).strict(),
  })
  .strict();
export type Profile = z.infer<typeof ProfileSchema>;

const CellSource = z.union([
  z.object({ metric: z.string().min(1) }).strict(),
  z.object({ option: z.string().min(1) }).strict(),
  z.object({ bench: z.enum(['time', 'memory']), refs: z.number().int().min(0).optional(), device: z.string().optional(), compare: z.boolean().default(true) }).strict(),
]);
export type CellSource = z.infer<typeof CellSource>;

/** An experiment file. */
export const ExperimentSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    /** The table of benchmarks/paper-tables.json. */
    paper: z.string().min(1),
    title: z.string().min(1),
    /** The paper's benchmarks (default for --benchmark). */
    benchmarks: z.array(z.string().min(1)).min(1),
    /** The embedded stand-ins (synthfaces-ref), runnable without downloads. */
    embedded: z.array(z.string().min(1)).default([]),
    /** Default restorer profile (--restorer). */
    restorer: z.string().min(1),
    rows: z
      .array(
        z
          .object({
            /** The paper row's `method`. */
            method: z.string().min(1),
            /** Run-name suffix: the same variant of the same profile on the same benchmark is one run, shared by tables. */
            variant: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).optional(),
            /** A fixed profile for this row (baselines); default: the experiment's --restorer. */
            restorer: z.string().min(1).optional(),
            /** Fusion design the row's quality needs trained weights of. */
            design: DesignEnum.optional(),
            /** Merged into the profile's restorer options. */
            options: Options,
            /** `refbench bench fusion` cell of this row (time/memory columns). */
            bench: z.object({ design: DesignEnum, refs: z.number().int().min(0) }).strict().optional(),
            /** null: the paper has no such row (ours only). */
            paperRow: z.null().optional(),
          })
          .strict(),
      )
      .min(1),
    /** Paper column key (without Table 7's dataset prefix) → where our value comes from. */
    columns: z.record(z.string(), CellSource),
    /** The `bench fusion` grid this table needs. */
    bench: z.object({ designs: z.array(DesignEnum).min(1), refs: z.array(z.number().int().min(0)).min(1) }).strict().optional(),
  })
  .strict();
export type Experiment = z.infer<typeof ExperimentSchema>;
export type ExperimentRow = Experiment['rows'][number];

function readYaml(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** The restorer profiles. @throws Error naming the file and field when invalid. */
export function loadProfiles(dir = EXPERIMENTS_DIR): Map<string, Profile> {
  const file = join(dir, 'restorers.yaml');
  const raw = readYaml(file);
  const schema = z.record(z.string(), ProfileSchema);
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(formatIssues(r.error, raw, file, [], schema).join('\n'));
  return new Map(Object.entries(r.data));
}

/** Ids of the experiments (tables) that can be reproduced. */
export const EXPERIMENT_IDS = ['table2', 'table5', 'table6', 'table7'] as const;

/**
 * Loads `experiments/<id>.yaml` (`table5`, `5` or `Table5`).
 * @throws Error listing the available ids, or naming the file and field.
 */
export function loadExperiment(ref: string, dir = EXPERIMENTS_DIR): Experiment & { file: string } {
  const id = /^\d+$/.test(ref) ? `table${ref}` : ref.toLowerCase();
  const file = join(dir, `${id}.yaml`);
  if (!existsSync(file)) throw new Error(`no experiment '${ref}' (${file} not found); available: ${EXPERIMENT_IDS.join(', ')}`);
  const raw = readYaml(file);
  const r = ExperimentSchema.safeParse(raw);
  if (!r.success) throw new Error(formatIssues(r.error, raw, file, [], ExperimentSchema).join('\n'));
  if (r.data.id !== id) throw new Error(`${file}: id: '${r.data.id}' must equal the file name ('${id}')`);
  return { ...r.data, file };
}

/** Where a planned run stands. */
export type RunState = 'done' | 'partial' | 'missing' | 'blocked';

/** One run an experiment needs on one benchmark. */
export interface PlannedRun {
  readonly benchmark: Benchmark;
  readonly row: ExperimentRow;
  readonly profile: string;
  /** Run name `<benchmark>-<profile>-<variant>` (the run id adds the spec hash). */
  readonly name: string;
  /** The raw run spec (null when blocked). */
  readonly spec: Record<string, unknown> | null;
  /** The run id the spec maps to (null when blocked). */
  readonly runId: string | null;
  readonly state: RunState;
  /** Why it cannot run (blocked), e.g. a missing config key or checkpoint. */
  readonly blocked?: string;
  /** `config`: a user config key is missing (an error for `reproduce`); `checkpoint`: weights that were never released. */
  readonly blockedKind?: 'config' | 'checkpoint';
  /** Samples done / wanted (when known). */
  readonly done?: number;
  readonly wanted?: number;
  /** Estimated seconds for what is left (restorer + metrics). */
  readonly estSeconds: number;
  /**
   * Files the run would read that are not there: model files not installed yet (with the command that fetches
   * them), configured paths that do not exist, committed files missing from the checkout. A run with any cannot start.
   */
  readonly missingFiles: readonly MissingFile[];
}

/** Options of a plan. */
export interface PlanOptions {
  readonly config: UserConfig;
  readonly resultsDir: string;
  /** Benchmark ids (default: the experiment's). */
  readonly benchmarks?: readonly string[];
  /** Profile name (default: the experiment's). */
  readonly restorer?: string;
  readonly device?: 'cpu' | 'cuda';
  /** First n samples only (tests, quick looks); not part of the run's identity. */
  readonly limit?: number;
  /** Path of a `{ derived: gt-fid-stats }` reference for a benchmark (reproduce computes it; a plan only names it). */
  readonly derived?: (b: Benchmark) => string;
  /** Folder of the benchmark files (default benchmarks/ of the repository; tests plan a benchmark from a temp folder). */
  readonly benchmarksDir?: string;
}

/** The default `derived` path of a benchmark's GT FID statistics (under the results' cache). */
export function derivedStatsPath(resultsDir: string, b: Benchmark): string {
  return cachePath(resultsDir, `${b.id}-v${b.protocol.version}_clean_gt-fid-stats.npz`);
}

/** Expected sample count of a benchmark (known only for the embedded ones without generating them). */
const KNOWN_SIZES: Readonly<Record<string, number>> = { 'synthfaces-ref': 44, 'ffhq-ref': 857, 'celeba-test-ref': 2533 };

/** Run name of a (benchmark, profile, row). */
export function runName(benchmarkId: string, profile: string, row: ExperimentRow): string {
  return `${benchmarkId}-${profile}-${row.variant ?? 'out'}`;
}

/** The profile a row runs with. */
export function rowProfile(exp: Experiment, row: ExperimentRow, restorer?: string): string {
  return row.restorer ?? restorer ?? exp.restorer;
}

/**
 * Plans an experiment: every (benchmark, row) with a run, its spec, state and cost. Rows that only read a fusion
 * bench (Table 6) have no run. Pure read: nothing is written.
 */
export function planExperiment(exp: Experiment, o: PlanOptions): PlannedRun[] {
  const profiles = loadProfiles();
  const benchIds = o.benchmarks?.length ? o.benchmarks : exp.benchmarks;
  const profileName = o.restorer ?? exp.restorer;
  if (!profiles.has(profileName)) throw new Error(`--restorer: no profile '${profileName}' in ${join(EXPERIMENTS_DIR, 'restorers.yaml')}; available: ${[...profiles.keys()].join(', ')}`);
  const out: PlannedRun[] = [];
  for (const bid of benchIds) {
    const b = loadBenchmark(bid, o.benchmarksDir);
    for (const row of exp.rows) {
      if (!row.variant) continue; // bench-only row
      const pname = rowProfile(exp, row, o.restorer);
      const profile = profiles.get(pname);
      if (!profile) throw new Error(`${exp.id}: row '${row.method}': no restorer profile '${pname}'`);
      out.push(planRun(b, row, pname, profile, o));
    }
  }
  return out;
}

function planRun(b: Benchmark, row: ExperimentRow, pname: string, profile: Profile, o: PlanOptions): PlannedRun {
  const name = runName(b.id, pname, row);
  const n = Math.min(o.limit ?? Infinity, KNOWN_SIZES[b.dataset.adapter] ?? 857);
  const device = o.device ?? 'cpu';
  const perImage = profile.cost.secondsPerImage[device] + b.cost.metricsSecondsPerImage[device];
  const base = { benchmark: b, row, profile: pname, name, missingFiles: [] as MissingFile[] };
  const blocked = (why: string, kind: 'config' | 'checkpoint'): PlannedRun => ({ ...base, spec: null, runId: null, state: 'blocked', blocked: why, blockedKind: kind, estSeconds: 0 });
  const neededBy = (what: string) => (path: string) => `benchmark ${b.id} (${what}: ${path})`;
  let restorerOptions: Record<string, unknown>;
  let dataset: Record<string, unknown>;
  let metrics: unknown;
  const missing = base.missingFiles;
  // The design's checkpoint first: a design that was never released is the reason, whatever else is missing.
  let designBundle: string | undefined;
  if (row.design && !profile.designs.includes(row.design)) {
    const ref = profile.designBundles[row.design] as ValueRef | undefined;
    const key = ref && typeof ref === 'object' && 'config' in ref ? ref.config : `designs.${row.design}`;
    const p = o.config.path(key);
    if (p === undefined) return blocked(`needs that design's checkpoint: only CacheKV's was released; set ${key} in ${o.config.file ?? 'refbench.config.yaml'} to a bundle of a fine-tuned ${row.design} model`, 'checkpoint');
    if (!existsSync(p)) base.missingFiles.push({ path: p, fix: `no such file or folder; set ${key} in ${o.config.file ?? 'the user config'} to where it is (a bundle of a fine-tuned ${row.design} model)` });
    designBundle = p;
  }
  // Every missing key of the run at once (not one per attempt).
  const keys: ConfigKeyError[] = [];
  const onMissingKey = (e: ConfigKeyError) => keys.push(e);
  try {
    const ctx = { config: o.config, benchmarkId: b.id, neededBy: neededBy(join('experiments', 'restorers.yaml') + ` profile ${pname}`), onMissingKey };
    restorerOptions = { ...(resolveValues(profile.restorer.options, ctx, 'restorer.options', missing) as Record<string, unknown>), ...row.options };
    if (designBundle !== undefined) restorerOptions.bundle = designBundle;
    if (restorerOptions.device === undefined && profile.restorer.id === 'ref-ldm') restorerOptions.device = device;
    const bctx = { config: o.config, benchmarkId: b.id, neededBy: neededBy(b.file.replace(`${REPO_ROOT}/`, '')), derived: () => (o.derived ? o.derived(b) : derivedStatsPath(o.resultsDir, b)), onMissingKey };
    dataset = { adapter: b.dataset.adapter, options: resolveValues(b.dataset.options, bctx, 'dataset.options', missing), ...(o.limit ? { limit: o.limit } : {}) };
    metrics = resolveValues(b.metrics, bctx, 'metrics', missing);
    if (keys.length) return blocked(missingKeysMessage(o.config, keys), 'config');
  } catch (err) {
    if (err instanceof ConfigKeyError) return blocked(err.message, 'config');
    throw err;
  }
  const spec = {
    name,
    dataset,
    restorer: { id: profile.restorer.id, options: restorerOptions },
    metrics,
    device,
    benchmark: { id: b.id, version: b.protocol.version, sha256: b.protocol.sha256 },
  };
  const resolved = parseRunSpec(spec, `${name} (planned from ${b.id})`);
  const runId = `${name}-${sha256Hex(canonicalJson(identityOfSpec(resolved))).slice(0, 10)}`;
  const st = runState(join(runsRoot(o.resultsDir), runId), o.limit);
  const left = st.wanted !== undefined && st.done !== undefined ? Math.max(0, st.wanted - st.done) : n;
  return { ...base, missingFiles: missing, spec, runId, state: st.state, done: st.done, wanted: st.wanted ?? n, estSeconds: left * perImage };
}

/**
 * Every missing config key of one run, each with who needs it, and one YAML block to add:
 * `/home/u/refbench.config.yaml has no key 'datasets.ffhq-images' (needed by benchmark ffhq-ref-severe
 * (benchmarks/ffhq-ref-severe.yaml: dataset.options.hqDir))`.
 */
export function missingKeysMessage(config: UserConfig, keys: readonly ConfigKeyError[]): string {
  const where = config.file ? `${config.file} has no key` : `no user config file (looked for ${config.lookedFor}; set $REFBENCH_CONFIG or pass --config), so no key`;
  const lines = keys.map((k) => `${where} '${k.key}'; it is needed by ${k.neededBy}`);
  const tree: Record<string, unknown> = {};
  for (const k of keys) {
    let cur = tree;
    const parts = k.key.split('.');
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1) cur[part] = '<path>';
      else cur = (cur[part] ??= {}) as Record<string, unknown>;
    }
  }
  const yaml = (o: Record<string, unknown>, ind: string): string[] => Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [`${ind}${k}: ${v}`] : [`${ind}${k}:`, ...yaml(v as Record<string, unknown>, `${ind}  `)]));
  return [...lines, `Add to ${config.file ?? './refbench.config.yaml'} (refbench.config.example.yaml lists every key):`, ...yaml(tree, '  ')].join('\n');
}

/** State of a run directory: done when every wanted sample has a final line (ok or error). */
function runState(dir: string, limit?: number): { state: RunState; done?: number; wanted?: number } {
  const store = new RunStore(dir);
  if (!store.exists()) return { state: 'missing' };
  try {
    const run = store.readRunJson();
    const wanted = Math.min(limit ?? Infinity, run.dataset.available ?? run.dataset.size);
    const s = store.readSamples();
    let done = 0;
    for (const l of s.latest.values()) if (l.status === 'ok' || l.status === 'error') done++;
    return { state: done >= wanted ? 'done' : 'partial', done, wanted };
  } catch {
    return { state: 'partial' };
  }
}

/** `12 s`, `4.2 min`, `3.1 h`. */
export function formatDuration(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
