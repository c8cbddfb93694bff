/**
 * @file Child-process worker of the fusion benchmark: times ONE design at each of its reference counts in a fresh
 * process (sessions loaded once), counts in increasing order. Peak memory per measurement: on Linux the peak RSS
 * (VmHWM) is reset before each count (`/proc/self/clear_refs` ← 5) and read after it, so each count's peak is its
 * own; memory kept from smaller counts before it (onnxruntime's arena does not shrink) is reported as
 * `inheritedRssBytes`. Without that reset (non-Linux) the process high-water mark is used and flagged.
 * Reads a JSON job from argv[2]; prints one line per count, `FUSION_RESULT {json}` or `FUSION_ERROR {json}`.
 * Run as `node --import tsx src/lib/server/timing/fusion-worker.ts '<json>'`.
 */
import { loadBundleJson } from '../restorers/ref-ldm/bundle.ts';
import { RefLdmSampler } from '../restorers/ref-ldm/sampler.ts';
import type { DesignId } from '../restorers/ref-ldm/designs.ts';
import { peakRssBytes, resetPeakRss, rssBytes } from '../restorers/ref-ldm/instrumentation.ts';
import { gaussianNoise } from '../../eval/refldm/noise.ts';
import type { RgbImage } from '../../eval/types.ts';

export interface FusionJob {
  bundle: string;
  design: DesignId;
  /** Reference counts, measured in increasing order in this one process. */
  refs: number[];
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
  /** RSS after loading the sessions, before the first image (the baseline of `peakRssDeltaBytes`). */
  rssBeforeBytes: number;
  /** Peak RSS during this count's images (VmHWM reset before them), or the process high-water mark (see `peakMethod`). */
  peakRssBytes: number;
  /** peak − RSS after loading the sessions and before the first image. */
  peakRssDeltaBytes: number;
  /** RSS at the start of this count minus the baseline: memory kept from the smaller counts measured before it. */
  inheritedRssBytes: number;
  /** `vmhwm-reset`: this count's own peak; `process-peak`: process high-water mark (an upper bound). */
  peakMethod: 'vmhwm-reset' | 'process-peak';
  /** Whether a warm-up image ran right before this count (only the first count of a process). */
  warmedUp: boolean;
  info: Record<string, unknown>;
}

/** A deterministic synthetic face-sized image (weights are random: content does not change the cost). */
function synth(size: number, seed: number): RgbImage {
  const n = gaussianNoise(size * size * 3, seed);
  return { width: size, height: size, data: Uint8Array.from(n, (v) => Math.max(0, Math.min(255, Math.round(128 + 40 * v)))) };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/**
 * Measures every reference count of the job (increasing order), calling `emit` after each one.
 * One warm-up image (at the smallest count) per process; a failing count is emitted as an error and the rest go on.
 */
export async function runFusionJob(job: FusionJob, emit: (m: FusionMeasurement | { design: DesignId; refs: number; error: string }) => void): Promise<void> {
  const counts = [...new Set(job.refs)].sort((a, b) => a - b);
  const bundle = await loadBundleJson(job.bundle);
  const sampler = await RefLdmSampler.create(bundle, {
    design: job.design,
    steps: job.steps,
    schedule: 'uniform',
    cfg: job.cfg,
    maxRefs: Math.max(...counts, 1),
    zeroRefs: bundle.json.zeroRefDefault || 5,
    quantise: 'trunc',
    device: job.device,
    threads: job.threads,
    verifyHashes: false,
  });
  const size = sampler.imageSize;
  const lq = synth(size, 1);
  const xT = gaussianNoise(sampler.latent.channels * sampler.latent.size ** 2, 2024);
  const rssBefore = rssBytes();
  let warm = false;
  try {
    for (const n of counts) {
      const refs = Array.from({ length: n }, (_, i) => synth(size, 10 + i));
      try {
        const rssStart = rssBytes();
        const reset = resetPeakRss();
        const warmedUp = !warm;
        if (!warm) {
          await sampler.sample(lq, refs, xT); // warm-up (first inference of the sessions)
          warm = true;
        }
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
        delete info.peakRssBytes; // process-lifetime mark: misleading once several counts share a process
        emit({
          design: job.design,
          refs: n,
          timeMs: median(times),
          timesMs: times,
          breakdownMs: { encode: median(parts.encode), refPass: median(parts.refPass), steps: median(parts.steps), decode: median(parts.decode) },
          stepsRun: sampler.tables.timesteps.length,
          loadMs: sampler.loadMs,
          rssBeforeBytes: rssBefore,
          peakRssBytes: peak,
          peakRssDeltaBytes: peak - rssBefore,
          inheritedRssBytes: Math.max(0, rssStart - rssBefore),
          peakMethod: reset ? 'vmhwm-reset' : 'process-peak',
          warmedUp,
          info,
        });
      } catch (err) {
        emit({ design: job.design, refs: n, error: err instanceof Error ? err.message : String(err) });
      }
    }
  } finally {
    await sampler.release();
  }
}

if (process.argv[1] && /fusion-worker\.ts$/.test(process.argv[1])) {
  const job = JSON.parse(process.argv[2] ?? '{}') as FusionJob;
  runFusionJob(job, (m) => process.stdout.write(`${'error' in m ? 'FUSION_ERROR' : 'FUSION_RESULT'} ${JSON.stringify(m)}\n`)).then(
    () => undefined,
    (err) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
