/**
 * @file Time per image of our TypeScript + onnxruntime ReF-LDM sampler vs the Python PyTorch reference sampler
 * (python/refbench_model/sampler.py) on the same weights (seed-0 random init) and the same inputs
 * (test/fixtures/refldm-tiny: lq.png, ref0..2.png, x_T.f32), CacheKV, CFG 1.5, the same thread count on both
 * sides. One run prints every case: tiny (10 steps, 1 and 3 refs) and paper (4 steps, 1 ref).
 *
 *   npx tsx bench/refldm-speed.ts [--steps 10] [--refs 1,3] [--repeat 3] [--threads 2]
 *                                 [--no-paper] [--paper-steps 4] [--paper-refs 1] [--paper-bundle DIR]
 *
 * Measurement (why it is built this way: the machine is shared, and timing the two sides one after the other
 * let a load change between them decide the ratio — that is how an earlier run read 0.52× on the paper config):
 * - both sides load their models once and stay loaded: the PyTorch sampler runs in ONE persistent Python child
 *   that serves requests over stdin/stdout;
 * - one warm-up image each, then `--repeat` rounds of [TS image, PyTorch image] back to back, the first mover
 *   alternating (bench/rounds.ts); the reported ratio is the median and range of the per-round ratios (wall
 *   clock), plus the ratio of CPU seconds (process user+sys, all threads), which load from other processes
 *   disturbs much less;
 * - the per-stage breakdown (encode incl. the reference strip, reference pass, DDIM steps, decode) is the median
 *   over the timed rounds, for both sides.
 * The paper bundle (CacheKV graphs) is exported into .cache/refldm-paper on first use (~45 s, ~1.1 GB).
 * Weights are untrained: timing only. Results: .cache/bench/refldm-speed.json.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import { loadBundleJson } from '../src/lib/server/restorers/ref-ldm/bundle.ts';
import { RefLdmSampler } from '../src/lib/server/restorers/ref-ldm/sampler.ts';
import { readRgb } from '../src/lib/server/image/io.ts';
import { readF32 } from '../src/lib/server/restorers/ref-ldm/common.ts';
import type { RgbImage } from '../src/lib/eval/types.ts';
import { fmtStats, interleavedRounds, loadNote, ratios, stats } from './rounds.ts';

const ROOT = resolve(import.meta.dirname, '..');
const PY = join(ROOT, 'python/.venv/bin/python');
const FIX = join(ROOT, 'test/fixtures/refldm-tiny');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const STEPS = Number(arg('steps', '10'));
const REFS = arg('refs', '1,3').split(',').map(Number);
const REPEAT = Number(arg('repeat', '5'));
const THREADS = Number(arg('threads', '2'));
const PAPER = !process.argv.includes('--no-paper');
const PAPER_STEPS = Number(arg('paper-steps', '4'));
const PAPER_REFS = arg('paper-refs', '1').split(',').map(Number);
const PAPER_DIR = resolve(arg('paper-bundle', join(ROOT, '.cache/refldm-paper')));
const median = (a: number[]) => stats(a).median;
const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

/** One image's cost on one side. */
interface Sample {
  wallMs: number;
  cpuMs: number;
  stages: { encode: number; refPass: number; steps: number; decode: number; other: number };
}

// The Python side: a persistent server. Requests: JSON lines {"steps": n, "refs": k}; replies: "PY_RESULT {...}".
const PY_SERVER = `
import json, sys, time, numpy as np, torch
sys.path.insert(0, ${JSON.stringify(join(ROOT, 'python'))})
from PIL import Image
from refbench_model.build import build_random
from refbench_model.sampler import TorchBackend, sample
cfg, threads, fix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(threads)
torch.set_num_interop_threads(1)
t0 = time.perf_counter()
vae, unets = build_random(cfg, 0, ("cachekv",))
be = TorchBackend(vae, unets)
rd = lambda p: np.asarray(Image.open(p).convert("RGB"))
lq = rd(fix + "/lq.png"); refs = [rd(fix + f"/ref{i}.png") for i in range(3)]
xt = np.fromfile(fix + "/x_T.f32", dtype="<f4").reshape(1, 8, 64, 64)
print("PY_READY " + json.dumps({"loadMs": (time.perf_counter() - t0) * 1000, "threads": torch.get_num_threads(),
      "interop": torch.get_num_interop_threads(), "torch": torch.__version__}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    c0, w0 = time.process_time(), time.perf_counter()
    r = sample(be, lq, refs[: req["refs"]], xt, steps=req["steps"], cfg=1.5)
    wall, cpu = (time.perf_counter() - w0) * 1000, (time.process_time() - c0) * 1000
    print("PY_RESULT " + json.dumps({"wallMs": wall, "cpuMs": cpu, "timings": r.timings_ms}), flush=True)
`;

class PyServer {
  private lines: AsyncIterator<string>;
  private proc;
  constructor(config: string) {
    this.proc = spawn(PY, ['-c', PY_SERVER, config, String(THREADS), FIX], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  async next(prefix: string): Promise<Record<string, unknown>> {
    for (;;) {
      const r = await this.lines.next();
      if (r.done) throw new Error(`python sampler exited before printing ${prefix}`);
      if (r.value.startsWith(`${prefix} `)) return JSON.parse(r.value.slice(prefix.length + 1));
    }
  }
  async sample(steps: number, refs: number): Promise<Sample> {
    this.proc.stdin.write(`${JSON.stringify({ steps, refs })}\n`);
    const r = (await this.next('PY_RESULT')) as { wallMs: number; cpuMs: number; timings: Record<string, number | number[]> };
    const t = r.timings;
    const stages = { encode: t.encodeMs as number, refPass: t.refPassMs as number, steps: sum(t.stepsMs as number[]), decode: t.decodeMs as number, other: 0 };
    stages.other = r.wallMs - stages.encode - stages.refPass - stages.steps - stages.decode;
    return { wallMs: r.wallMs, cpuMs: r.cpuMs, stages };
  }
  close(): void {
    this.proc.stdin.end();
  }
}

async function tsSampler(bundleDir: string, steps: number): Promise<RefLdmSampler> {
  const bundle = await loadBundleJson(bundleDir);
  return RefLdmSampler.create(bundle, {
    design: 'cachekv', steps, schedule: 'uniform', cfg: 1.5, maxRefs: 5, zeroRefs: 5, quantise: 'trunc', device: 'cpu', threads: THREADS, verifyHashes: false,
  });
}

async function tsSample(s: RefLdmSampler, lq: RgbImage, refs: RgbImage[], xT: Float32Array): Promise<Sample> {
  const c0 = process.cpuUsage();
  const r = await s.sample(lq, refs, xT);
  const c = process.cpuUsage(c0);
  const t = r.timings;
  const stages = { encode: t.encode, refPass: t.refPass, steps: sum(t.steps), decode: t.decode, other: 0 };
  stages.other = t.total - stages.encode - stages.refPass - stages.steps - stages.decode;
  return { wallMs: t.total, cpuMs: (c.user + c.system) / 1000, stages };
}

function ensurePaperBundle(dir: string): void {
  if (existsSync(join(dir, 'bundle.json'))) return;
  mkdirSync(dir, { recursive: true });
  console.error(`exporting a paper-size random-init bundle (CacheKV graphs) into ${dir} …`);
  execFileSync(PY, ['-m', 'refbench_export', 'bundle', '--config', 'paper', '--random-init', '0', '--designs', 'cachekv', '--out', dir], { stdio: 'inherit', cwd: join(ROOT, 'python') });
}

const s1 = (ms: number) => (ms / 1000).toFixed(2);
const rows: Record<string, unknown>[] = [];

async function compare(config: string, bundleDir: string, steps: number, refsList: number[]): Promise<void> {
  const py = new PyServer(config);
  const ready = (await py.next('PY_READY')) as { loadMs: number; threads: number; interop: number; torch: string };
  const s = await tsSampler(bundleDir, steps);
  const lq = await readRgb(join(FIX, 'lq.png'));
  const allRefs = await Promise.all([0, 1, 2].map((i) => readRgb(join(FIX, `ref${i}.png`))));
  const xT = await readF32(join(FIX, 'x_T.f32'), 8 * 64 * 64);
  try {
    for (const nRefs of refsList) {
      const refs = allRefs.slice(0, nRefs);
      await tsSample(s, lq, refs, xT); // warm-up
      await py.sample(steps, nRefs);
      const ts: Sample[] = [];
      const pt: Sample[] = [];
      const loadStart = loadNote();
      const walls = await interleavedRounds(REPEAT, {
        ts: async () => (ts.push(await tsSample(s, lq, refs, xT)), ts[ts.length - 1].wallMs),
        py: async () => (pt.push(await py.sample(steps, nRefs)), pt[pt.length - 1].wallMs),
      });
      const ratioStats = stats(ratios(walls.py, walls.ts));
      const ratio = ratioStats.median;
      const cpuRatio = median(pt.map((p) => p.cpuMs)) / median(ts.map((t) => t.cpuMs));
      const stages = (a: Sample[]) => Object.fromEntries(Object.keys(a[0].stages).map((k) => [k, median(a.map((x) => x.stages[k as keyof Sample['stages']]))]));
      const tsSt = stages(ts);
      const pySt = stages(pt);
      rows.push({
        config, steps, stepsRun: s.tables.timesteps.length, refs: nRefs, threads: { ts: THREADS, torch: ready.threads, torchInterop: ready.interop },
        tsMs: median(ts.map((x) => x.wallMs)), pyMs: median(pt.map((x) => x.wallMs)), speedup: ratio, speedupMin: ratioStats.min, speedupMax: ratioStats.max, cpuSpeedup: cpuRatio,
        tsStagesMs: tsSt, pyStagesMs: pySt, tsLoadMs: s.loadMs, pyLoadMs: ready.loadMs, ts, py: pt, torch: ready.torch,
      });
      console.log(
        `${config.padEnd(6)} ${String(steps).padStart(3)} steps ${nRefs} ref${nRefs === 1 ? ' ' : 's'}: TS+ORT ${s1(median(ts.map((x) => x.wallMs)))} s, ` +
          `PyTorch ${s1(median(pt.map((x) => x.wallMs)))} s per image → ${fmtStats(ratioStats)} wall, ${cpuRatio.toFixed(2)}× CPU ` +
          `(threads: ORT ${THREADS} intra / 1 inter, torch ${ready.threads} / ${ready.interop}; median (min–max) of ${REPEAT} interleaved rounds; ${loadStart} → ${loadNote()})`,
      );
      for (const [name, st] of [['TS+ORT ', tsSt], ['PyTorch', pySt]] as const) {
        console.log(`         ${name} stages s: ` + Object.entries(st).map(([k, v]) => `${k} ${s1(v)}`).join(', '));
      }
    }
  } finally {
    py.close();
    await s.release();
  }
}

console.log('ReF-LDM time per image, CFG 1.5, CacheKV — untrained random-init weights (timing only); ratio = PyTorch / TS');
await compare('tiny', FIX, STEPS, REFS);
if (PAPER) {
  ensurePaperBundle(PAPER_DIR);
  await compare('paper', PAPER_DIR, PAPER_STEPS, PAPER_REFS);
}
const outDir = join(ROOT, '.cache/bench');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'refldm-speed.json'), JSON.stringify({ createdAt: new Date().toISOString(), rows }, null, 1));
console.log(`written: ${join(outDir, 'refldm-speed.json')}`);
