/**
 * @file Full vs query-chunked attention (docs/bundle.md, "Attention form") on the same weights: peak memory and
 * time per image, before (full) and after (query-chunked), per fusion design and reference count.
 *
 *   npx tsx bench/attention-form.ts --full DIR --chunked DIR [--designs cachekv,spatial,cross,channel]
 *       [--refs 1,3,5] [--steps 4] [--time-designs cachekv] [--rounds 3] [--threads 2] [--no-memory] [--no-time]
 *
 * Make the two bundles from the same seed (the full one is the form bundles had before the query-chunked one):
 *   python/.venv/bin/python -m refbench_export bundle --config tiny --random-init 0 \
 *       --designs cachekv,spatial,cross,channel --attention full --out .cache/attn-full
 *   (test/fixtures/refldm-tiny is the query-chunked tiny bundle)
 *
 * Memory: `refbench bench fusion`'s protocol (src/lib/server/timing/fusion.ts): one child process per bundle and
 * design, reference counts in increasing order, peak RSS reset before each count; the figure is the peak minus
 * the RSS after loading the sessions (onnxruntime's arena keeps what smaller counts allocated: included). Memory
 * does not depend on machine load. Time: both bundles loaded in this one process, one warm-up image each, then
 * `--rounds` rounds of [full image, chunked image] with the first mover alternating (bench/rounds.ts); the ratio
 * chunked/full is the median (range) of the per-round ratios of wall time and of process CPU time. NOTE: both
 * samplers share this process, so at 5 references the full form's ~6 GB (tiny) comes on top of the chunked one's.
 * Weights are untrained (timing only). Results: .cache/bench/attention-form.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { attentionForm, loadBundleJson, type Bundle } from '../src/lib/server/restorers/ref-ldm/bundle.ts';
import { RefLdmSampler } from '../src/lib/server/restorers/ref-ldm/sampler.ts';
import type { DesignId } from '../src/lib/server/restorers/ref-ldm/designs.ts';
import { runFusionBench, type FusionRow } from '../src/lib/server/timing/fusion.ts';
import { gaussianNoise } from '../src/lib/eval/refldm/noise.ts';
import type { RgbImage } from '../src/lib/eval/types.ts';
import { fmtStats, interleavedRounds, loadNote, ratios, stats } from './rounds.ts';

const { values: a } = parseArgs({
  options: {
    full: { type: 'string' },
    chunked: { type: 'string', default: 'test/fixtures/refldm-tiny' },
    designs: { type: 'string', default: 'cachekv,spatial,cross,channel' },
    refs: { type: 'string', default: '1,3,5' },
    steps: { type: 'string', default: '4' },
    'time-designs': { type: 'string', default: 'cachekv' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    'no-memory': { type: 'boolean', default: false },
    'no-time': { type: 'boolean', default: false },
  },
});
if (!a.full) throw new Error('--full DIR: a bundle exported with --attention full (see the header of bench/attention-form.ts)');
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const nums = (s: string) => list(s).map(Number);
const steps = Number(a.steps);
const threads = Number(a.threads);
const refsList = nums(a.refs!);
const designs = list(a.designs!) as DesignId[];

const full = await loadBundleJson(resolve(a.full));
const chunked = await loadBundleJson(resolve(a.chunked!));
if (attentionForm(full).form !== 'full') throw new Error(`${full.dir}: attention form is ${attentionForm(full).form}, expected full`);
if (attentionForm(chunked).form !== 'query-chunked') throw new Error(`${chunked.dir}: attention form is ${attentionForm(chunked).form}, expected query-chunked`);
for (const k of ['weights', 'config'] as const) {
  if (JSON.stringify(full.json[k]) !== JSON.stringify(chunked.json[k])) throw new Error(`the two bundles differ in ${k}: compare the same weights`);
}
const log = (s: string) => process.stdout.write(`${s}\n`);
const MB = 2 ** 20;
const out: Record<string, unknown> = { full: full.dir, chunked: chunked.dir, steps, threads, config: full.json.config, createdAt: new Date().toISOString() };

if (!a['no-memory']) {
  log(`memory (${loadNote()}) …`);
  const tmp = resolve('.cache/bench/attention-form-runs');
  const side = async (b: Bundle) =>
    (await runFusionBench({ config: full.json.config as 'tiny' | 'paper', bundle: b.dir, designs, refs: refsList, steps, repeat: 1, device: 'cpu', threads, cfg: 1.5, resultsDir: tmp, log })).rows;
  const before = await side(full);
  const after = await side(chunked);
  const at = (rows: FusionRow[], d: DesignId, n: number) => rows.find((r) => r.design === d && r.refs === n);
  log('');
  log(`Peak RSS growth (MiB; ${full.json.config}, ${steps} DDIM steps, CFG 1.5, ${threads} threads): full → query-chunked (ratio)`);
  log(['design'.padEnd(10), ...refsList.map((n) => `${n} ref${n > 1 ? 's' : ''}`.padStart(24))].join(''));
  const mem: Record<string, unknown>[] = [];
  for (const d of designs) {
    const cells = refsList.map((n) => {
      const b = at(before, d, n);
      const c = at(after, d, n);
      mem.push({ design: d, refs: n, fullBytes: b?.peakRssDeltaBytes ?? null, chunkedBytes: c?.peakRssDeltaBytes ?? null, fullError: b?.error, chunkedError: c?.error });
      if (!b?.peakRssDeltaBytes || !c?.peakRssDeltaBytes) return (b?.error || c?.error ? 'error' : '—').padStart(24);
      return `${(b.peakRssDeltaBytes / MB).toFixed(0)} → ${(c.peakRssDeltaBytes / MB).toFixed(0)} (${(c.peakRssDeltaBytes / b.peakRssDeltaBytes).toFixed(2)})`.padStart(24);
    });
    log([d.padEnd(10), ...cells].join(''));
  }
  out.memory = mem;
}

function synth(size: number, seed: number): RgbImage {
  const n = gaussianNoise(size * size * 3, seed);
  return { width: size, height: size, data: Uint8Array.from(n, (v) => Math.max(0, Math.min(255, Math.round(128 + 40 * v)))) };
}

if (!a['no-time']) {
  const rounds = Number(a.rounds);
  const time: Record<string, unknown>[] = [];
  log('');
  log(`time per image, query-chunked / full, median (range) of ${rounds} interleaved rounds (${loadNote()} at start)`);
  for (const d of list(a['time-designs']!) as DesignId[]) {
    const settings = { design: d, steps, schedule: 'uniform' as const, cfg: 1.5, maxRefs: Math.max(...refsList), zeroRefs: 5, quantise: 'trunc' as const, device: 'cpu' as const, threads, verifyHashes: false };
    const sF = await RefLdmSampler.create(full, settings);
    const sC = await RefLdmSampler.create(chunked, settings);
    try {
      const lq = synth(sF.imageSize, 1);
      const xT = gaussianNoise(sF.latent.channels * sF.latent.size ** 2, 2024);
      for (const n of refsList) {
        const refs = Array.from({ length: n }, (_, i) => synth(sF.imageSize, 10 + i));
        await sF.sample(lq, refs, xT); // warm-up at this count (arena growth, first-run costs)
        await sC.sample(lq, refs, xT);
        const cpu: Record<'full' | 'chunked', number[]> = { full: [], chunked: [] };
        const timed = (s: RefLdmSampler, k: 'full' | 'chunked') => async () => {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          await s.sample(lq, refs, xT);
          const c = process.cpuUsage(c0);
          cpu[k].push((c.user + c.system) / 1e6);
          return (performance.now() - t0) / 1000;
        };
        const wall = await interleavedRounds(rounds, { full: timed(sF, 'full'), chunked: timed(sC, 'chunked') });
        const rw = stats(ratios(wall.chunked, wall.full));
        const rc = stats(ratios(cpu.chunked, cpu.full));
        time.push({ design: d, refs: n, wallFullS: wall.full, wallChunkedS: wall.chunked, cpuFullS: cpu.full, cpuChunkedS: cpu.chunked, wallRatio: rw, cpuRatio: rc });
        log(`${d.padEnd(10)} ${String(n).padStart(2)} refs: full ${stats(wall.full).median.toFixed(2)} s, chunked ${stats(wall.chunked).median.toFixed(2)} s; wall ${fmtStats(rw)}, CPU ${fmtStats(rc)} (${loadNote()})`);
      }
    } finally {
      await sF.release();
      await sC.release();
    }
  }
  out.time = time;
}

mkdirSync(resolve('.cache/bench'), { recursive: true });
writeFileSync(join(resolve('.cache/bench'), 'attention-form.json'), JSON.stringify(out, null, 1));
log('written: .cache/bench/attention-form.json');
