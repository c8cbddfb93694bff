/**
 * @file The dashboard at real size (issue 8, "Fast at real size"): generates a results folder of 2,533 samples ×
 * 20 runs (fake but schema-valid: run.json from a real one-sample run, every sample line and summary.json written
 * through the store's writers, a folder dataset of 512² inputs) and prints the server time, warm, of the runs
 * index, a run page, a compare page and the image browser. Target: under 300 ms each on the 2-core machine.
 *
 * NOTE: what is timed is the read model's page methods (`readModel().leaderboard()`, `.run()`, `.compare()`,
 * `.browse()`), which is what each route's `load` calls; the HTTP layer and rendering are not included.
 *
 *   npx tsx bench/dashboard-scale.ts [--samples 2533] [--runs 20] [--rounds 5] [--keep DIR]
 *
 * `--keep DIR` generates into DIR and keeps it; a later call with the same DIR (and sizes) measures again without
 * regenerating (generation takes minutes: 50,000 sample lines, each appended and fsynced by the store).
 */
import { mulberry32 } from '../src/lib/eval/stats/rng.ts';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readModel } from '../src/lib/server/dashboard/read-model.ts';
import { encodePng } from '../src/lib/server/image/io.ts';
import { listRunIds, RunStore, runsRoot, sha256Hex } from '../src/lib/server/results/store.ts';
import { runSpec } from '../src/lib/server/runner/evaluate.ts';
import { buildSummary } from '../src/lib/server/runner/summary.ts';
import { stats } from './rounds.ts';

const { values: o } = parseArgs({
  options: { samples: { type: 'string', default: '2533' }, runs: { type: 'string', default: '20' }, rounds: { type: 'string', default: '5' }, keep: { type: 'string' } },
});
const N = Number(o.samples);
const RUNS = Number(o.runs);
const ROUNDS = Number(o.rounds);
const TARGET_MS = 300;

async function generate(root: string): Promise<string[]> {
  const t0 = performance.now();
  // A folder dataset: N samples, each with a 512² LQ, GT and one reference (copies of one flat image: the pages
  // list and hash nothing of their content; the adapter checks the sizes from the headers).
  const ds = join(root, 'ds');
  for (const d of ['lq', 'gt', 'refs']) mkdirSync(join(ds, d), { recursive: true });
  const png = join(root, 'flat.png');
  writeFileSync(png, await encodePng({ width: 512, height: 512, data: new Uint8Array(512 * 512 * 3).fill(128) }));
  const ids = Array.from({ length: N }, (_, i) => `img${String(i).padStart(5, '0')}`);
  for (const id of ids) {
    copyFileSync(png, join(ds, 'lq', `${id}.png`));
    copyFileSync(png, join(ds, 'gt', `${id}.png`));
    mkdirSync(join(ds, 'refs', id));
    copyFileSync(png, join(ds, 'refs', id, '0.png'));
  }
  // run.json as the runner writes it, from a real one-sample run over that dataset.
  const results = join(root, 'results');
  const tmpl = await runSpec(
    { name: 'template', dataset: { adapter: 'folder', options: { root: ds }, limit: 1 }, restorer: { id: 'lq' }, metrics: ['psnr', 'ssim'], outputs: { saveImages: false } },
    { resultsDir: join(root, 'template'), quiet: true },
  );
  const template = new RunStore(tmpl.runDir).readRunJson();
  const runIds: string[] = [];
  for (let r = 0; r < RUNS; r++) {
    const runId = `scale-${String(r).padStart(2, '0')}-${sha256Hex(`scale ${r}`).slice(0, 10)}`;
    const store = RunStore.create(join(runsRoot(results), runId));
    const run = {
      ...template,
      runId,
      createdAt: new Date(Date.UTC(2026, 11, 1, 0, r)).toISOString(),
      specHash: sha256Hex(runId),
      restorer: { ...template.restorer, settings: { ...template.restorer.settings, steps: 10 + r } },
      dataset: { ...template.dataset, size: N, available: N, limited: false, hash: sha256Hex(`dataset ${N}`) },
    };
    store.writeRunJson(run);
    const rand = mulberry32(r + 1);
    ids.forEach((sampleId, seq) => {
      const bad = rand() < 0.002;
      store.appendSample({
        seq,
        sampleId,
        status: bad ? 'error' : 'ok',
        ...(bad ? { error: 'restorer lq on <file>: synthetic failure' } : {}),
        inputHash: sha256Hex(sampleId),
        metrics: bad ? {} : { 'time-ms': 50 + 10 * rand(), psnr: 20 + r * 0.1 + 4 * rand(), ssim: 0.5 + 0.3 * rand() },
        timingsMs: { total: 60 },
        numRefs: 1,
        finishedAt: run.createdAt,
      });
    });
    store.writeSummary(buildSummary(store, run));
    runIds.push(runId);
  }
  console.log(`generated ${RUNS} runs × ${N} samples in ${((performance.now() - t0) / 1000).toFixed(1)} s under ${results}`);
  return runIds;
}

async function time(label: string, f: () => Promise<unknown> | unknown): Promise<{ label: string; cold: number; ms: ReturnType<typeof stats> }> {
  const t0 = performance.now();
  await f(); // cold: first parse, DuckDB start, dataset listing
  const cold = performance.now() - t0;
  const ms: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  return { label, cold, ms: stats(ms) };
}

/**
 * A page while a run is being written: before every round one run's samples.jsonl gets a new mtime (its stamp
 * changes, as when a line is appended), so the caches keyed by that run's files are invalid. Median of ROUNDS.
 */
async function timeWhileWriting(label: string, runDir: string, f: () => Promise<unknown> | unknown): Promise<{ label: string; cold: number; ms: ReturnType<typeof stats> }> {
  await f(); // warm first: only the touched run changes below
  const ms: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const at = new Date(Date.now() + (i + 1) * 1000);
    utimesSync(new RunStore(runDir).samplesPath, at, at);
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  return { label, cold: Number.NaN, ms: stats(ms) };
}

const root = o.keep ?? mkdtempSync(join(tmpdir(), 'refbench-dash-scale-'));
try {
  const existing = existsSync(join(root, 'results')) ? listRunIds(join(root, 'results')) : [];
  const reuse = existing.length === RUNS && new RunStore(join(runsRoot(join(root, 'results')), existing[0])).readRunJson().dataset.size === N;
  if (existing.length && !reuse) throw new Error(`${root} holds another results folder (${existing.length} runs); give an empty --keep folder`);
  if (reuse) console.log(`reusing ${RUNS} runs × ${N} samples under ${join(root, 'results')}`);
  const ids = reuse ? existing : await generate(root);
  const results = join(root, 'results');
  process.env.REFBENCH_RESULTS_DIR = results;
  const three = ids.slice(0, 3);
  const rows = [
    await time('index (leaderboard: every run, shared samples, DuckDB aggregates + CIs)', () => readModel(results).leaderboard()),
    await time('run page (runDetail: one run, every sample)', () => readModel(results).run(ids[Math.min(5, ids.length - 1)])),
    await time('compare page (compare: 3 runs, paired stats of every metric, psnr plots)', () => readModel(results).compare({ runs: three, metric: 'psnr' })),
    await time('image browser (browse: 3 runs, Δ psnr, worst 50)', () => readModel(results).browse(new URLSearchParams({ runs: three.join(','), metric: 'psnr', sort: 'delta', n: '50' }))),
    await timeWhileWriting('index while one run is written (its samples.jsonl touched)', join(runsRoot(results), ids[ids.length - 1]), () => readModel(results).leaderboard()),
  ];
  console.log(`\nserver time, warm, median of ${ROUNDS} (min–max), ${N} samples × ${RUNS} runs; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const r of rows) {
    const ok = r.ms.median < TARGET_MS;
    console.log(`${r.label.padEnd(52)} ${r.ms.median.toFixed(0).padStart(6)} ms  (${r.ms.min.toFixed(0)}–${r.ms.max.toFixed(0)}; cold ${r.cold.toFixed(0)})  ${ok ? 'ok' : `MISSES the ${TARGET_MS} ms target`}`);
  }
} finally {
  if (!o.keep) rmSync(root, { recursive: true, force: true });
}
