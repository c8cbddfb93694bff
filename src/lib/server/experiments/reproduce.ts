/**
 * @file `refbench reproduce <table>`: runs what an experiment (experiments/<table>.yaml) is missing and skips what
 * is done. Each run is an ordinary `runSpec` call (an interrupted run resumes); the time/memory tables run
 * `bench fusion` once for the grid they need unless a matching fusion.json is already in the results. `--dry-run`
 * lists the runs, their state and estimated cost, and writes nothing.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gaussianFromMoments, initMoments, updateMoments } from '../../eval/metrics/functional/frechet-distance.ts';
import { formatFusionTables, runFusionBench } from '../timing/fusion.ts';
import { fusionCovers, fusionReports } from './fusion-results.ts';
import { DATASETS } from '../datasets/index.ts';
import { loadImage } from '../datasets/load.ts';
import { materialiseDataset } from '../datasets/materialise.ts';
import { createFidExtractor } from '../metrics/fid-extractor.ts';
import { writeGaussianStats } from '../metrics/fid-stats.ts';
import { runSpec } from '../runner/evaluate.ts';
import { writeCacheFile } from '../results/cache-files.ts';
import { resolveValues, type Benchmark } from './benchmarks.ts';
import { derivedStatsPath, formatDuration, loadExperiment, loadProfiles, planExperiment, type Experiment, type PlannedRun, type Profile } from './experiments.ts';
import type { UserConfig } from './user-config.ts';

/** Options of `reproduce`. */
export interface ReproduceOptions {
  readonly config: UserConfig;
  readonly resultsDir: string;
  readonly benchmarks?: readonly string[];
  readonly restorer?: string;
  readonly device?: 'cpu' | 'cuda';
  readonly limit?: number;
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
  readonly log: (line: string) => void;
}

/** What a reproduce call did. */
export interface ReproduceResult {
  readonly plan: readonly PlannedRun[];
  readonly ran: readonly string[];
  readonly skipped: readonly string[];
  /** Runs that cannot start: blocked in the plan (config key, unreleased checkpoint) or missing a file they read. */
  readonly blocked: readonly PlannedRun[];
  /** Runs that can start (missing or partial, every file they read present). */
  readonly toDo: readonly PlannedRun[];
  /** The fusion bench used (path), or null when the table needs none. */
  readonly fusion: string | null;
  readonly aborted: boolean;
}

/** A planned run `reproduce` would start now: not done, not blocked, no file it reads missing. */
const canStart = (p: PlannedRun) => (p.state === 'missing' || p.state === 'partial') && !p.missingFiles.length;

/** The plan as lines: state, run, cost, and why a run is blocked. */
export function formatPlan(exp: Experiment, plan: readonly PlannedRun[], fusion: FusionPlan | null): string[] {
  const lines = [`${exp.id}: ${exp.title}`];
  let prevBlocked: string | undefined;
  for (const p of plan) {
    const cost =
      p.state === 'done'
        ? 'done'
        : p.state === 'blocked'
          ? 'blocked'
          : p.missingFiles.length
            ? `blocked: ${p.missingFiles.length} file(s) it reads are missing`
            : `~${formatDuration(p.estSeconds)}${p.state === 'partial' ? ` (${p.done}/${p.wanted} done)` : ''}`;
    lines.push(`  ${p.state.padEnd(7)}  ${(p.runId ?? p.name).padEnd(52)}  ${p.row.method.padEnd(26)}  ${cost}`);
    if (p.blocked) lines.push(...(p.blocked === prevBlocked ? ['           (the same as above)'] : p.blocked.split('\n').map((l) => `           ${l}`)));
    prevBlocked = p.blocked;
    for (const m of p.missingFiles) lines.push(`           missing ${m.path}: ${m.fix}`);
  }
  if (fusion) lines.push(`  ${(fusion.existing ? 'done' : 'missing').padEnd(7)}  bench fusion ${fusion.label}  ${fusion.existing ? fusion.existing : `~${formatDuration(fusion.estSeconds)}`}`);
  const left = plan.reduce((s, p) => s + (canStart(p) ? p.estSeconds : 0), 0) + (fusion && !fusion.existing ? fusion.estSeconds : 0);
  lines.push(`  estimated cost of what is left: ${formatDuration(left)} (estimates from experiments/restorers.yaml and benchmarks/*.yaml cost fields)`);
  return lines;
}

/** The fusion bench a table needs with a profile, and the matching one already in the results (if any). */
export interface FusionPlan {
  readonly config: 'tiny' | 'paper';
  readonly bundle: string;
  readonly steps: number;
  readonly device: 'cpu' | 'cuda';
  readonly designs: NonNullable<Experiment['bench']>['designs'];
  readonly refs: readonly number[];
  readonly label: string;
  readonly existing: string | null;
  readonly estSeconds: number;
}

/** The fusion bench `exp` needs with `profile`, or null (no bench columns, or a profile without a bench). */
export function planFusion(exp: Experiment, profile: Profile, o: Pick<ReproduceOptions, 'config' | 'resultsDir' | 'device'>): FusionPlan | null {
  if (!exp.bench || !profile.bench) return null;
  const device = o.device ?? 'cpu';
  const bundle = profile.bench.bundle
    ? (resolveValues(profile.bench.bundle, { config: o.config, neededBy: (p) => `experiments/restorers.yaml bench (${p})` }, 'bench.bundle') as string)
    : resolve('.cache/refldm-paper');
  const f = { config: profile.bench.config, bundle, steps: profile.bench.steps, device, designs: exp.bench.designs, refs: exp.bench.refs };
  const existing = fusionReports(o.resultsDir).find((r) => fusionCovers(r, f));
  const perImage = profile.cost.secondsPerImage[device];
  return {
    ...f,
    label: `(${f.config}, ${f.designs.join('/')} × refs ${f.refs.join('/')}, ${f.steps} steps, ${device})`,
    existing: existing?.path ?? null,
    estSeconds: f.designs.length * f.refs.length * perImage * 2,
  };
}

/**
 * FID statistics of a benchmark's own GT images through its FID metric's network (`{ derived: gt-fid-stats }`),
 * computed once per protocol version and kept under `<results>/cache/`.
 */
async function ensureDerivedStats(b: Benchmark, plan: PlannedRun, path: string, log: (m: string) => void): Promise<void> {
  if (existsSync(path)) return;
  const spec = plan.spec as { dataset: { adapter: string; options: Record<string, unknown> }; metrics: { id: string; options?: Record<string, unknown> }[] };
  const fid = spec.metrics.find((m) => m.id.startsWith('fid-'));
  const modelPath = fid?.options?.modelPath as string | undefined;
  log(`${b.id}: FID reference statistics of its GT images (${modelPath ?? 'the models folder'}) → ${path}`);
  const ds = await DATASETS.get(spec.dataset.adapter)(spec.dataset.options);
  const gts = (await ds.samples()).map((s) => s.gt).filter((g): g is string => !!g);
  if (!gts.length) throw new Error(`${b.file}: a derived gt-fid-stats reference needs GT images; dataset ${b.dataset.adapter} has none`);
  const extractor = await createFidExtractor({ mode: 'clean', ...(modelPath ? { modelPath } : {}) }, `${b.id} gt-fid-stats`);
  try {
    const images = await Promise.all(gts.map((g) => loadImage(g, 'gt')));
    const { dim, data } = await extractor.extract(images, gts);
    const stats = gaussianFromMoments(updateMoments(initMoments(dim), data, gts.length));
    await writeCacheFile(path, (tmp) => writeGaussianStats(tmp, stats, { mode: 'clean', benchmark: b.id, protocolVersion: b.protocol.version }));
  } finally {
    await extractor.dispose();
  }
}

/** Plans and (unless dryRun) runs what is missing. */
export async function reproduce(tableRef: string, o: ReproduceOptions): Promise<ReproduceResult> {
  const exp = loadExperiment(tableRef);
  const resultsDir = resolve(o.resultsDir);
  const profileName = o.restorer ?? exp.restorer;
  const plan = planExperiment(exp, { ...o, resultsDir });
  const profile = loadProfiles().get(profileName)!;
  const fusion = planFusion(exp, profile, { ...o, resultsDir });
  if (exp.bench && !profile.bench) o.log(`note: profile ${profileName} has no fusion bench; the time/memory columns stay "not run"`);
  for (const l of formatPlan(exp, plan, fusion)) o.log(l);
  const blocked = plan.filter((p) => p.state === 'blocked' || (p.state !== 'done' && p.missingFiles.length));
  const toDo = plan.filter(canStart);
  const skipped = plan.filter((p) => p.state === 'done').map((p) => p.runId!);
  if (o.dryRun) return { plan, ran: [], skipped, blocked, toDo, fusion: fusion?.existing ?? null, aborted: false };
  const missingFiles = plan.flatMap((p) => (p.state === 'missing' || p.state === 'partial' ? p.missingFiles : []));
  if (missingFiles.length) throw new Error(`files needed by the runs are missing:\n${[...new Map(missingFiles.map((m) => [m.path, m])).values()].map((m) => `  ${m.path}: ${m.fix}`).join('\n')}`);
  const ran: string[] = [];
  const todo = plan.filter((p) => p.state === 'missing' || p.state === 'partial');
  for (const [i, p] of todo.entries()) {
    if (o.signal?.aborted) return { plan, ran, skipped, blocked, toDo, fusion: null, aborted: true };
    o.log(`[${i + 1}/${todo.length}] ${p.runId} (${p.row.method}, ${p.benchmark.id})`);
    const spec = p.spec as { dataset: { adapter: string; options: Record<string, unknown> } };
    if (JSON.stringify(p.benchmark.metrics).includes('"derived"')) {
      await materialiseDataset(spec.dataset.adapter, spec.dataset.options, (m) => o.log(`  ${m}`));
      await ensureDerivedStats(p.benchmark, p, derivedStatsPath(resultsDir, p.benchmark), o.log);
    }
    const r = await runSpec(p.spec, { resultsDir, signal: o.signal, progress: 'lines', log: o.log });
    ran.push(r.runId);
    if (r.aborted) return { plan, ran, skipped, blocked, toDo, fusion: null, aborted: true };
  }
  let fusionPath = fusion?.existing ?? null;
  if (fusion && !fusion.existing && !o.signal?.aborted) {
    o.log(`bench fusion ${fusion.label}: time and memory need no trained weights (random-init weights cost the same)`);
    const rep = await runFusionBench({
      config: fusion.config,
      bundle: fusion.bundle,
      designs: [...fusion.designs],
      refs: [...fusion.refs],
      steps: fusion.steps,
      repeat: 1,
      device: fusion.device,
      cfg: 1.5,
      resultsDir,
      log: o.log,
    });
    o.log(formatFusionTables(rep));
    fusionPath = rep.path;
  } else if (fusion?.existing) skipped.push(fusion.existing);
  // What could run has run; a missing config key is the user's to add: an error naming key and benchmark.
  const needConfig = blocked.filter((p) => p.blockedKind === 'config');
  if (needConfig.length) {
    throw new Error(
      `${needConfig.length} run(s) of ${exp.id} cannot start (${ran.length} made, ${skipped.length} already done):\n` +
        [...new Set(needConfig.map((p) => p.blocked!))].map((why) => `${needConfig.filter((p) => p.blocked === why).map((p) => p.name).join(', ')}:\n${why}`).join('\n'),
    );
  }
  return { plan, ran, skipped, blocked, toDo, fusion: fusionPath, aborted: false };
}
