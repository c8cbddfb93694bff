/**
 * @file Throughput of the TS LPIPS-VGG and IDS metrics (onnxruntime-node, batched, graph optimisation 'all') vs
 * the Python reference (torch: the lpips package pipeline / ReF-LDM IdentityLoss convention) on the same
 * full-size random-init weights (VGG16 trunk + the real LPIPS v0.1 linear weights; iresnet50) and the same
 * 512×512 images. Timing only: the weights are untrained.
 *
 *   npx tsx bench/metrics-lpips-ids.ts [--repeat 2] [--batch 2] [--threads 0]
 *
 * The first run exports the ONNX files into .cache/bench-lpips-ids/ with python/.venv (≈ 230 MB).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { createIds } from '../src/lib/server/metrics/ids.ts';
import { createLpips } from '../src/lib/server/metrics/lpips.ts';
import { readRgb } from '../src/lib/server/image/io.ts';
import type { MetricItem } from '../src/lib/eval/metrics/metric.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const repeat = arg('repeat', 1);
const batch = arg('batch', 2);
const threads = arg('threads', 0);
const OUT = '.cache/bench-lpips-ids';
const FIX = 'test/fixtures/lpips/images';
const ids = ['s0', 's1', 's2', 's3', 's4']; // 512×512 pairs (s5's prediction is 256²)

const py = JSON.parse(
  execFileSync(
    resolve('python/.venv/bin/python'),
    ['-m', 'refbench_metrics.lpips.bench', '--out', `../${OUT}`, '--repeat', String(repeat), '--pairs', ids.map((id) => `../${FIX}/gt/${id}.png:../${FIX}/pred/${id}.png`).join(',')],
    { cwd: 'python', encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  )
    .trim()
    .split('\n')
    .at(-1)!,
);

const items: MetricItem[] = [];
for (let r = 0; r < repeat; r++) {
  for (const id of ids) items.push({ sampleId: `${id}#${r}`, pred: await readRgb(`${FIX}/pred/${id}.png`), gt: await readRgb(`${FIX}/gt/${id}.png`) });
}

async function timeMetric(name: string, make: () => Promise<import('../src/lib/eval/metrics/metric.ts').Metric<any>>, pyRes: { images_per_s: number; values: number[] }) {
  const m = await make();
  await m.update(m.init(), items.slice(0, 1)); // warm-up (session init, first-run allocations)
  const t0 = performance.now();
  const s = await m.update(m.init(), items);
  const dt = (performance.now() - t0) / 1000;
  const r = m.compute(s);
  const ips = items.length / dt;
  const maxDelta = Math.max(...ids.map((id, i) => Math.abs(r.perSample![`${id}#0`] - pyRes.values[i])));
  console.log(
    `${name.padEnd(16)} TS ${ips.toFixed(3)} img/s   python ${pyRes.images_per_s.toFixed(3)} img/s   ratio ${(ips / pyRes.images_per_s).toFixed(2)}×   max |Δ| ${maxDelta.toExponential(2)}`,
  );
  await m.dispose?.();
}

console.log(`${items.length} pairs at 512×512, torch threads ${py.threads}, ORT threads ${threads || 'default'}, batch ${batch}`);
await timeMetric('lpips-vgg', () => createLpips('vgg', { onnx: `${OUT}/lpips-vgg.onnx`, batchPairs: batch, threads }), py.lpips_vgg);
await timeMetric('ids-arcface-r50', () => createIds({ onnx: `${OUT}/r50.onnx`, batchSize: 2 * batch, threads }), py.ids);
