/**
 * @file Child-process worker of the fusion benchmark: times ONE design × reference count in a fresh process, so
 * that peak RSS (a process-lifetime high-water mark) is this configuration's own. Reads a JSON job from argv[2],
 * prints one JSON line prefixed `FUSION_RESULT ` on stdout.
 * Run as `node --import tsx src/lib/server/bench/fusion-worker.ts '<json>'`.
 */
import { loadBundleJson } from '../restorers/ref-ldm/bundle.ts';
import { RefLdmSampler } from '../restorers/ref-ldm/sampler.ts';
import type { DesignId } from '../restorers/ref-ldm/designs.ts';
import { peakRssBytes, rssBytes } from '../restorers/ref-ldm/instrumentation.ts';
import { gaussianNoise } from '../../eval/refldm/noise.ts';
import type { RgbImage } from '../../eval/types.ts';

export interface FusionJob {
  bundle: string;
  design: DesignId;
  refs: number;
  steps: number;
  repeat: number;
  device: 'cpu' | 'cuda';
  threads?: number;
  cfg: number;
}

export interface FusionMeasurement {
  design: DesignId;
  refs: number;
  /** Median ms per image over `repeat` timed images (after one warm-up image). */
  timeMs: number;
  timesMs: number[];
  breakdownMs: { encode: number; refPass: number; steps: number; decode: number };
  stepsRun: number;
  loadMs: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
  /** peak − RSS after loading the sessions and before the first image. */
  peakRssDeltaBytes: number;
  info: Record<string, unknown>;
}

/** A deterministic synthetic face-sized image (weights are random: content does not change the cost). */
function synth(size: number, seed: number): RgbImage {
  const n = gaussianNoise(size * size * 3, seed);
  return { width: size, height: size, data: Uint8Array.from(n, (v) => Math.max(0, Math.min(255, Math.round(128 + 40 * v)))) };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

export async function runFusionJob(job: FusionJob): Promise<FusionMeasurement> {
  const bundle = await loadBundleJson(job.bundle);
  const sampler = await RefLdmSampler.create(bundle, {
    design: job.design,
    steps: job.steps,
    schedule: 'uniform',
    cfg: job.cfg,
    maxRefs: Math.max(job.refs, 1),
    zeroRefs: bundle.json.zeroRefDefault || 5,
    quantise: 'trunc',
    device: job.device,
    threads: job.threads,
    verifyHashes: false,
  });
  const size = sampler.imageSize;
  const lq = synth(size, 1);
  const refs = Array.from({ length: job.refs }, (_, i) => synth(size, 10 + i));
  const xT = gaussianNoise(sampler.latent.channels * sampler.latent.size ** 2, 2024);
  const rssBefore = rssBytes();
  await sampler.sample(lq, refs, xT); // warm-up
  const times: number[] = [];
  const parts = { encode: [] as number[], refPass: [] as number[], steps: [] as number[], decode: [] as number[] };
  let info: Record<string, unknown> = {};
  for (let r = 0; r < job.repeat; r++) {
    const s = await sampler.sample(lq, refs, xT);
    times.push(s.timings.total);
    parts.encode.push(s.timings.encode);
    parts.refPass.push(s.timings.refPass);
    parts.steps.push(s.timings.steps.reduce((a, b) => a + b, 0));
    parts.decode.push(s.timings.decode);
    info = { ...s.info };
  }
  const peak = peakRssBytes();
  await sampler.release();
  return {
    design: job.design,
    refs: job.refs,
    timeMs: median(times),
    timesMs: times,
    breakdownMs: { encode: median(parts.encode), refPass: median(parts.refPass), steps: median(parts.steps), decode: median(parts.decode) },
    stepsRun: sampler.tables.timesteps.length,
    loadMs: sampler.loadMs,
    rssBeforeBytes: rssBefore,
    peakRssBytes: peak,
    peakRssDeltaBytes: peak - rssBefore,
    info,
  };
}

if (process.argv[1] && /fusion-worker\.ts$/.test(process.argv[1])) {
  const job = JSON.parse(process.argv[2] ?? '{}') as FusionJob;
  runFusionJob(job).then(
    (m) => process.stdout.write(`FUSION_RESULT ${JSON.stringify(m)}\n`),
    (err) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
