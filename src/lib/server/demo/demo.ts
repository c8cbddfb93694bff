/**
 * @file `refbench demo`: the main job on the embedded benchmark, end to end. Generates synthfaces-ref (severe and
 * moderate), runs every restorer (the LQ floor, the classical enhancer, ReF-LDM-tiny with 0/1/3/5 references),
 * scores the outputs with every metric, times the fusion designs, and prints the tables and where the results
 * are. Networks that need weights refbench cannot download (ReF-LDM, VGG, ArcFace, Inception) run as committed
 * random-init test networks; every table marks them.
 *
 * Each step is an ordinary `runSpec` call, so an interrupted demo resumes where it stopped.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import type { RunSpecSchema } from '../../eval/spec/run-spec.ts';

type RunSpecInput = z.input<typeof RunSpecSchema>;
import { readRgb } from '../image/io.ts';
import { DEFAULT_SYNTHFACES_ROOT, synthfacesMaskDir } from '../datasets/synthfaces.ts';
import { ensureSynthfaces } from '../datasets/synthfaces/generate.ts';
import { createFidExtractor } from '../metrics/fid-extractor.ts';
import { writeGaussianStats } from '../metrics/fid-stats.ts';
import { writeNpz } from '../metrics/npz.ts';
import { gaussianFromMoments, initMoments, updateMoments } from '../../eval/metrics/functional/frechet-distance.ts';
import { runSpec, type RunResult } from '../runner/evaluate.ts';
import { report } from '../runner/report.ts';
import { REPO_ROOT } from '../paths.ts';
import { cachePath, writeCacheFile } from '../results/cache-files.ts';
import { formatFusionTables, runFusionBench, type FusionBenchOptions } from '../timing/fusion.ts';
import { loadProfiles } from '../experiments/experiments.ts';

/** Committed random-init test networks (test/fixtures), used when no real weights are installed. */
export const TEST_NETWORKS = Object.freeze({
  lpipsVgg: join(REPO_ROOT, 'test/fixtures/lpips/vgg-narrow.onnx'),
  arcface: join(REPO_ROOT, 'test/fixtures/ids/r50-narrow.onnx'),
  fidInception: join(REPO_ROOT, 'test/fixtures/fid/fid-inception-narrow.onnx'),
  refldmTiny: join(REPO_ROOT, 'test/fixtures/refldm-tiny'),
});

/**
 * Samples per level in the demo (every restorer, the same ones): enough for paired statistics (the exact Wilcoxon
 * test, bootstrap CIs) while the eight ReF-LDM-tiny runs keep `npm run demo` within a few minutes on 2 cores.
 */
export const DEMO_LIMIT = 4;

export interface DemoOptions {
  readonly resultsDir: string;
  /**
   * Samples per level, the same first `limit` samples for every restorer, so every demo run is comparable with
   * every other run of its level (same sample ids, same inputs).
   */
  readonly limit: number;
  readonly refldmSteps: number;
  readonly levels: readonly ('severe' | 'moderate')[];
  readonly signal?: AbortSignal;
  readonly log: (msg: string) => void;
  /** The summary table: `compact` (fits 80 columns; the default) or `wide` (every column, with CIs). */
  readonly layout?: 'compact' | 'wide';
}

/**
 * FID reference statistics and KID reference features of the benchmark's HQ images through the test Inception
 * (cached next to the results; names follow clean-fid's `{dataset}_{mode}_{split}_{res}` scheme).
 */
async function referenceSets(root: string, resultsDir: string, log: (m: string) => void): Promise<{ stats: string; feats: string }> {
  const stats = cachePath(resultsDir, 'synthfaces-ref_clean_hq_512_fid-inception-narrow-test.npz');
  const feats = cachePath(resultsDir, 'synthfaces-ref_clean_hq_512_fid-inception-narrow-test_feats.npz');
  if (existsSync(stats) && existsSync(feats)) return { stats, feats };
  log('FID/KID reference: synthfaces-ref HQ images through the test Inception network...');
  const hqDir = join(root, 'images512x512');
  const files = readdirSync(hqDir).filter((f) => f.endsWith('.png')).sort();
  const extractor = await createFidExtractor({ mode: 'clean', modelPath: TEST_NETWORKS.fidInception }, 'demo');
  const images = await Promise.all(files.map((f) => readRgb(join(hqDir, f))));
  const { dim, data } = await extractor.extract(images, files);
  await extractor.dispose();
  await writeCacheFile(stats, (tmp) => writeGaussianStats(tmp, gaussianFromMoments(updateMoments(initMoments(dim), data, files.length)), { mode: 'clean' }));
  await writeCacheFile(feats, (tmp) => writeNpz(tmp, { feats: { shape: [files.length, dim], data: Float64Array.from(data) } }));
  return { stats, feats };
}

/** The metric list of every demo run (test networks labelled as such by the metrics themselves). */
function demoMetrics(ref: { stats: string; feats: string }, maskDir: string): RunSpecInput['metrics'] {
  return [
    'psnr',
    'ssim',
    { id: 'lpips-vgg', options: { onnx: TEST_NETWORKS.lpipsVgg } },
    { id: 'flpips-vgg', options: { onnx: TEST_NETWORKS.lpipsVgg, maskDir } },
    { id: 'ids-arcface-r50', options: { onnx: TEST_NETWORKS.arcface } },
    'niqe',
    { id: 'fid-clean', options: { modelPath: TEST_NETWORKS.fidInception, reference: ref.stats } },
    { id: 'kid-clean', options: { modelPath: TEST_NETWORKS.fidInception, referenceFeatures: ref.feats } },
  ];
}

/**
 * The demo's fusion bench: the four designs of ReF-LDM-tiny with the `refldm-tiny` profile's bench settings
 * (experiments/restorers.yaml `bench`: bundle config and DDIM steps), so that the paper report and the dashboard's
 * /paper page take its time and memory for that profile (experiments/fusion-results.ts `profileFusions`).
 */
export function demoFusionOptions(): Omit<FusionBenchOptions, 'resultsDir' | 'log'> {
  const bench = loadProfiles().get('refldm-tiny')?.bench;
  if (!bench) throw new Error('experiments/restorers.yaml: the refldm-tiny profile has no `bench` (the demo times the fusion designs with it)');
  return { config: bench.config, bundle: TEST_NETWORKS.refldmTiny, designs: ['cachekv', 'spatial', 'cross', 'channel'], refs: [1, 3, 5], steps: bench.steps, repeat: 1, device: 'cpu', cfg: 1.5 };
}

/** Runs the whole demo; returns the run directories it produced (or resumed). */
export async function runDemo(o: DemoOptions): Promise<{ runs: RunResult[]; fusionPath: string | null }> {
  const t0 = Date.now();
  const root = resolve(DEFAULT_SYNTHFACES_ROOT);
  o.log(`synthfaces-ref: ${root}`);
  const gen = await ensureSynthfaces(root);
  o.log(gen.generated ? '  generated the benchmark (44 faces of 8 synthetic identities, severe and moderate LQ)' : '  already present (sha256-checked)');
  const metrics = demoMetrics(await referenceSets(root, o.resultsDir, o.log), synthfacesMaskDir(root));

  const specs: RunSpecInput[] = [];
  for (const level of o.levels) {
    // NOTE: lq and classical cost little per image, but they run on the same samples as ReF-LDM: a leaderboard or a
    // paired comparison over different samples would compare different images.
    const dataset = { adapter: 'synthfaces-ref', options: { level }, limit: o.limit };
    specs.push({ name: `demo-${level}-lq`, dataset, restorer: { id: 'lq' }, metrics, tags: ['demo', 'floor'] });
    specs.push({ name: `demo-${level}-classical`, dataset, restorer: { id: 'classical' }, metrics, tags: ['demo', 'baseline'] });
    for (const refs of [0, 1, 3, 5]) {
      specs.push({
        name: `demo-${level}-refldm-tiny-refs${refs}`,
        dataset,
        restorer: { id: 'ref-ldm', options: { bundle: TEST_NETWORKS.refldmTiny, steps: o.refldmSteps, maxRefs: refs, threads: 2 } },
        metrics,
        tags: ['demo', 'ref-ldm', `refs:${refs}`],
      });
    }
  }
  const runs: RunResult[] = [];
  for (const [i, spec] of specs.entries()) {
    if (o.signal?.aborted) break;
    o.log(`[${i + 1}/${specs.length}] ${spec.name}`);
    const r = await runSpec(spec, { resultsDir: o.resultsDir, signal: o.signal, progress: 'lines' });
    runs.push(r);
    if (r.aborted) break;
  }

  let fusionPath: string | null = null;
  if (!o.signal?.aborted) {
    o.log('fusion designs on ReF-LDM-tiny (untrained random-init weights; weights do not change the cost)...');
    const fusion = await runFusionBench({ ...demoFusionOptions(), resultsDir: o.resultsDir, log: () => {} });
    fusionPath = fusion.path;
    o.log(formatFusionTables(fusion));
  }

  const table = await report(
    runs.map((r) => r.runDir),
    'md',
    { layout: o.layout ?? 'compact' },
  );
  o.log(table);
  o.log(`demo finished in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return { runs, fusionPath };
}
