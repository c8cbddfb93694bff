/**
 * @file The "fusion benchmarks" page's data (route `/fusion`): every `refbench bench fusion` result
 * (`<results>/bench/<id>/fusion.json`) and every PyTorch-engine bench JSON (`python -m refbench_model.bench`, kind
 * `refldm-torch-bench`, under `<results>/bench/` or the measured folder, `benchmarks/measured/` by default), as
 * the paper's Table 2 (time and memory per fusion design, ratios to spatial-concatenation beside the paper's) and
 * Table 6 (time against the number of references, per design). The same numbers `refbench report` prints
 * (bench/fusion.ts `formatFusionTables`), from the same files, parsed by the one fusion.json reader
 * (experiments/fusion-results.ts). Pure reads, cached in the read model by file mtime + size.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { DESIGN_NAMES, PAPER_TABLE2, PAPER_TABLE6 } from '../timing/paper-fusion.ts';
import { parseFusionReport } from '../experiments/fusion-results.ts';
import { parseTorchBench, TORCH_BENCH_KIND, type TorchBench } from '../timing/torch-bench.ts';
import type { DesignId } from '../restorers/ref-ldm/designs.ts';
import type { ReadContext } from './context.ts';
import { redactPaths } from './serve-file.ts';

/** The designs in the paper's Table 2 order. */
export const DESIGNS: readonly DesignId[] = ['channel', 'cross', 'spatial', 'cachekv'];

/** One measured cell. */
export interface FusionCell {
  readonly design: DesignId;
  readonly refs: number;
  /** Seconds per image (median), or null when it failed or was skipped. */
  readonly timeS: number | null;
  /** MB (see `memoryNote`), or null. */
  readonly memoryMb: number | null;
  readonly error?: string;
}

/** Table 2 for one design: ours at `atRefs` references and the paper's (5 references, GTX 1080). */
export interface Table2Row {
  readonly design: DesignId;
  readonly name: string;
  readonly timeS: number | null;
  readonly memoryMb: number | null;
  readonly timeRatio: number | null;
  readonly memoryRatio: number | null;
  readonly paperTime: number;
  readonly paperMemory: number;
  readonly paperTimeRatio: number;
  readonly paperMemoryRatio: number;
  readonly error?: string;
}

/** One variant of one bench (the onnx bench has one; the torch bench `eager` and `fastest`). */
export interface FusionVariant {
  readonly name: string;
  readonly cells: FusionCell[];
  /** The reference count Table 2 is shown at: 5 if measured (as the paper), else the largest. */
  readonly atRefs: number;
  readonly table2: Table2Row[];
  readonly refs: number[];
  readonly designs: DesignId[];
}

/** One benchmark file as the page shows it. */
export interface FusionBench {
  /** Where it was found, relative to its folder (`results/bench/<id>/fusion.json`, `measured/<file>.json`). */
  readonly source: string;
  readonly kind: 'fusion-bench' | typeof TORCH_BENCH_KIND;
  readonly engine: string;
  readonly label: string;
  readonly createdAt: string;
  readonly config: string;
  readonly device: string;
  readonly settings: string;
  readonly memoryHeader: string;
  readonly memoryNote: string;
  readonly complete: boolean;
  readonly variants: FusionVariant[];
}

export interface FusionPage {
  readonly benches: FusionBench[];
  /** Files that could not be read, as `file: message` (paths relative to their folder). */
  readonly problems: string[];
  /** The paper's numbers (Tables 2 and 6), for the charts' reference series. */
  readonly paper: { readonly table2: typeof PAPER_TABLE2; readonly table6: typeof PAPER_TABLE6 };
  /** The folders searched, as labels. */
  readonly searched: string[];
  /** Design id → the paper's row name. */
  readonly names: Readonly<Record<string, string>>;
}

const MB = 2 ** 20;

/** Table 2 rows of a variant at `atRefs` references (the same arithmetic as `formatFusionTables`). */
function table2(cells: readonly FusionCell[], atRefs: number): Table2Row[] {
  const at = (d: DesignId) => cells.find((c) => c.design === d && c.refs === atRefs);
  const spatial = at('spatial');
  return DESIGNS.filter((d) => cells.some((c) => c.design === d)).map((d) => {
    const c = at(d);
    const p = PAPER_TABLE2[d];
    return {
      design: d,
      name: DESIGN_NAMES[d],
      timeS: c?.timeS ?? null,
      memoryMb: c?.memoryMb ?? null,
      timeRatio: c?.timeS != null && spatial?.timeS ? c.timeS / spatial.timeS : null,
      memoryRatio: c?.memoryMb != null && spatial?.memoryMb ? c.memoryMb / spatial.memoryMb : null,
      paperTime: p.time,
      paperMemory: p.memory,
      paperTimeRatio: p.time / PAPER_TABLE2.spatial.time,
      paperMemoryRatio: p.memory / PAPER_TABLE2.spatial.memory,
      ...(c?.error ? { error: c.error } : {}),
    };
  });
}

function variant(name: string, cells: FusionCell[]): FusionVariant {
  const refs = [...new Set(cells.map((c) => c.refs))].sort((a, b) => a - b);
  const atRefs = refs.includes(5) ? 5 : refs[refs.length - 1];
  return { name, cells, atRefs, table2: table2(cells, atRefs), refs, designs: DESIGNS.filter((d) => cells.some((c) => c.design === d)) };
}

function fromOnnx(raw: unknown, path: string, source: string): FusionBench {
  const j = parseFusionReport(raw, path);
  const cells = j.rows.map((x) => ({ design: x.design, refs: x.refs, timeS: x.timeMs !== undefined ? x.timeMs / 1000 : null, memoryMb: x.peakRssDeltaBytes !== undefined ? x.peakRssDeltaBytes / MB : null, ...(x.error ? { error: x.error } : {}) }));
  return {
    source,
    kind: 'fusion-bench',
    engine: 'onnxruntime (refbench bench fusion)',
    label: j.label,
    createdAt: j.createdAt,
    config: j.config,
    device: j.device,
    settings: `${j.device}${j.threads ? ` ×${j.threads} threads` : ''}, ${j.steps} DDIM steps, CFG ${j.cfg}, median of ${j.repeat}`,
    memoryHeader: 'Δpeak RSS MB',
    memoryNote: "Memory = peak RSS during that count minus the worker's RSS after loading the sessions (CPU); the paper reports GPU memory.",
    complete: true,
    variants: [variant('onnx', cells)],
  };
}

function fromTorch(raw: unknown, source: string): FusionBench {
  const j: TorchBench = parseTorchBench(raw, source);
  const cuda = j.device.startsWith('cuda');
  const variants = (['eager', 'fastest'] as const)
    .map((v) => {
      const cells = j.rows
        .filter((x) => x.variant === v)
        .map((x) => {
          const m = (cuda ? x.peakBytes : x.deltaBytes) ?? undefined;
          const error = x.error ?? (x.skipped ? `skipped: ${x.skipped}` : undefined);
          return { design: x.design, refs: x.refs, timeS: x.timeMs !== undefined ? x.timeMs / 1000 : null, memoryMb: m !== undefined ? m / MB : null, ...(error ? { error } : {}) };
        });
      return cells.length ? variant(v, cells) : null;
    })
    .filter((v): v is FusionVariant => v !== null);
  return {
    source,
    kind: TORCH_BENCH_KIND,
    engine: `PyTorch ${j.host.torch} (python -m refbench_model.bench)`,
    label: j.label,
    createdAt: j.createdAt,
    config: j.config,
    device: `${j.device} (${j.deviceName})`,
    settings: `${j.steps} DDIM steps (${j.stepsRun} run, ${j.schedule}), CFG ${j.cfg}, ${j.imageSize}² images, median of ${j.repeat}`,
    memoryHeader: cuda ? 'peak GPU MB' : 'Δpeak RSS MB',
    memoryNote: cuda
      ? "Memory = peak torch.cuda.max_memory_allocated during one image, weights of the VAE and that design's U-Net included (the paper: GPU memory, GTX 1080)."
      : 'Memory = peak RSS during one image minus the RSS before it (CPU); the paper reports GPU memory.',
    complete: j.complete,
    variants,
  };
}

/** The bench JSON files under `dir`: `*.json` in it and `*\/fusion.json` one level down. */
function benchFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isFile() && e.name.endsWith('.json')) out.push(join(dir, e.name));
    else if (e.isDirectory()) for (const f of ['fusion.json']) if (existsSync(join(dir, e.name, f))) out.push(join(dir, e.name, f));
  }
  return out;
}

/** One file: a bench, null when it is a JSON of another kind (not a benchmark), or the error that names why not. */
function readBench(ctx: ReadContext, path: string, source: string): FusionBench | null | Error {
  const st = statSync(path);
  return ctx.benchFiles.getSync(path, `${st.mtimeMs}:${st.size}`, () => parseBench(path, source)) as FusionBench | null | Error;
}

function parseBench(path: string, source: string): FusionBench | null | Error {
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as { kind?: unknown };
    return raw?.kind === 'fusion-bench' ? fromOnnx(raw, path, source) : raw?.kind === TORCH_BENCH_KIND ? fromTorch(raw, source) : path.endsWith('fusion.json') ? new Error(`not a fusion benchmark (kind ${JSON.stringify(raw?.kind)})`) : null;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** The measured folder: `REFBENCH_MEASURED_DIR`, else `benchmarks/measured` of the working directory. */
export function measuredDir(): string {
  return resolve(process.env.REFBENCH_MEASURED_DIR ?? join('benchmarks', 'measured'));
}

/**
 * Every fusion benchmark under `<root>/bench/` and the measured folder, newest first, with what could not be
 * read (a bad file costs only itself and is named with the field that is wrong).
 */
export function fusionPage(ctx: ReadContext, measured = measuredDir()): FusionPage {
  const root = ctx.root;
  const benches: FusionBench[] = [];
  const problems: string[] = [];
  const folders: [string, string][] = [
    [join(root, 'bench'), 'results/bench'],
    [measured, 'measured'],
  ];
  for (const [dir, label] of folders) {
    for (const f of benchFiles(dir)) {
      const source = `${label}/${relative(dir, f)}`;
      const b = readBench(ctx, f, source);
      if (b instanceof Error) problems.push(`${source}: ${redactPaths(b.message.replace(`${f}: `, '').replace(`${source}: `, ''), [[`${dir}/`, `${label}/`]])}`);
      else if (b) benches.push(b);
    }
  }
  return {
    benches: benches.sort((a, b) => b.createdAt.localeCompare(a.createdAt)),
    problems,
    paper: { table2: PAPER_TABLE2, table6: PAPER_TABLE6 },
    searched: folders.map(([, l]) => l),
    names: { ...DESIGN_NAMES },
  };
}
