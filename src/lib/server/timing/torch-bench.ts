/**
 * @file The JSON of `python -m refbench_model.bench` (the PyTorch engine's fusion benchmark, run on machines without
 * Node, e.g. by scripts/gpu-bench.sh): its zod schema (strict: the Python writer and this reader live in one
 * repository and must agree key for key; format in docs/refldm-runner.md) and its rendering as the paper's Tables 2
 * and 6 for each variant (reusing the onnx fusion bench's tables), the speed-up of the fastest variant, the
 * per-switch ablation, the bf16/fp16 drift and the issue's targets.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { formatFusionTables, type FusionRow } from './fusion.ts';
import { PAPER_TABLE2, PAPER_TABLE6 } from './paper-fusion.ts';
import type { DesignId } from '../restorers/ref-ldm/designs.ts';

export const TORCH_BENCH_KIND = 'refldm-torch-bench';

const Design = z.enum(['cachekv', 'spatial', 'cross', 'channel']);
const Num = z.number();
const Count = z.number().int().nonnegative();

/** The engine's switches (python/refbench_model/engine.py `Switches.to_json`). */
export const TorchSwitchesSchema = z
  .object({
    cfgBatch: z.boolean(),
    attention: z.enum(['math', 'sdpa']),
    kvCache: z.enum(['concat', 'buffers']),
    refPass: z.enum(['loop', 'batched']),
    dtype: z.enum(['fp32', 'bf16', 'fp16']),
    compile: z.boolean(),
    cudaGraphs: z.boolean(),
    cudnnBenchmark: z.boolean(),
  })
  .strict();

/** A measured cell; `error` or `skipped` instead when it could not be measured. */
const Measurement = {
  timeMs: Num.positive().optional(),
  timesMs: z.array(Num).optional(),
  breakdownMs: z.object({ preprocess: Num, encode: Num, refPass: Num, steps: Num, decode: Num }).strict().optional(),
  stepsRun: Count.optional(),
  memoryMethod: z.enum(['cuda-max-allocated', 'rss-vmhwm-reset', 'n/a']).optional(),
  peakBytes: Num.nullable().optional(),
  /** CUDA: max_memory_reserved (holds CUDA graph pools, which max_memory_allocated may not count); null elsewhere. */
  peakReservedBytes: Num.nullable().optional(),
  baselineBytes: Num.nullable().optional(),
  deltaBytes: Num.nullable().optional(),
  info: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
  skipped: z.string().optional(),
};
const oneOutcome = (r: { timeMs?: number; error?: string; skipped?: string }) => [r.timeMs, r.error, r.skipped].filter((v) => v !== undefined).length === 1;
const OUTCOME = { message: 'exactly one of timeMs, error, skipped' };

const RowSchema = z
  .object({ variant: z.enum(['eager', 'fastest']), design: Design, refs: Count, ...Measurement })
  .strict()
  .refine(oneOutcome, OUTCOME);
const AblationSchema = z
  .object({ variant: z.string(), design: z.literal('cachekv'), refs: Count, switches: TorchSwitchesSchema, speedupVsEager: Num.optional(), ...Measurement })
  .strict()
  .refine(oneOutcome, OUTCOME);
const DriftSchema = z.union([
  z
    .object({
      dtype: z.enum(['bf16', 'fp16']),
      vs: z.literal('fp32'),
      design: Design,
      refs: Count,
      steps: Count,
      maxLatentDelta: Num,
      meanLatentDelta: Num,
      imageMaxLevelDiff: Count,
      imageMeanLevelDiff: Num,
      imageFracOff1: Num,
      imageFracOffMore: Num,
      /** null when the two images are identical. */
      psnrDb: Num.nullable(),
    })
    .strict(),
  z.object({ dtype: z.enum(['fp32', 'bf16', 'fp16']), error: z.string() }).strict(),
  z.object({ dtype: z.enum(['fp32', 'bf16', 'fp16']), skipped: z.string() }).strict(),
]);
const CheckSchema = z.union([
  z
    .object({ variant: z.string(), vs: z.literal('eager'), design: Design, refs: Count, steps: Count, maxLatentDelta: Num, imageMaxLevelDiff: Count, imageFracOffMore: Num, ok: z.boolean() })
    .strict(),
  z.object({ variant: z.string(), error: z.string() }).strict(),
  z.object({ variant: z.string(), skipped: z.string() }).strict(),
]);
const TargetSchema = z.object({ id: z.string(), description: z.string(), value: Num.nullable(), target: z.string(), met: z.boolean().nullable(), note: z.string() }).strict();

/** The benchmark JSON, schemaVersion 1. */
export const TorchBenchSchema = z
  .object({
    kind: z.literal(TORCH_BENCH_KIND),
    schemaVersion: z.literal(1),
    /** False while the bench runs (it rewrites the file after every measurement) or when it was cut short. */
    complete: z.boolean(),
    createdAt: z.string(),
    label: z.string(),
    command: z.array(z.string()),
    config: z.enum(['tiny', 'paper']),
    seed: z.number().int(),
    imageSize: z.number().int().positive(),
    steps: z.number().int().positive(),
    stepsRun: z.number().int().positive(),
    schedule: z.enum(['uniform', 'uniform_trailing']),
    cfg: Num,
    repeat: z.number().int().positive(),
    warmupSteps: Count,
    refs: z.array(z.number().int().positive()).min(1),
    designs: z.array(Design).min(1),
    ablationRefs: z.number().int().positive(),
    device: z.string(),
    deviceName: z.string(),
    memory: z.string(),
    host: z.object({ python: z.string(), torch: z.string(), cuda: z.string().nullable(), cudnn: Num.nullable(), platform: z.string(), cpus: Num.nullable(), threads: Num }).strict(),
    tf32: z.object({ matmul: z.boolean(), cudnn: z.boolean() }).strict(),
    variants: z.object({ eager: TorchSwitchesSchema.optional(), fastest: TorchSwitchesSchema.optional() }).strict(),
    ignored: z.record(z.string(), z.record(z.string(), z.string())),
    buildS: Num,
    rows: z.array(RowSchema),
    ablation: z.array(AblationSchema),
    drift: z.array(DriftSchema),
    /** `--check`: the fast fp32 paths against eager on the same device (tiny model). */
    checks: z.array(CheckSchema),
    profile: z
      .union([z.object({ variant: z.string(), design: Design, refs: Count, sortBy: z.string(), table: z.array(z.string()) }).strict(), z.object({ skipped: z.string() }).strict()])
      .optional(),
    targets: z.array(TargetSchema),
    budget: z.object({ timeBudgetS: Num, elapsedS: Num, skipped: Count }).strict(),
    paper: z.object({ table2: z.record(z.string(), z.object({ time: Num, memory: Num }).strict()), table6: z.array(z.object({ refs: Count, time1080: Num.nullable(), time3090: Num }).strict()) }).strict(),
  })
  .strict();

export type TorchBench = z.infer<typeof TorchBenchSchema>;

/**
 * Validates a parsed benchmark JSON; also checks that its copy of the paper's numbers is ours (paper-fusion.ts).
 * @throws Error naming `file` and every invalid field.
 */
export function parseTorchBench(raw: unknown, file: string): TorchBench {
  const r = TorchBenchSchema.safeParse(raw);
  if (!r.success) {
    throw new Error(`${file}: invalid ${TORCH_BENCH_KIND} JSON:\n${r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`);
  }
  for (const [d, p] of Object.entries(PAPER_TABLE2)) {
    const q = r.data.paper.table2[d];
    if (!q || q.time !== p.time || q.memory !== p.memory) throw new Error(`${file}: paper.table2.${d} is ${JSON.stringify(q)}, paper-fusion.ts says ${JSON.stringify({ time: p.time, memory: p.memory })}`);
  }
  if (JSON.stringify(r.data.paper.table6) !== JSON.stringify(PAPER_TABLE6)) throw new Error(`${file}: paper.table6 differs from paper-fusion.ts`);
  return r.data;
}

/** Reads and validates a benchmark JSON file. */
export function readTorchBench(file: string): TorchBench {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as NodeJS.ErrnoException).code ? `cannot read (${(err as NodeJS.ErrnoException).code})` : `not JSON (${(err as Error).message})`}`);
  }
  return parseTorchBench(raw, file);
}

const cuda = (r: TorchBench) => r.device.startsWith('cuda');
/** The memory a table shows: the peak (weights included) on CUDA, the RSS growth during the image on the CPU. */
const memoryOf = (r: TorchBench, x: { peakBytes?: number | null; deltaBytes?: number | null }) => (cuda(r) ? x.peakBytes : x.deltaBytes) ?? undefined;
const f = (v: number | null | undefined, d = 2) => (v === undefined || v === null || !Number.isFinite(v) ? '—' : v.toFixed(d));
const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
const switches = (s: z.infer<typeof TorchSwitchesSchema>) =>
  `cfgBatch ${s.cfgBatch}, attention ${s.attention}, kvCache ${s.kvCache}, refPass ${s.refPass}, dtype ${s.dtype}, compile ${s.compile}, cudaGraphs ${s.cudaGraphs}, cudnnBenchmark ${s.cudnnBenchmark}`;

/** Everything `refbench report` prints for one benchmark JSON. */
export function formatTorchBench(r: TorchBench): string {
  const out: string[] = [];
  out.push(`ReF-LDM PyTorch engine bench — ${r.label}; config ${r.config}, ${r.device} (${r.deviceName}), torch ${r.host.torch}${r.host.cuda ? ` / CUDA ${r.host.cuda}` : ''}`);
  out.push(`${r.steps} DDIM steps (${r.stepsRun} run, ${r.schedule}), CFG ${r.cfg}, ${r.imageSize}² images, median of ${r.repeat} after a ${r.warmupSteps}-step warm-up; ${r.createdAt}`);
  for (const [v, s] of Object.entries(r.variants)) if (s) out.push(`  ${v}: ${switches(s)}${r.ignored[v] ? `; ignored: ${Object.entries(r.ignored[v]).map(([k, why]) => `${k} (${why})`).join('; ')}` : ''}`);
  const memNote = cuda(r)
    ? 'Memory = peak torch.cuda.max_memory_allocated during one image, weights of the VAE and that design\'s U-Net included (the paper: GPU memory, GTX 1080).'
    : 'Memory = peak RSS during one image minus the RSS before it (CPU, VmHWM reset per image); the paper reports GPU memory.';
  for (const variant of ['eager', 'fastest'] as const) {
    const rows = r.rows.filter((x) => x.variant === variant);
    if (!rows.length) continue;
    const mapped: FusionRow[] = rows.map((x) => ({ design: x.design, refs: x.refs, timeMs: x.timeMs, peakRssDeltaBytes: memoryOf(r, x), ...(x.error || x.skipped ? { error: x.error ?? `skipped: ${x.skipped}` } : {}) }));
    out.push('');
    out.push(`== ${variant}${variant === 'eager' ? ' (official arithmetic and batching: CFG as one B = 2 batch, math attention, K/V concatenated, one reference pass per reference with B = 2, fp32, no compile / graphs)' : ''} ==`);
    out.push(
      formatFusionTables(
        { label: r.label, config: r.config, device: r.device, threads: r.host.threads, steps: r.steps, cfg: r.cfg, repeat: r.repeat, rows: mapped },
        { title: `Fusion designs, torch engine, ${variant}`, memoryHeader: cuda(r) ? 'peak MB' : 'Δpeak MB', memoryNote: memNote },
      ),
    );
  }
  const cells = [...new Set(r.rows.map((x) => `${x.design}|${x.refs}`))];
  if (r.variants.eager && r.variants.fastest && cells.length) {
    const designs = r.designs;
    const refs = [...new Set(r.rows.map((x) => x.refs))].sort((a, b) => a - b);
    const at = (v: string, d: DesignId, n: number) => r.rows.find((x) => x.variant === v && x.design === d && x.refs === n);
    out.push('');
    out.push('Speed-up of fastest over eager (time ratio)');
    out.push([pad('refs', 6), ...designs.map((d) => lpad(d, 10))].join(' '));
    for (const n of refs) out.push([pad(String(n), 6), ...designs.map((d) => lpad(f(at('eager', d, n)?.timeMs && at('fastest', d, n)?.timeMs ? at('eager', d, n)!.timeMs! / at('fastest', d, n)!.timeMs! : undefined), 10))].join(' '));
  }
  if (r.ablation.length) {
    out.push('');
    out.push(`Ablation: each switch alone on top of eager (CacheKV, ${r.ablationRefs} refs)`);
    out.push([pad('variant', 22), lpad('s/image', 9), lpad('× eager', 8), lpad(cuda(r) ? 'peak MB' : 'Δpeak MB', 10)].join(' '));
    for (const a of r.ablation) {
      const m = memoryOf(r, a);
      out.push([pad(a.variant, 22), lpad(a.timeMs !== undefined ? f(a.timeMs / 1000, 3) : a.error ? 'error' : 'skipped', 9), lpad(f(a.speedupVsEager), 8), lpad(f(m !== undefined ? m / 2 ** 20 : undefined, 0), 10)].join(' ') + (a.skipped ? `  (${a.skipped})` : a.error ? `  (${a.error})` : ''));
    }
  }
  if (r.checks.length) {
    out.push('');
    out.push('Check: fast fp32 paths against eager on this device (tiny model, seed 0)');
    for (const c of r.checks) {
      if ('maxLatentDelta' in c) out.push(`  ${pad(c.variant, 22)} ${c.ok ? 'ok' : 'NOT EQUAL'}: max |Δlatent| ${c.maxLatentDelta.toExponential(2)}, max level Δ ${c.imageMaxLevelDiff}, ${f(100 * c.imageFracOffMore, 3)} % off by >1 (${c.refs} refs, ${c.steps} steps)`);
      else out.push(`  ${pad(c.variant, 22)} ${'error' in c ? `error: ${c.error}` : `skipped: ${c.skipped}`}`);
    }
  }
  if (r.drift.length) {
    out.push('');
    out.push(`Drift against fp32 (fastest switches, CacheKV, ${r.ablationRefs} refs, ${r.steps} steps, trunc-quantised images)`);
    out.push([pad('dtype', 6), lpad('max|Δlatent|', 13), lpad('max level Δ', 12), lpad('% off by 1', 11), lpad('% off by >1', 12), lpad('PSNR dB', 8)].join(' '));
    for (const d of r.drift) {
      if ('maxLatentDelta' in d) {
        out.push([pad(d.dtype, 6), lpad(d.maxLatentDelta.toExponential(2), 13), lpad(String(d.imageMaxLevelDiff), 12), lpad(f(100 * d.imageFracOff1, 3), 11), lpad(f(100 * d.imageFracOffMore, 3), 12), lpad(d.psnrDb === null ? 'inf' : f(d.psnrDb, 1), 8)].join(' '));
      } else out.push(`${pad(d.dtype, 6)} ${'error' in d ? `error: ${d.error}` : `skipped: ${d.skipped}`}`);
    }
  }
  out.push('');
  out.push('Targets (issue 10)');
  for (const t of r.targets) {
    const met = t.met === true ? 'MET' : t.met === false ? 'MISSED' : 'n/a';
    out.push(`  [${met}] ${t.description}: ${t.value === null ? '—' : f(t.value, 3)} (target ${t.target})${t.note ? `; ${t.note}` : ''}`);
  }
  if (!r.complete) out.push('  INCOMPLETE: the bench stopped before its end (killed or timed out); the numbers above are what it measured');
  if (r.budget.skipped) out.push(`  ${r.budget.skipped} measurement(s) skipped: time budget of ${r.budget.timeBudgetS} s spent (ran ${f(r.budget.elapsedS, 0)} s)`);
  if (r.profile && 'table' in r.profile) {
    out.push('');
    out.push(`Profile: ${r.profile.variant}, ${r.profile.design}, ${r.profile.refs} refs, by ${r.profile.sortBy} (top rows)`);
    out.push(...r.profile.table.slice(0, 16));
  }
  return out.join('\n');
}

/** The measured cells as CSV (one row per variant × design × reference count). */
export function torchBenchCsv(r: TorchBench, id: string): string {
  const head = 'bench,config,device,device_name,variant,design,refs,time_s,memory_mb,memory_method,error';
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const rows = r.rows.map((x) => {
    const m = memoryOf(r, x);
    return [q(id), r.config, r.device, q(r.deviceName), x.variant, x.design, x.refs, x.timeMs !== undefined ? (x.timeMs / 1000).toFixed(4) : '', m !== undefined ? (m / 2 ** 20).toFixed(1) : '', x.memoryMethod ?? '', q(x.error ?? (x.skipped ? `skipped: ${x.skipped}` : ''))].join(',');
  });
  return [head, ...rows].join('\n') + '\n';
}
