/**
 * @file Throughput of the TS LPIPS-VGG and IDS metrics (onnxruntime-node, batched, graph optimisation 'all') vs
 * the Python reference (torch: the lpips package pipeline / ReF-LDM IdentityLoss convention) on the same
 * full-size random-init weights (VGG16 trunk + the real LPIPS v0.1 linear weights; iresnet50) and the same
 * 512×512 images. Timing only: the weights are untrained.
 *
 * Rounds interleave (bench/rounds.ts): each round times one pass of ours and one of the reference (a long-lived
 * Python subprocess timing on request) back to back; the ratio is reported as the median and range over rounds.
 *
 *   npx tsx bench/metrics-lpips-ids.ts [--rounds 5] [--repeat 1] [--batch 2] [--threads 0]
 *
 * The first run exports the ONNX files into .cache/bench-lpips-ids/ with python/.venv (≈ 230 MB).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Metric, MetricItem } from '../src/lib/eval/metrics/metric.ts';
import { readRgb } from '../src/lib/server/image/io.ts';
import { createIds } from '../src/lib/server/metrics/ids.ts';
import { createLpips } from '../src/lib/server/metrics/lpips.ts';
import { fmtStats, interleavedRounds, loadNote, ratios, stats } from './rounds.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const rounds = arg('rounds', 5);
const repeat = arg('repeat', 1);
const batch = arg('batch', 2);
const threads = arg('threads', 0);
const OUT = '.cache/bench-lpips-ids';
const FIX = 'test/fixtures/lpips/images';
const ids = ['s0', 's1', 's2', 's3', 's4']; // 512×512 pairs (s5's prediction is 256²)

const child = spawn(
  resolve('python/.venv/bin/python'),
  ['-m', 'refbench_metrics.lpips.torch_timing', '--out', `../${OUT}`, '--repeat', String(repeat), '--pairs', ids.map((id) => `../${FIX}/gt/${id}.png:../${FIX}/pred/${id}.png`).join(',')],
  { cwd: 'python', stdio: ['pipe', 'pipe', 'inherit'] },
);
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
async function reply<T>(): Promise<T> {
  const r = await lines.next();
  if (r.done) throw new Error('python bench subprocess exited early (see stderr above)');
  return JSON.parse(r.value) as T;
}
const ready = await reply<{ threads: number }>();
async function pyPass(name: 'lpips_vgg' | 'ids'): Promise<{ images_per_s: number; values: number[] }> {
  child.stdin.write(`${name}\n`);
  return reply();
}

const items: MetricItem[] = [];
for (let r = 0; r < repeat; r++) {
  for (const id of ids) items.push({ sampleId: `${id}#${r}`, pred: await readRgb(`${FIX}/pred/${id}.png`), gt: await readRgb(`${FIX}/gt/${id}.png`) });
}

async function bench(name: string, make: () => Promise<Metric<any>>, pyName: 'lpips_vgg' | 'ids'): Promise<void> {
  const m = await make();
  await m.update(m.init(), items.slice(0, 1)); // warm-up (session init, first-run allocations)
  let lastOurs: Record<string, number> = {};
  let lastPy: { images_per_s: number; values: number[] } | undefined;
  const res = await interleavedRounds(rounds, {
    ours: async () => {
      const t0 = performance.now();
      const s = await m.update(m.init(), items);
      const ips = items.length / ((performance.now() - t0) / 1000);
      lastOurs = m.compute(s).perSample!;
      return ips;
    },
    ref: async () => {
      lastPy = await pyPass(pyName);
      return lastPy.images_per_s;
    },
  });
  // Same weights and images on both sides: the values must agree (a bench that measures different work is void).
  const maxDelta = Math.max(...ids.map((id, i) => Math.abs(lastOurs[`${id}#0`] - lastPy!.values[i])));
  const ratio = stats(ratios(res.ours, res.ref));
  console.log(
    `${name.padEnd(16)} TS ${fmtStats(stats(res.ours), 3, ' img/s')}   python ${fmtStats(stats(res.ref), 3, ' img/s')}   ratio ${fmtStats(ratio)}   max |Δ| ${maxDelta.toExponential(2)}`,
  );
  await m.dispose?.();
}

console.log(`${items.length} pairs at 512×512 per pass, torch threads ${ready.threads}, ORT threads ${threads || 'default'}, batch ${batch}`);
console.log(`median (min–max) of ${rounds} interleaved rounds; ${loadNote()} at start`);
await bench('lpips-vgg', () => createLpips('vgg', { onnx: `${OUT}/lpips-vgg.onnx`, batchPairs: batch, threads }), 'lpips_vgg');
await bench('ids-arcface-r50', () => createIds({ onnx: `${OUT}/r50.onnx`, batchSize: 2 * batch, threads }), 'ids');
console.log(`${loadNote()} at end`);
child.stdin.end();
