/**
 * @file How a benchmark's data script of a static snapshot (data/<key>.js) is laid out: what every run of the
 * benchmark shares is written once, and only what is a run's own per run (docs/dashboard.md).
 * - once per benchmark: the sample ids (sorted), each sample's input hash (the one most runs recorded), its
 *   images that are the same file in every run that has them (LQ, GT, references), and each distinct metric mode;
 * - per run: which samples it has (omitted when it has them all), the statuses that are not `ok`, the input hashes
 *   that differ from the benchmark's, its metric values (the exact doubles, as base64 float64s), its output image
 *   per sample and any other image that differs from the benchmark's.
 * `packBench` writes it (snapshot.ts), `unpackBench` reads it back (client/main.ts) into the shape compare and the
 * image browser use (client/compute.ts `Bench`). Runtime-neutral: no node or DOM API.
 */
import type { MetricMode } from '../../../eval/metrics/conventions.ts';
import type { StaticBenchmark, StaticRun } from './data.ts';

/** runId → sampleId → image kind (lq, gt, output, ref-0, ...) → snapshot file. */
export type ImageManifest = Record<string, Record<string, Record<string, string>>>;

/** A benchmark with its image manifest: what compare and the browser read. */
export type Bench = StaticBenchmark & { images: ImageManifest };

/** The layout's version: a script of another version is refused by name rather than misread. */
export const PACK_VERSION = 2;

/**
 * A run's values of one metric as URL-safe base64 of little-endian float64s, NaN for "no value": the exact doubles, at
 * about 11 characters a value where JSON needs up to 24. (JSON has no NaN either: a NaN was a null there too.)
 */
export function encodeValues(xs: readonly (number | null)[]): string {
  const view = new DataView(new ArrayBuffer(xs.length * 8));
  xs.forEach((x, i) => view.setFloat64(i * 8, x ?? NaN, true));
  const bytes = new Uint8Array(view.buffer);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  // NOTE: the URL-safe alphabet (- and _ for + and /): a value vector then holds no '/', so the snapshot's path
  // scrubbing (urls.ts scrubPaths) and its final check for local paths can never see a path in it.
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_');
}

/** The values `encodeValues` wrote (null where it wrote NaN). */
export function decodeValues(b64: string): (number | null)[] {
  const bin = atob(b64.replace(/-/g, '+').replace(/_/g, '/'));
  if (bin.length % 8) throw new Error(`a value vector of ${bin.length} bytes is not whole float64s`);
  const view = new DataView(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) view.setUint8(i, bin.charCodeAt(i));
  return Array.from({ length: bin.length / 8 }, (_, i) => {
    const x = view.getFloat64(i * 8, true);
    return Number.isNaN(x) ? null : x;
  });
}

/** A run's own part of the data script. */
export interface PackedRun extends Omit<StaticRun, 'samples' | 'values' | 'modes'> {
  /** metric → index into the benchmark's `modes` (runs mostly share their metrics' modes). */
  readonly modes: Readonly<Record<string, number>>;
  /** metric → the value per row, `encodeValues`' base64. */
  readonly values: Readonly<Record<string, string>>;
  /** Indices into the benchmark's `samples`, in the run's order; absent when the run has every sample, in order. */
  readonly rows?: readonly number[];
  /** Position in the run's rows → status, for the rows whose status is not `ok`. */
  readonly status?: Readonly<Record<number, string>>;
  /** Position → input hash (or null), where it differs from the benchmark's. */
  readonly inputs?: Readonly<Record<number, string | null>>;
  /** The output image file per row (null: none). Absent when the run has no output image. */
  readonly output?: readonly (string | null)[];
  /** Position → kind → file: images other than `output` that are not the benchmark's shared ones. */
  readonly images?: Readonly<Record<number, Readonly<Record<string, string>>>>;
  /** Position → the benchmark's shared image kinds this run does not have there. */
  readonly lack?: Readonly<Record<number, readonly string[]>>;
}

export interface PackedBench extends Omit<StaticBenchmark, 'runs'> {
  readonly v: number;
  /** Every sample id of the benchmark's runs, sorted. */
  readonly samples: readonly string[];
  /** Per sample: the input hash most runs recorded (the first seen on a tie; null when none recorded one). */
  readonly inputs: readonly (string | null)[];
  /** Per sample: kind → file, for the images (not outputs) that are the same file in every run that has them. */
  readonly shared: readonly Readonly<Record<string, string>>[];
  /** The distinct metric modes of the runs, each once. */
  readonly modes: readonly MetricMode[];
  readonly runs: readonly PackedRun[];
}

const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Lays out `b` and its image manifest: shared per-sample facts once, per-run values per run. */
export function packBench(b: StaticBenchmark, images: ImageManifest): PackedBench {
  const samples = [...new Set(b.runs.flatMap((r) => r.samples.map((s) => s[0])))].sort(byCode);
  const at = new Map(samples.map((id, i) => [id, i]));
  // The benchmark's input hash per sample: the most frequent among the runs (first seen on a tie).
  const counts = samples.map(() => new Map<string | null, number>());
  for (const r of b.runs) for (const [id, , h] of r.samples) counts[at.get(id)!].set(h, (counts[at.get(id)!].get(h) ?? 0) + 1);
  const inputs = counts.map((c) => {
    let best: string | null = null;
    let n = 0;
    for (const [h, k] of c) if (k > n) (best = h), (n = k);
    return best;
  });
  // An image kind is shared when every run having it names the same file.
  const shared: Record<string, string>[] = samples.map(() => ({}));
  const clash = samples.map(() => new Set<string>());
  for (const r of b.runs)
    for (const [id, kinds] of Object.entries(images[r.runId] ?? {})) {
      const i = at.get(id);
      if (i === undefined) continue;
      for (const [kind, file] of Object.entries(kinds)) {
        if (kind === 'output' || clash[i].has(kind)) continue;
        if (shared[i][kind] === undefined) shared[i][kind] = file;
        else if (shared[i][kind] !== file) (clash[i].add(kind), delete shared[i][kind]);
      }
    }
  const modes: MetricMode[] = [];
  const modeAt = new Map<string, number>();
  const modeIndex = (m: MetricMode) => {
    const k = JSON.stringify(m);
    if (!modeAt.has(k)) (modeAt.set(k, modes.length), modes.push(m));
    return modeAt.get(k)!;
  };
  const runs = b.runs.map((r): PackedRun => {
    const { samples: rs, values, modes: rm, ...rest } = r;
    const rows = rs.map((s) => at.get(s[0])!);
    const status: Record<number, string> = {};
    const inp: Record<number, string | null> = {};
    const own: Record<number, Record<string, string>> = {};
    const lack: Record<number, string[]> = {};
    const mine = images[r.runId] ?? {};
    rs.forEach(([id, st, h], k) => {
      if (st !== 'ok') status[k] = st;
      if (h !== inputs[rows[k]]) inp[k] = h;
      const have = mine[id] ?? {};
      for (const [kind, file] of Object.entries(have)) if (kind !== 'output' && shared[rows[k]][kind] !== file) (own[k] ??= {})[kind] = file;
      for (const kind of Object.keys(shared[rows[k]])) if (have[kind] === undefined) (lack[k] ??= []).push(kind);
    });
    const output = rs.map(([id]) => mine[id]?.output ?? null);
    const all = rows.length === samples.length && rows.every((x, k) => x === k);
    return {
      ...rest,
      values: Object.fromEntries(Object.entries(values).map(([m, xs]) => [m, encodeValues(xs)])),
      modes: Object.fromEntries(Object.entries(rm).map(([m, mode]) => [m, modeIndex(mode)])),
      ...(all ? {} : { rows }),
      ...(Object.keys(status).length ? { status } : {}),
      ...(Object.keys(inp).length ? { inputs: inp } : {}),
      ...(output.some((o) => o !== null) ? { output } : {}),
      ...(Object.keys(own).length ? { images: own } : {}),
      ...(Object.keys(lack).length ? { lack } : {}),
    };
  });
  return { v: PACK_VERSION, key: b.key, name: b.name, metrics: b.metrics, samples, inputs, shared, modes, runs };
}

/**
 * Reads a data script's layout back into the benchmark and its image manifest.
 * @throws Error naming the benchmark when the script is of another layout version.
 */
export function unpackBench(p: PackedBench): Bench {
  if (p.v !== PACK_VERSION) throw new Error(`data/${p.key}.js: layout v${String(p.v)}, this snapshot's script reads v${PACK_VERSION} (make the snapshot again)`);
  const images: ImageManifest = {};
  const runs = p.runs.map((r): StaticRun => {
    const { rows, status, inputs, output, images: own, lack, values, modes, ...rest } = r;
    const idx = rows ?? p.samples.map((_, i) => i);
    const m: Record<string, Record<string, string>> = {};
    const samples = idx.map((i, k) => {
      const id = p.samples[i];
      const kinds: Record<string, string> = { ...p.shared[i], ...own?.[k] };
      for (const kind of lack?.[k] ?? []) delete kinds[kind];
      if (output?.[k]) kinds.output = output[k];
      if (Object.keys(kinds).length) m[id] = kinds;
      return [id, status?.[k] ?? 'ok', inputs && k in inputs ? inputs[k] : p.inputs[i]] as const;
    });
    images[r.runId] = m;
    return {
      ...rest,
      samples,
      values: Object.fromEntries(Object.entries(values).map(([m, b64]) => [m, decodeValues(b64)])),
      modes: Object.fromEntries(Object.entries(modes).map(([m, i]) => [m, p.modes[i]])),
    };
  });
  return { key: p.key, name: p.name, metrics: p.metrics, runs, images };
}
