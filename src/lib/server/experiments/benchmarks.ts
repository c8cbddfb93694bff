/**
 * @file Benchmarks as versioned data (`benchmarks/<id>.yaml`): the dataset adapter and its options, at most N
 * references in CSV order, the metrics in their exact modes (FID reference statistics included) and a protocol
 * version. A run made from a benchmark records `{ id, version, sha256 }` in its spec (`spec.benchmark`), so runs of
 * different protocol versions are different runs and are never compared silently.
 *
 * "Changing a protocol bumps its version" is enforced, not hoped for: `protocol.sha256` is the hash of the
 * protocol (dataset, references, metrics, before any path is filled in), and loading a file whose protocol no
 * longer matches its recorded hash is an error that says to bump the version.
 *
 * Values that differ per machine are references, resolved when a run is planned:
 * - `{ config: 'datasets.ffhq-ref' }` (optionally `default:`, a path or another reference, and `join:`, a path
 *   appended to the result): a path from the user config (user-config.ts); `{benchmark}` in the key is replaced by
 *   the benchmark id;
 * - `{ repo: 'test/fixtures/…' }`: a file committed in this repository (the test networks);
 * - `{ model: 'ffhq-512-fid-stats', file: '…npz' }`: a file of the models folder (`refbench models fetch <id>`);
 * - `{ derived: 'gt-fid-stats' }`: FID statistics of the benchmark's own GT images through the metric's network,
 *   computed once and cached (derived.ts); for the embedded benchmark, whose "FFHQ" is its own HQ set.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { canonicalJson, formatIssues } from '../../eval/spec/run-spec.ts';
import { modelDir, fetchConvertCommand } from '../models/paths.ts';
import { sha256Hex } from '../results/store.ts';
import { REPO_ROOT } from '../paths.ts';
import { ConfigKeyError, type UserConfig } from './user-config.ts';

/** Folder of the benchmark files. */
export const BENCHMARKS_DIR = join(REPO_ROOT, 'benchmarks');

const ConfigRef = z.object({ config: z.string().min(1), default: z.unknown().optional(), join: z.string().min(1).optional() }).strict();
const RepoRef = z.object({ repo: z.string().min(1) }).strict();
const ModelRef = z.object({ model: z.string().min(1), file: z.string().min(1) }).strict();
const DerivedRef = z.object({ derived: z.enum(['gt-fid-stats']) }).strict();
/** A value that is filled in per machine (see the file header). */
export const ValueRefSchema = z.union([ConfigRef, RepoRef, ModelRef, DerivedRef]);
export type ValueRef = z.infer<typeof ValueRefSchema>;

const Options = z.record(z.string(), z.unknown()).default({});

export const BenchmarkSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and "-"'),
    title: z.string().min(1),
    description: z.string().optional(),
    protocol: z
      .object({
        version: z.number().int().positive(),
        /** sha256 of canonical JSON of { dataset, references, metrics } as written (before values are filled in). */
        sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 hex digits'),
        /** One line per version: what changed. */
        changes: z.record(z.string(), z.string()),
      })
      .strict(),
    paper: z
      .object({
        /** The dataset id of benchmarks/paper-tables.json whose columns this benchmark's runs fill. */
        dataset: z.string().min(1),
        /** Set when this benchmark stands in for the paper's data (then its numbers are not comparable): why. */
        standIn: z.string().min(1).optional(),
      })
      .strict(),
    dataset: z.object({ adapter: z.string().min(1), options: Options }).strict(),
    references: z.object({ max: z.number().int().min(0), order: z.literal('csv') }).strict(),
    metrics: z.array(z.object({ id: z.string().min(1), options: Options }).strict()).min(1),
    defaults: z.object({ restorer: z.string().min(1) }).strict(),
    cost: z.object({ metricsSecondsPerImage: z.object({ cpu: z.number().positive(), cuda: z.number().positive() }).strict() }).strict(),
  })
  .strict();
export type BenchmarkFile = z.infer<typeof BenchmarkSchema>;

/** A loaded benchmark and where it came from. */
export interface Benchmark extends BenchmarkFile {
  readonly file: string;
}

/** What a run records about its benchmark (`spec.benchmark`). */
export interface BenchmarkRef {
  readonly id: string;
  readonly version: number;
  readonly sha256: string;
}

/** The protocol hash of a benchmark file (what `protocol.sha256` must hold). */
export function protocolHash(b: Pick<BenchmarkFile, 'dataset' | 'references' | 'metrics'>): string {
  return sha256Hex(canonicalJson({ dataset: b.dataset, references: b.references, metrics: b.metrics }));
}

/** Parses and checks one benchmark file's content. */
export function parseBenchmark(raw: unknown, file: string): Benchmark {
  const r = BenchmarkSchema.safeParse(raw);
  if (!r.success) throw new Error(formatIssues(r.error, raw, file, [], BenchmarkSchema).join('\n'));
  const b = r.data;
  const want = file.replace(/^.*[\\/]/, '').replace(/\.ya?ml$/, '');
  if (b.id !== want) throw new Error(`${file}: id: '${b.id}' must equal the file name ('${want}')`);
  if (!b.protocol.changes[String(b.protocol.version)]) throw new Error(`${file}: protocol.changes: no line for version ${b.protocol.version} (say what changed)`);
  const h = protocolHash(b);
  if (h !== b.protocol.sha256) {
    throw new Error(
      `${file}: protocol.sha256: the protocol (dataset, references, metrics) is not the one recorded for version ${b.protocol.version} ` +
        `(recorded ${b.protocol.sha256.slice(0, 12)}…, now ${h.slice(0, 12)}…). A changed protocol is a new version: bump protocol.version, ` +
        `add a protocol.changes line, and set protocol.sha256 to ${h}`,
    );
  }
  return { ...b, file };
}

/** Ids of every benchmark file, sorted. */
export function listBenchmarkIds(dir = BENCHMARKS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => f.replace(/\.ya?ml$/, ''))
    .sort();
}

/**
 * Loads `benchmarks/<id>.yaml`.
 * @throws Error listing the available ids when there is none, or naming the file and field when it is invalid.
 */
export function loadBenchmark(id: string, dir = BENCHMARKS_DIR): Benchmark {
  const file = join(dir, `${id}.yaml`);
  if (!existsSync(file)) throw new Error(`no benchmark '${id}' (${file} not found); available: ${listBenchmarkIds(dir).join(', ')}`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseBenchmark(raw, file);
}

/** Where a reference is resolved, for error messages and derived files. */
export interface ResolveContext {
  readonly config: UserConfig;
  /** Who needs the value, e.g. `benchmark ffhq-ref-severe (benchmarks/ffhq-ref-severe.yaml: dataset.options.root)`. */
  readonly neededBy: (path: string) => string;
  /** Substituted for `{benchmark}` in config keys. */
  readonly benchmarkId?: string;
  /** The path a `derived` reference stands for at `path` (derived.ts computes the file before the run). */
  readonly derived?: (kind: ValueRef & { derived: string }, path: string) => string;
  /** Receives every missing config key (then resolution goes on with a placeholder); absent: the first one throws. */
  readonly onMissingKey?: (err: ConfigKeyError) => void;
}

/** A file the resolved value needs that is not there, with the command that makes it. */
export interface MissingFile {
  readonly path: string;
  readonly fix: string;
}

/** True for `{ config }`, `{ repo }`, `{ model, file }` or `{ derived }` objects. */
export function isValueRef(v: unknown): v is ValueRef {
  return ValueRefSchema.safeParse(v).success;
}

function requireKey(ctx: ResolveContext, key: string, path: string): string {
  try {
    return ctx.config.require(key, ctx.neededBy(path));
  } catch (err) {
    if (!(err instanceof ConfigKeyError) || !ctx.onMissingKey) throw err;
    ctx.onMissingKey(err);
    return `<missing config key ${key}>`;
  }
}

/**
 * Fills every reference inside `value` (objects and arrays, recursively).
 * @param missing receives the files the value names that do not exist (model files with their fetch command,
 *   configured paths without a default, committed `repo` files); the value is still filled.
 * @throws ConfigKeyError for a missing config key without a default.
 */
export function resolveValues(value: unknown, ctx: ResolveContext, path: string, missing: MissingFile[] = []): unknown {
  if (isValueRef(value)) {
    if ('config' in value) {
      const key = ctx.benchmarkId ? value.config.replaceAll('{benchmark}', ctx.benchmarkId) : value.config;
      const p = ctx.config.path(key);
      const base =
        p !== undefined
          ? p
          : value.default === undefined
            ? requireKey(ctx, key, path)
            : typeof value.default === 'string'
              ? resolve(value.default)
              : resolveValues(value.default, ctx, path, missing);
      let out = base;
      if (value.join !== undefined) {
        if (typeof base !== 'string') throw new Error(`${ctx.neededBy(path)}: 'join' needs a path, but the value is ${JSON.stringify(base)}`);
        out = join(base, value.join);
      }
      // A configured path the run reads must exist. NOTE: a key with a `default` names a place refbench fills itself
      // (the embedded benchmark is generated there on first use), so it need not exist before the run.
      if (p !== undefined && value.default === undefined && typeof out === 'string' && !existsSync(out)) {
        missing.push({ path: out, fix: `no such file or folder; set ${key} in ${ctx.config.file ?? 'the user config'} to where it is (needed by ${ctx.neededBy(path)})` });
      }
      return out;
    }
    if ('repo' in value) {
      const p = join(REPO_ROOT, value.repo);
      if (!existsSync(p)) missing.push({ path: p, fix: `a file of the refbench checkout is missing (${ctx.neededBy(path)}); restore it: git checkout -- ${value.repo}` });
      return p;
    }
    if ('model' in value) {
      const p = join(modelDir(undefined, value.model), value.file);
      if (!existsSync(p)) missing.push({ path: p, fix: fetchConvertCommand(value.model) });
      return p;
    }
    if (!ctx.derived) throw new Error(`${ctx.neededBy(path)}: a derived value (${value.derived}) cannot be used here`);
    return ctx.derived(value, path);
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveValues(v, ctx, `${path}[${i}]`, missing));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveValues(v, ctx, `${path}.${k}`, missing)]));
  return value;
}
