/**
 * @file The run spec: what `refbench run` evaluates (dataset × restorer × metrics). A zod schema, a parser whose
 * errors name the file and the field path (`spec.yaml: restorer.options.steps: expected number, got "ten"`),
 * CLI-override merging (flags > file > defaults) and the canonical JSON used to derive a run's id.
 * Runtime-neutral: file reading and hashing live in `server/runner/spec-file.ts`.
 */
import { z } from 'zod';
import { suggest } from '../suggest.ts';

const Options = z.record(z.string(), z.unknown());

const MetricEntry = z.union([
  z.string().min(1),
  z.object({ id: z.string().min(1), options: Options.default({}) }).strict(),
]);

/** The spec as written by a user (YAML or JSON). Unknown keys are rejected so typos never pass silently. */
export const RunSpecSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" or "-" (it becomes a directory name)'),
    dataset: z
      .object({
        adapter: z.string().min(1),
        options: Options.default({}),
        limit: z.number().int().positive().optional(),
      })
      .strict(),
    restorer: z.object({ id: z.string().min(1), options: Options.default({}) }).strict(),
    metrics: z.array(MetricEntry).default([]),
    seed: z.number().int().nonnegative().default(2024),
    outputs: z.object({ saveImages: z.boolean().default(true) }).strict().default({ saveImages: true }),
    /**
     * Execution device/threads for the METRICS' networks. NOTE: restorers take their own `device`/`threads` in
     * `restorer.options` (their option schemas are strict and differ: `command` has no device), so these are not
     * copied into restorer options.
     */
    device: z.enum(['cpu', 'cuda']).default('cpu'),
    threads: z.number().int().positive().optional(),
    /**
     * Free labels for finding runs (the dashboard filters and searches by them): `[baseline, ablation-refs]`.
     * Metadata, not identity: they do not change the run id.
     */
    tags: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}$/, 'a tag is 1-64 letters, digits, ".", "_", ":", "+" or "-"')).optional(),
    /**
     * The benchmark file (`benchmarks/<id>.yaml`) and protocol version this spec was made from (`refbench
     * reproduce`). Part of the run's identity: runs of different protocol versions are different runs, and reports
     * refuse to compare them silently.
     */
    benchmark: z
      .object({ id: z.string().min(1), version: z.number().int().positive(), sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 hex digits') })
      .strict()
      .optional(),
  })
  .strict();

/** One metric request after normalisation (`'psnr'` → `{ id: 'psnr', options: {} }`). */
export interface MetricRequest {
  readonly id: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** The fully resolved spec (defaults applied, metrics normalised); this is what run.json records. */
export interface ResolvedRunSpec {
  readonly name: string;
  readonly dataset: { readonly adapter: string; readonly options: Readonly<Record<string, unknown>>; readonly limit?: number };
  readonly restorer: { readonly id: string; readonly options: Readonly<Record<string, unknown>> };
  readonly metrics: readonly MetricRequest[];
  readonly seed: number;
  readonly outputs: { readonly saveImages: boolean };
  readonly device: 'cpu' | 'cuda';
  readonly threads?: number;
  readonly tags?: readonly string[];
  readonly benchmark?: { readonly id: string; readonly version: number; readonly sha256: string };
}

/** A spec problem; the message is already prefixed with the file and field path. */
export class SpecError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
    this.name = 'SpecError';
  }
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** Dotted field path, with `[i]` for array indices: `metrics[2].id`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : s ? `.${String(k)}` : String(k);
  return s || '(root)';
}

type Def = { type?: string; innerType?: z.ZodType; in?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType; valueType?: z.ZodType; options?: z.ZodType[] };
const defOf = (s: z.ZodType | undefined): Def => ((s as unknown as { _zod?: { def?: Def } })?._zod?.def ?? {});

/** Strips optional/default/nullable/... wrappers. */
function unwrapSchema(s: z.ZodType | undefined): z.ZodType | undefined {
  for (let i = 0; i < 16 && s; i++) {
    const d = defOf(s);
    if (d.innerType && ['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(d.type ?? '')) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else break;
  }
  return s;
}

/**
 * The keys an object schema accepts at `path` inside `schema` (through arrays, records, unions and wrappers), for
 * "did you mean" suggestions; empty when unknown.
 */
export function keysAt(schema: z.ZodType | undefined, path: readonly PropertyKey[]): string[] {
  const objectsIn = (s: z.ZodType | undefined): z.ZodType[] => {
    const u = unwrapSchema(s);
    const d = defOf(u);
    if (d.type === 'object') return [u!];
    if (d.type === 'union') return (d.options ?? []).flatMap(objectsIn);
    return [];
  };
  let cur: z.ZodType[] = schema ? [schema] : [];
  for (const k of path) {
    cur = cur.flatMap((s) => {
      const u = unwrapSchema(s);
      const d = defOf(u);
      if (d.type === 'object') return d.shape && typeof k === 'string' && k in d.shape ? [d.shape[k]] : [];
      if (d.type === 'array') return d.element ? [d.element] : [];
      if (d.type === 'record') return d.valueType ? [d.valueType] : [];
      if (d.type === 'union') return objectsIn(u).flatMap((o) => (typeof k === 'string' && defOf(o).shape && k in defOf(o).shape! ? [defOf(o).shape![k]] : []));
      return [];
    });
  }
  return [...new Set(cur.flatMap(objectsIn).flatMap((o) => Object.keys(defOf(o).shape ?? {})))];
}

/** `unknown key; did you mean 'level'? (valid: root, hqDir, level)` for one unknown key. */
export function unknownKeyMessage(key: string, valid: readonly string[]): string {
  const close = suggest(key, valid, 1);
  return (
    `unknown key '${key}'` +
    (close.length ? `; did you mean '${close[0]}'?` : '') +
    (valid.length ? ` (valid keys: ${valid.join(', ')})` : ' (no keys are accepted here)')
  );
}

/**
 * Turns zod issues into `file: field.path: message` lines, showing the offending value for type errors and, for
 * each unknown key, the closest valid key and every valid one (`schema` gives the valid keys).
 * @param prefix prepended to every path (e.g. `restorer.options` when validating a restorer's own options).
 */
export function formatIssues(err: z.ZodError, raw: unknown, file: string, prefix: readonly PropertyKey[] = [], schema?: z.ZodType): string[] {
  return err.issues.flatMap((iss) => {
    const path = [...prefix, ...iss.path];
    if (iss.code === 'unrecognized_keys') {
      const valid = keysAt(schema, iss.path);
      return iss.keys.map((k) => `${file}: ${fieldPath([...path, k])}: ${unknownKeyMessage(k, valid)}`);
    }
    let msg: string;
    if (iss.code === 'invalid_type') {
      msg = `expected ${iss.expected}, got ${describe(valueAt(raw, iss.path))}`;
    } else if (iss.code === 'invalid_value') {
      msg = `expected one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(valueAt(raw, iss.path))}`;
    } else if (iss.code === 'invalid_union') {
      msg = `expected a metric id string or { id, options }, got ${describe(valueAt(raw, iss.path))}`;
    } else {
      msg = iss.message;
    }
    return [`${file}: ${fieldPath(path)}: ${msg}`];
  });
}

/**
 * Validates arbitrary options against a schema (used by restorers/metrics for their own `options`), throwing a
 * `SpecError` whose lines read `<file>: restorer.options.sigma: expected number, got "x"`.
 */
export function parseOptions<T extends z.ZodType>(schema: T, raw: unknown, where: { file?: string; path: readonly PropertyKey[] }): z.output<T> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const lines = formatIssues(r.error, raw, where.file ?? 'spec', where.path, schema);
  throw new SpecError(lines.join('\n'), lines);
}

/**
 * Parses and resolves a raw spec object.
 * @param file the spec's file name, used in every error message.
 * @throws SpecError listing every problem, one `file: path: message` per line.
 */
export function parseRunSpec(raw: unknown, file = 'spec'): ResolvedRunSpec {
  const r = RunSpecSchema.safeParse(raw);
  if (!r.success) {
    const lines = formatIssues(r.error, raw, file, [], RunSpecSchema);
    throw new SpecError(lines.join('\n'), lines);
  }
  const s = r.data;
  const metrics = s.metrics.map((m) => (typeof m === 'string' ? { id: m, options: {} } : { id: m.id, options: m.options }));
  const seen = new Set<string>();
  for (const [i, m] of metrics.entries()) {
    if (seen.has(m.id)) throw new SpecError(`${file}: metrics[${i}]: metric '${m.id}' is listed twice`);
    seen.add(m.id);
  }
  return {
    name: s.name,
    dataset: { adapter: s.dataset.adapter, options: s.dataset.options, ...(s.dataset.limit !== undefined ? { limit: s.dataset.limit } : {}) },
    restorer: { id: s.restorer.id, options: s.restorer.options },
    metrics,
    seed: s.seed,
    outputs: { saveImages: s.outputs.saveImages },
    device: s.device,
    ...(s.threads !== undefined ? { threads: s.threads } : {}),
    ...(s.tags !== undefined ? { tags: [...new Set(s.tags)] } : {}),
    ...(s.benchmark ? { benchmark: s.benchmark } : {}),
  };
}

/** CLI flags that override the spec file (precedence: flags > file > defaults). */
export interface SpecOverrides {
  name?: string;
  limit?: number;
  seed?: number;
  device?: 'cpu' | 'cuda';
  threads?: number;
  /** Replaces the metric list. */
  metrics?: readonly string[];
  /** `key=value` pairs merged into `restorer.options` (values parsed as JSON when possible). */
  restorerOptions?: Readonly<Record<string, unknown>>;
  /** Merged into `dataset.options`. */
  datasetOptions?: Readonly<Record<string, unknown>>;
  saveImages?: boolean;
}

/**
 * Applies CLI overrides to a raw (unvalidated) spec object, so the merged result goes through the same validation
 * and error messages as the file itself.
 */
export function applyOverrides(raw: unknown, o: SpecOverrides): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const s = structuredClone(raw) as Record<string, any>;
  const obj = (k: string): Record<string, any> => {
    if (s[k] === undefined) s[k] = {};
    return s[k];
  };
  if (o.name !== undefined) s.name = o.name;
  if (o.seed !== undefined) s.seed = o.seed;
  if (o.device !== undefined) s.device = o.device;
  if (o.threads !== undefined) s.threads = o.threads;
  if (o.metrics !== undefined) s.metrics = [...o.metrics];
  if (o.limit !== undefined && typeof obj('dataset') === 'object') s.dataset.limit = o.limit;
  if (o.saveImages !== undefined && typeof obj('outputs') === 'object') s.outputs.saveImages = o.saveImages;
  if (o.restorerOptions && typeof obj('restorer') === 'object') s.restorer.options = { ...(s.restorer.options ?? {}), ...o.restorerOptions };
  if (o.datasetOptions && typeof obj('dataset') === 'object') s.dataset.options = { ...(s.dataset.options ?? {}), ...o.datasetOptions };
  return s;
}

/** Parses `k=v` CLI pairs; values that parse as JSON (numbers, booleans, arrays) are typed, others stay strings. */
export function parseKeyValues(pairs: readonly string[], flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new SpecError(`${flag}: expected key=value, got ${JSON.stringify(p)}`);
    const v = p.slice(eq + 1);
    let parsed: unknown = v;
    try {
      parsed = JSON.parse(v);
    } catch {
      /* a plain string */
    }
    out[p.slice(0, eq)] = parsed;
  }
  return out;
}

/** JSON with object keys sorted recursively: equal specs give byte-equal strings (hence equal run ids). */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

/**
 * The part of a resolved spec that identifies a run: everything except `threads` (no effect on numbers), `tags`
 * (labels) and `dataset.limit` (so extending a limited run resumes it instead of starting over).
 */
export function identityOfSpec(s: ResolvedRunSpec): unknown {
  const { threads: _t, tags: _g, dataset, ...rest } = s;
  const { limit: _l, ...ds } = dataset;
  return { ...rest, dataset: ds };
}
