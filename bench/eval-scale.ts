/**
 * @file Cost at benchmark scale: `refbench run` scoring N generated 512² outputs (default 857, the FFHQ-Ref test
 * set's size) with the paper's metric set (IDS, LPIPS-VGG, fLPIPS, FID, NIQE) on paper-size random-init networks,
 * against the ReF-LDM evaluation recipe (scripts/eval.py: pyiqa metrics one image at a time; our python/ reference
 * pipelines, python/refbench_metrics/eval_scale.py) on the same images and the same weights. Timing only: the
 * networks are untrained; the per-image values of both sides are compared so that both measure the same work.
 *
 * Ours is the whole `refbench run` (restorer `lq` over a folder whose LQ images are the outputs: decode, PNG
 * encode of the output, every metric, the store), with a cold GT/reference feature cache. Each round times ours and
 * the recipe back to back, first mover alternating (bench/rounds.ts); the ratio recipe/ours is per round, reported
 * as the median and range. Then one more run of ours on the same benchmark with the feature cache warm.
 *
 *   npx tsx bench/eval-scale.ts [--n 857] [--rounds 3] [--threads 0]
 *
 * The first run writes the images (.cache/bench-eval-scale/n<N>/) and exports the networks (.cache/bench-eval-scale/
 * nets/, ≈ 380 MB) with python/.venv.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { encodePng } from '../src/lib/server/image/io.ts';
import { writeGaussianStats } from '../src/lib/server/metrics/fid-stats.ts';
import { featureCacheStats } from '../src/lib/server/metrics/feature-cache.ts';
import { runSpec } from '../src/lib/server/runner/evaluate.ts';
import { RunStore } from '../src/lib/server/results/store.ts';
import { fmtStats, interleavedRounds, loadNote, ratios, stats } from './rounds.ts';

const arg = (k: string, d: number) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg('n', 857);
const ROUNDS = arg('rounds', 3);
const THREADS = arg('threads', 0);
const REPO = resolve(import.meta.dirname, '..');
const CACHE = join(REPO, '.cache/bench-eval-scale');
const NETS = join(CACHE, 'nets');
const DATA = join(CACHE, `n${N}`);
const REF_STATS = join(CACHE, 'ref-stats-2048.npz');

/** Deterministic xorshift32 in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/**
 * Writes N samples: a smooth random "face" (GT), a degraded copy as the output (noise and a shift: LPIPS, IDS and
 * NIQE see a real difference), and a label map with an elliptic face region (class 2, skin) for fLPIPS.
 */
async function writeImages(): Promise<void> {
  if (existsSync(join(DATA, 'done'))) return;
  for (const d of ['lq', 'gt', 'masks']) mkdirSync(join(DATA, d), { recursive: true });
  const S = 512;
  for (let i = 0; i < N; i++) {
    const r = rng(1000 + i);
    const waves = Array.from({ length: 6 }, () => ({ fx: r() * 0.05, fy: r() * 0.05, p: r() * 6.28, a: 20 + r() * 40, c: Math.floor(r() * 3) }));
    const gt = new Uint8Array(S * S * 3);
    const out = new Uint8Array(S * S * 3);
    const labels = new Uint8Array(S * S);
    const cx = 256 + (r() - 0.5) * 40;
    const cy = 256 + (r() - 0.5) * 40;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const inFace = ((x - cx) / 170) ** 2 + ((y - cy) / 210) ** 2 < 1;
        labels[y * S + x] = inFace ? 2 : 0;
        for (let c = 0; c < 3; c++) {
          let v = inFace ? 150 + 30 * c : 60;
          for (const w of waves) if (w.c === c || inFace) v += w.a * Math.sin(w.fx * x + w.fy * y + w.p);
          gt[(y * S + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v + (r() - 0.5) * 8)));
        }
      }
    }
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const sx = Math.min(S - 1, x + 1);
        for (let c = 0; c < 3; c++) out[(y * S + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(gt[(y * S + sx) * 3 + c] + (r() - 0.5) * 30)));
      }
    }
    const id = `img${String(i).padStart(5, '0')}.png`;
    writeFileSync(join(DATA, 'gt', id), await encodePng({ width: S, height: S, data: gt }));
    writeFileSync(join(DATA, 'lq', id), await encodePng({ width: S, height: S, data: out }));
    // A 1-channel label PNG (the label-map form fLPIPS and the recipe read).
    const sharp = (await import('sharp')).default;
    writeFileSync(join(DATA, 'masks', id), await sharp(Buffer.from(labels), { raw: { width: S, height: S, channels: 1 } }).toColourspace('b-w').png().toBuffer());
  }
  writeFileSync(join(DATA, 'done'), '');
}

async function refStats(): Promise<void> {
  if (existsSync(REF_STATS)) return;
  const d = 2048;
  const r = rng(7);
  const sigma = new Float64Array(d * d);
  for (let i = 0; i < d; i++) sigma[i * d + i] = 0.05 + r() * 0.05;
  await writeGaussianStats(REF_STATS, { dim: d, mu: Float64Array.from({ length: d }, () => r() * 0.5), sigma, n: 70000 });
}

mkdirSync(CACHE, { recursive: true });
console.log(`writing ${N} images into ${DATA} (once)…`);
await writeImages();
await refStats();

// The recipe: a long-lived subprocess (it exports the networks first) that evaluates the folder on request.
const child = spawn(join(REPO, 'python/.venv/bin/python'), ['-m', 'refbench_metrics.eval_scale', '--nets', NETS, '--data', DATA, '--ref-stats', REF_STATS], {
  cwd: join(REPO, 'python'),
  env: { ...process.env, PYTHONPATH: join(REPO, 'python') },
  stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
async function reply<T>(): Promise<T> {
  const r = await lines.next();
  if (r.done) throw new Error('python eval_scale subprocess exited early (see stderr above)');
  return JSON.parse(r.value) as T;
}
const ready = await reply<{ threads: number; images: number }>();
interface Recipe {
  seconds: number;
  ids: number[];
  lpips: number[];
  flpips: number[];
  niqe: number[];
  fid: number;
}

const net = { ...(THREADS ? { threads: THREADS } : {}) };
const spec = {
  name: 'eval-scale',
  dataset: { adapter: 'folder', options: { root: DATA } },
  restorer: { id: 'lq' },
  metrics: [
    { id: 'ids-arcface-r50', options: { onnx: join(NETS, 'r50.onnx'), ...net } },
    { id: 'lpips-vgg', options: { onnx: join(NETS, 'lpips-vgg.onnx'), ...net } },
    { id: 'flpips-vgg', options: { onnx: join(NETS, 'lpips-vgg.onnx'), maskDir: join(DATA, 'masks'), ...net } },
    { id: 'fid-clean', options: { modelPath: join(NETS, 'fid-inception.onnx'), reference: REF_STATS, ...net } },
    'niqe',
  ],
};
const scratch = mkdtempSync(join(tmpdir(), 'eval-scale-'));
let k = 0;
/** One `refbench run` of the spec into a fresh results folder, with the given feature cache; seconds and run dir. */
async function ours(cacheDir: string): Promise<{ seconds: number; runDir: string }> {
  process.env.REFBENCH_FEATURE_CACHE = cacheDir;
  const t0 = performance.now();
  const r = await runSpec(spec, { resultsDir: join(scratch, `r${k++}`), quiet: true });
  const seconds = (performance.now() - t0) / 1000;
  if (r.summary.samples.ok !== N) throw new Error(`ours: ${r.summary.samples.ok}/${N} ok (${r.runDir})`);
  return { seconds, runDir: r.runDir };
}

console.log(`${N} outputs at 512×512: ids-arcface-r50, lpips-vgg, flpips-vgg, fid-clean (2048-d), niqe; torch threads ${ready.threads}, ORT threads ${THREADS || 'default'}`);
console.log(`median (min–max) of ${ROUNDS} interleaved rounds; ${loadNote()} at start`);
let lastOurs = '';
let lastRecipe: Recipe | undefined;
const times = { ours: [] as number[], recipe: [] as number[] };
const res = await interleavedRounds(
  ROUNDS,
  {
    ours: async () => {
      const cold = join(scratch, `cache-cold-${k}`);
      const r = await ours(cold);
      rmSync(cold, { recursive: true, force: true });
      lastOurs = r.runDir;
      times.ours.push(r.seconds);
      return r.seconds;
    },
    recipe: async () => {
      child.stdin.write('eval\n');
      lastRecipe = await reply<Recipe>();
      times.recipe.push(lastRecipe.seconds);
      return lastRecipe.seconds;
    },
  },
  (r) => console.log(`  round ${r + 1}: ours ${times.ours[r].toFixed(1)} s, recipe ${times.recipe[r].toFixed(1)} s`),
);

// Warm: a second run on the same benchmark with the feature cache of a first one.
const warmDir = join(scratch, 'cache-warm');
await ours(warmDir);
const before = featureCacheStats();
const warm = await ours(warmDir);
const after = featureCacheStats();

// Same work on both sides: per-image values of the last round, and FID.
const store = new RunStore(lastOurs);
const ev = store.readEval().records.map((x) => x.value);
const ok = [...store.readSamples().latest.values()].sort((a, b) => a.sampleId.localeCompare(b.sampleId));
const delta = (id: string, py: number[]) => Math.max(...ok.map((l, i) => Math.abs(l.metrics[id] - py[i])));
const fidOurs = ev.find((e) => !('sampleId' in e) && e.metric === 'fid-clean') as { value: number } | undefined;
const rec = lastRecipe!;
console.log(`ours (refbench run, cold cache) ${fmtStats(stats(res.ours), 1, ' s')}   recipe ${fmtStats(stats(res.recipe), 1, ' s')}`);
console.log(`ratio recipe/ours ${fmtStats(stats(ratios(res.recipe, res.ours)))}`);
console.log(
  `second run, feature cache warm: ${warm.seconds.toFixed(1)} s (${(after.hits - before.hits)} GT embeddings reused, ${after.computed - before.computed} computed); ` +
    `${(N / warm.seconds).toFixed(2)} img/s`,
);
console.log(
  `max |Δ| ours vs recipe: ids ${delta('ids-arcface-r50', rec.ids).toExponential(2)}, lpips ${delta('lpips-vgg', rec.lpips).toExponential(2)}, ` +
    `flpips ${delta('flpips-vgg', rec.flpips).toExponential(2)}, niqe ${delta('niqe', rec.niqe).toExponential(2)}; ` +
    `fid ${fidOurs?.value.toFixed(4)} vs ${rec.fid.toFixed(4)} (rel ${fidOurs ? (Math.abs(fidOurs.value - rec.fid) / rec.fid).toExponential(2) : 'n/a'})`,
);
console.log(`${loadNote()} at end`);
child.stdin.end();
rmSync(scratch, { recursive: true, force: true });
