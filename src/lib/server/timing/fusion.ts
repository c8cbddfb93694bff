/**
 * @file The fusion-design benchmark (paper Table 2 and Table 6 on our runtime): every design is timed in its own
 * child process (fusion-worker.ts: sessions loaded once, reference counts in increasing order, the peak RSS reset
 * before each count) on a random-init bundle — weights do not change the cost —
 * and the results are written to `results/bench/<id>/fusion.json` through the results store's atomic writer and
 * printed next to the paper's numbers. Everything is labelled "untrained random-init weights".
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attentionForm, loadBundleJson, type GraphKey } from '../restorers/ref-ldm/bundle.ts';
import type { DesignId } from '../restorers/ref-ldm/designs.ts';
import { writeBenchReport } from '../results/bench-files.ts';
import { ORT_VERSION } from '../ort/session.ts';
import { REPO_ROOT } from '../paths.ts';
import type { FusionJob, FusionMeasurement } from './fusion-worker.ts';
import { DESIGN_NAMES, PAPER_TABLE2, PAPER_TABLE6 } from './paper-fusion.ts';

const WORKER = fileURLToPath(new URL('./fusion-worker.ts', import.meta.url));
const DESIGN_GRAPH: Record<DesignId, GraphKey> = { cachekv: 'unet', spatial: 'unetSpatial', cross: 'unetCross', channel: 'unetChannel' };

/** One child process's job (fusion-worker.ts) for every design in `designs`, plus where the report goes. */
export interface FusionBenchOptions extends Omit<FusionJob, 'design'> {
  config: 'tiny' | 'paper';
  designs: DesignId[];
  resultsDir: string;
  log?: (line: string) => void;
}

export interface FusionRow extends Partial<FusionMeasurement> {
  design: DesignId;
  refs: number;
  error?: string;
}

export interface FusionReport {
  kind: 'fusion-bench';
  id: string;
  createdAt: string;
  label: string;
  config: string;
  bundle: string;
  weights: unknown;
  /** The bundle's attention form (`full` for bundles exported before the query-chunked form). */
  attention?: string;
  device: string;
  threads: number | null;
  steps: number;
  cfg: number;
  repeat: number;
  host: { cpus: number; cpuModel: string; node: string; onnxruntime: string };
  rows: FusionRow[];
}

/** The exact export command for a missing paper bundle. */
export function exportCommand(config: string, out: string): string {
  return `python/.venv/bin/python -m refbench_export bundle --config ${config} --random-init 0 --out ${out}`;
}

type WorkerLine = FusionMeasurement | { design: DesignId; refs: number; error: string };

/** Runs one design's child process; resolves with one line per reference count it reported (results or errors). */
function runWorker(job: FusionJob): Promise<WorkerLine[]> {
  return new Promise((res, rej) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', WORKER, JSON.stringify(job)],
      { maxBuffer: 64 * 1024 * 1024, cwd: REPO_ROOT },
      (err, stdout, stderr) => {
        const lines = String(stdout)
          .split('\n')
          .filter((l) => l.startsWith('FUSION_RESULT ') || l.startsWith('FUSION_ERROR '))
          .map((l) => JSON.parse(l.slice(l.indexOf(' ') + 1)) as WorkerLine);
        // A worker killed by the kernel (SIGKILL, no stderr) almost always ran out of memory: say so.
        const signal = (err as (Error & { signal?: string }) | null)?.signal;
        const why =
          String(stderr).trim().split('\n').slice(-3).join(' | ') ||
          (signal === 'SIGKILL' ? 'worker killed by SIGKILL (most likely out of memory)' : signal ? `worker killed by ${signal}` : (err?.message ?? ''));
        if (err && !lines.length) return rej(new Error(why));
        if (err) {
          // The child died part-way (e.g. out of memory at a large count): keep what it measured, fail the rest.
          for (const n of job.refs) if (!lines.some((l) => l.refs === n)) lines.push({ design: job.design, refs: n, error: why });
        }
        res(lines);
      },
    );
  });
}

/** A sortable run id: UTC timestamp + random suffix. */
function benchId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${t}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Runs the benchmark and writes fusion.json; returns the report. */
export async function runFusionBench(o: FusionBenchOptions): Promise<FusionReport & { path: string }> {
  if (!existsSync(join(o.bundle, 'bundle.json'))) {
    throw new Error(`${o.bundle}: no bundle.json. Export a random-init ${o.config} bundle first:\n  ${exportCommand(o.config, o.bundle)}`);
  }
  const bundle = await loadBundleJson(o.bundle);
  const rows: FusionRow[] = [];
  for (const design of o.designs) {
    if (!bundle.json.graphs[DESIGN_GRAPH[design]]) {
      for (const refs of o.refs) rows.push({ design, refs, error: `bundle has no ${DESIGN_GRAPH[design]} graph` });
      continue;
    }
    o.log?.(`  ${design} × ${o.refs.join(', ')} refs …`);
    let got: WorkerLine[];
    try {
      got = await runWorker({ bundle: bundle.dir, design, refs: o.refs, steps: o.steps, repeat: o.repeat, device: o.device, threads: o.threads, cfg: o.cfg });
    } catch (err) {
      got = o.refs.map((refs) => ({ design, refs, error: err instanceof Error ? err.message : String(err) }));
    }
    // Rows in the requested order (the worker measures in increasing order).
    for (const refs of o.refs) {
      const line = got.find((l) => l.refs === refs);
      rows.push(line ?? { design, refs, error: 'the worker reported nothing for this count' });
    }
  }
  const id = benchId();
  const report: FusionReport = {
    kind: 'fusion-bench',
    id,
    createdAt: new Date().toISOString(),
    label: bundle.json.weights.kind === 'random-init' ? 'untrained random-init weights (timing only)' : 'checkpoint weights',
    config: bundle.json.config,
    bundle: bundle.dir,
    weights: bundle.json.weights,
    attention: attentionForm(bundle).form,
    device: o.device,
    threads: o.threads ?? null,
    steps: o.steps,
    cfg: o.cfg,
    repeat: o.repeat,
    host: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, onnxruntime: ORT_VERSION },
    rows,
  };
  const path = writeBenchReport(o.resultsDir, id, report);
  return { ...report, path };
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
const fmt = (v: number | undefined | null, d = 2) => (v === undefined || v === null || !Number.isFinite(v) ? '—' : v.toFixed(d));

/** Labels of the memory column for a report whose memory is not the onnx bench's CPU RSS. */
export interface FusionTableLabels {
  /** First line (default: "Fusion designs — <label>; config ..."). */
  readonly title?: string;
  /** Header of the memory column (default "Δpeak MB"). */
  readonly memoryHeader?: string;
  /** The closing note on what the memory is. */
  readonly memoryNote?: string;
}

/**
 * Table 2 (time and memory at `atRefs` references, ratios to spatial-concatenation) and Table 6 (time vs refs).
 * The memory column reads `peakRssDeltaBytes`; `labels` renames it for other kinds of memory (torch-bench.ts).
 */
export function formatFusionTables(r: Pick<FusionReport, 'label' | 'config' | 'device' | 'threads' | 'steps' | 'cfg' | 'repeat' | 'rows'> & Partial<Pick<FusionReport, 'attention'>>, labels: FusionTableLabels = {}): string {
  const lines: string[] = [];
  const refsList = [...new Set(r.rows.map((x) => x.refs))].sort((a, b) => a - b);
  const atRefs = refsList.includes(5) ? 5 : refsList[refsList.length - 1];
  const at = (d: DesignId, n: number) => r.rows.find((x) => x.design === d && x.refs === n);
  const spatial = at('spatial', atRefs);
  lines.push(labels.title ?? `Fusion designs — ${r.label}; config ${r.config}${r.attention ? `, ${r.attention} attention` : ''}, ${r.device}${r.threads ? ` ×${r.threads} threads` : ''}, ${r.steps} DDIM steps, CFG ${r.cfg}, median of ${r.repeat}`);
  lines.push('');
  lines.push(`Table 2 (ours at ${atRefs} refs; paper: 5 refs, one GTX 1080, step count not stated, units likely s and GB)`);
  lines.push(
    [pad('design', 22), lpad('time s', 9), lpad(labels.memoryHeader ?? 'Δpeak MB', 10), lpad('t/spatial', 10), lpad('m/spatial', 10), lpad('paper t', 9), lpad('paper m', 9), lpad('p t/spat', 9), lpad('p m/spat', 9)].join(' '),
  );
  for (const d of ['channel', 'cross', 'spatial', 'cachekv'] as DesignId[]) {
    const row = at(d, atRefs);
    if (!row && !r.rows.some((x) => x.design === d)) continue;
    const p = PAPER_TABLE2[d];
    const t = row?.timeMs !== undefined ? row.timeMs / 1000 : undefined;
    const m = row?.peakRssDeltaBytes !== undefined ? row.peakRssDeltaBytes / 2 ** 20 : undefined;
    const tr = t !== undefined && spatial?.timeMs ? (t * 1000) / spatial.timeMs : undefined;
    const mr = row?.peakRssDeltaBytes !== undefined && spatial?.peakRssDeltaBytes ? row.peakRssDeltaBytes / spatial.peakRssDeltaBytes : undefined;
    lines.push(
      [
        pad(DESIGN_NAMES[d], 22),
        lpad(row?.error ? 'error' : fmt(t, 3), 9),
        lpad(fmt(m, 0), 10),
        lpad(fmt(tr), 10),
        lpad(fmt(mr), 10),
        lpad(fmt(p.time), 9),
        lpad(fmt(p.memory), 9),
        lpad(fmt(p.time / PAPER_TABLE2.spatial.time), 9),
        lpad(fmt(p.memory / PAPER_TABLE2.spatial.memory), 9),
      ].join(' '),
    );
  }
  lines.push('');
  const designs = [...new Set(r.rows.map((x) => x.design))];
  lines.push('Table 6 (time per image in s vs number of references; paper: CacheKV)');
  lines.push([pad('refs', 6), ...designs.map((d) => lpad(d, 10)), lpad('paper1080', 10), lpad('paper3090', 10)].join(' '));
  for (const n of refsList) {
    const p = PAPER_TABLE6.find((x) => x.refs === n);
    lines.push(
      [
        pad(String(n), 6),
        ...designs.map((d) => {
          const row = at(d, n);
          return lpad(row?.error ? 'error' : fmt(row?.timeMs !== undefined ? row.timeMs / 1000 : undefined, 3), 10);
        }),
        lpad(p ? (p.time1080 === null ? 'OOM' : fmt(p.time1080)) : '—', 10),
        lpad(p ? fmt(p.time3090) : '—', 10),
      ].join(' '),
    );
  }
  const errs = r.rows.filter((x) => x.error);
  if (errs.length) {
    lines.push('');
    for (const e of errs) lines.push(`error: ${e.design} × ${e.refs}: ${e.error}`);
  }
  lines.push('');
  lines.push(
    labels.memoryNote ??
      'Memory = peak RSS during that count minus the worker\'s RSS after loading the sessions (CPU; one worker per design, counts in increasing order, peak reset per count); the paper reports GPU memory.',
  );
  return lines.join('\n');
}
