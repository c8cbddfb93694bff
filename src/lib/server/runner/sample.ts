/**
 * @file Step 6 of a run (evaluate.ts): the sample loop. Each sample end to end: decode its inputs → restore →
 * save the output PNG (atomically, BEFORE its line) → score it with every per-sample metric → append one
 * samples.jsonl line → make the dashboard's thumbnails. Per-image problems (an unreadable file, a restorer or
 * metric error) become a status 'error' line naming the file; the loop goes on. The signal stops it after the
 * image in flight.
 */
import type { SampleRef } from '../../eval/datasets/types.ts';
import type { Metric, MetricItem } from '../../eval/metrics/metric.ts';
import type { Restorer, RestoreOutput } from '../../eval/restorers/restorer.ts';
import { TIME_METRIC, type SampleLine } from '../../eval/results/schema.ts';
import type { ResolvedRunSpec } from '../../eval/spec/run-spec.ts';
import type { RgbImage } from '../../eval/types.ts';
import { HQ_SIZE, type ImageRole } from '../datasets/load.ts';
import { readRegularFile } from '../fs/read-regular.ts';
import { encodePng } from '../image/io.ts';
import { sha256Hex, type RunStore } from '../results/store.ts';
import { writeSampleThumbs } from '../results/thumbs-write.ts';
import type { MetricEntry } from './components.ts';
import type { Progress } from './progress.ts';
import type { SampleToDo } from './resume.ts';

/**
 * The image loader for LQ/GT/refs: datasets/load.ts `loadImage`, the same size rule as `data inspect` (LQ 512²;
 * GT and refs 512², or 1024² resized with PIL bicubic; anything else a per-sample error).
 */
export type ImageLoader = (path: string, role: ImageRole) => Promise<RgbImage>;

/**
 * A metric value that can be stored: finite. NaN/±Inf (JSON cannot even encode them) become an error that says
 * what was computed, so they are recorded per metric instead of failing the write of the whole line.
 */
export function finiteValue(v: number, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what} is ${String(v)}, not a finite number`);
  return v;
}

/** Score one image with one per-sample metric (fresh state, so no cross-sample leakage). */
export async function scoreOne(metric: Metric<any>, item: MetricItem): Promise<number> {
  const st = await metric.update(metric.init(), [item]);
  const v = metric.compute(st);
  const ps = v.perSample?.[item.sampleId];
  return finiteValue(ps ?? v.value, `the value on sample '${item.sampleId}'`);
}

/** What one sample needs besides itself. */
export interface SampleCtx {
  readonly restorer: Restorer;
  readonly perSampleMetrics: readonly MetricEntry[];
  readonly load: ImageLoader;
  readonly store: RunStore;
  readonly spec: ResolvedRunSpec;
  readonly signal?: AbortSignal;
}

type Line = Omit<SampleLine, 'seq'>;

/** The decoded inputs of a sample. */
interface Decoded {
  readonly lq: RgbImage;
  readonly refs: RgbImage[];
  readonly gt?: RgbImage;
}

/**
 * Decodes a sample's inputs with the shared size rule (datasets/load.ts): a corrupt file or a size the rule does
 * not accept fails this sample, naming the file; GT and refs of 1024² are resized with PIL bicubic as the
 * reference loaders do.
 */
async function decodeInputs(s: SampleRef, load: ImageLoader): Promise<Decoded> {
  const lq = await load(s.lq, 'lq');
  const refs: RgbImage[] = [];
  for (const r of s.refs) refs.push(await load(r, 'ref'));
  return { lq, refs, ...(s.gt ? { gt: await load(s.gt, 'gt') } : {}) };
}

/**
 * Why a restorer's output breaks the restorer contract (a 512×512 8-bit RGB image, HQ_SIZE, whatever the
 * restorer; a program's file is decoded and checked for bit depth and finiteness by the restorer itself), or null.
 */
function badOutput(img: RgbImage, restorerId: string, lqPath: string): string | null {
  if (img.width === HQ_SIZE && img.height === HQ_SIZE && img.data instanceof Uint8Array && img.data.length === img.width * img.height * 3) return null;
  return `restorer ${restorerId}: output for ${lqPath} is ${img.width}×${img.height}, expected ${HQ_SIZE}×${HQ_SIZE} 8-bit RGB`;
}

/** Per-sample metrics on the uint8 output (PNG is lossless, so this is exactly the saved file). */
async function scoreSample(
  s: SampleRef,
  img: RgbImage,
  inputs: Decoded,
  out: RestoreOutput,
  c: SampleCtx,
  timings: Record<string, number>,
): Promise<{ values: Record<string, number>; metricErrors: Record<string, string> }> {
  const values: Record<string, number> = Number.isFinite(out.timings.total) ? { [TIME_METRIC.id]: out.timings.total } : {};
  const metricErrors: Record<string, string> = {};
  for (const { metric, info } of c.perSampleMetrics) {
    const tm = performance.now();
    try {
      values[info.id] = await scoreOne(metric, { sampleId: s.id, pred: img, gt: inputs.gt, refs: inputs.refs });
    } catch (err) {
      metricErrors[info.id] = (err as Error).message;
    }
    timings[`metric:${info.id}`] = performance.now() - tm;
  }
  return { values, metricErrors };
}

/** One sample end to end; returns its line (without seq), or 'aborted' if the signal fired during restore. */
export async function processSample(s: SampleRef, inputHash: string, c: SampleCtx): Promise<Line | 'aborted'> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const base = { sampleId: s.id, inputHash, numRefs: s.refs.length };
  const finish = (extra: Partial<SampleLine> & Pick<SampleLine, 'status' | 'metrics'>): Line => ({
    ...base,
    ...extra,
    timingsMs: { ...timings, total: performance.now() - t0 },
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    finishedAt: new Date().toISOString(),
  });
  const fail = (error: string, extra: Partial<SampleLine> = {}): Line => finish({ status: 'error', error, metrics: {}, ...extra });

  let inputs: Decoded;
  const td = performance.now();
  try {
    inputs = await decodeInputs(s, c.load);
  } catch (err) {
    return fail(`input: ${(err as Error).message}`);
  }
  timings.decode = performance.now() - td;

  let out: RestoreOutput;
  try {
    out = await c.restorer.restore({ sampleId: s.id, lq: inputs.lq, refs: inputs.refs }, { signal: c.signal });
  } catch (err) {
    if (c.signal?.aborted) return 'aborted';
    return fail(`restorer ${c.restorer.info.id} on ${s.lq}: ${(err as Error).message}`);
  }
  timings.restore = out.timings.total;
  const img = out.image;
  const bad = badOutput(img, c.restorer.info.id, s.lq);
  if (bad) return fail(bad);

  // Save the PNG atomically BEFORE the line is appended.
  const te = performance.now();
  const png = await encodePng(img);
  const outputHash = sha256Hex(png);
  const output = c.spec.outputs.saveImages ? c.store.writeOutput(s.id, png) : undefined;
  timings.encode = performance.now() - te;

  const { values, metricErrors } = await scoreSample(s, img, inputs, out, c, timings);
  const common = { outputHash, ...(output ? { output } : {}), restorer: { ...(out.info ?? {}), timings: out.timings } };
  const errs = Object.entries(metricErrors);
  if (errs.length) return fail(errs.map(([id, m]) => `metric ${id}: ${m}`).join('; '), { ...common, metrics: values, metricErrors });
  return finish({ ...common, status: 'ok', metrics: values });
}

/** What the loop did in this call. */
export interface LoopResult {
  readonly processed: number;
  readonly failed: number;
  readonly aborted: boolean;
}

/**
 * Evaluates `todo` in order, appending each line (seq from `nextSeq`) and making its thumbnails: the inputs' by
 * content (shared by every run on this benchmark), the output's from the file just saved. The dashboard never
 * writes; the writer makes them here.
 */
export async function evaluateSamples(
  todo: readonly SampleToDo[],
  c: SampleCtx & { resultsDir: string; nextSeq: number; progress: Progress; log: (msg: string) => void },
): Promise<LoopResult> {
  let seq = c.nextSeq;
  let processed = 0;
  let failed = 0;
  try {
    for (const { s, inputHash } of todo) {
      if (c.signal?.aborted) return { processed, failed, aborted: true };
      const line = await processSample(s, inputHash, c);
      if (line === 'aborted') return { processed, failed, aborted: true };
      c.store.appendSample({ ...line, seq: seq++ });
      const out = line.output ? { png: await readRegularFile(c.store.outputPath(line.output)), sha: line.outputHash } : undefined;
      const th = await writeSampleThumbs(c.resultsDir, c.store, s, out);
      for (const p of th.problems) c.log(`warning: thumbnail of sample '${s.id}' ${p} (the dashboard shows the full image)`);
      processed++;
      if (line.status === 'error') failed++;
      c.progress.tick(line.status);
    }
    return { processed, failed, aborted: false };
  } finally {
    c.progress.stop();
  }
}
