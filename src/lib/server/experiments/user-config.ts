/**
 * @file The user's config file: where THIS machine keeps the data and files that refbench cannot ship (FFHQ-Ref,
 * FFHQ, CelebA-Test-Ref, face-parsing maps, a baseline's published outputs, fine-tuned design bundles). One YAML
 * file, found as `--config <file>`, else `$REFBENCH_CONFIG`, else `./refbench.config.yaml`
 * (`refbench.config.example.yaml` lists every key). Relative paths in it are relative to the file.
 *
 * Benchmarks, experiments and restorer profiles refer to its keys with `{ config: 'datasets.ffhq-ref' }`; a missing
 * key is an error that names the key, who needs it (benchmark and field) and the file it was looked up in.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Environment variable naming the config file. */
export const CONFIG_ENV = 'REFBENCH_CONFIG';
/** Default config file name, in the working directory. */
export const CONFIG_FILE = 'refbench.config.yaml';

/** A config key that is needed and missing; the message says which, for what, and how to add it. */
export class ConfigKeyError extends Error {
  constructor(
    readonly key: string,
    readonly neededBy: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigKeyError';
  }
}

/** The loaded user config (possibly empty when no file exists). */
export class UserConfig {
  private constructor(
    /** The file, or null when none was found. */
    readonly file: string | null,
    /** Where it was looked for (for the "no config" message). */
    readonly lookedFor: string,
    private readonly data: Record<string, unknown>,
  ) {}

  /**
   * Loads the config: `explicit` (a --config flag) must exist; `$REFBENCH_CONFIG` must exist when set; the
   * default `./refbench.config.yaml` may be absent (then every lookup says how to create it).
   * @throws Error naming the file when it cannot be read, is not YAML, or is not a mapping of mappings/strings.
   */
  static load(explicit?: string, env: NodeJS.ProcessEnv = process.env): UserConfig {
    const given = explicit ?? env[CONFIG_ENV];
    const path = resolve(given ?? CONFIG_FILE);
    const how = explicit ? `--config ${explicit}` : env[CONFIG_ENV] ? `$${CONFIG_ENV}=${env[CONFIG_ENV]}` : `./${CONFIG_FILE}`;
    if (!existsSync(path)) {
      if (given) throw new Error(`${path}: config file not found (given by ${how})`);
      return new UserConfig(null, how, {});
    }
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (raw === null || raw === undefined) raw = {};
    const problems: string[] = [];
    const check = (v: unknown, at: string) => {
      if (typeof v === 'string') return;
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        for (const [k, x] of Object.entries(v)) check(x, at ? `${at}.${k}` : k);
        return;
      }
      problems.push(`${path}: ${at || '(root)'}: expected a path (string) or a mapping, got ${Array.isArray(v) ? 'a list' : JSON.stringify(v)}`);
    };
    check(raw, '');
    if (problems.length) throw new Error(problems.join('\n'));
    return new UserConfig(path, how, raw as Record<string, unknown>);
  }

  /** An in-memory config (tests, the dashboard's defaults). */
  static of(data: Record<string, unknown>, file: string | null = null): UserConfig {
    return new UserConfig(file, file ?? '(in memory)', data);
  }

  /** The string at a dotted key (`datasets.ffhq-ref`), or undefined. Keys may contain '-'. */
  raw(key: string): string | undefined {
    let cur: unknown = this.data;
    for (const k of key.split('.')) {
      if (!cur || typeof cur !== 'object') return undefined;
      cur = (cur as Record<string, unknown>)[k];
    }
    return typeof cur === 'string' ? cur : undefined;
  }

  /** A path at `key`, resolved against the config file's folder; undefined when absent. */
  path(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    return isAbsolute(v) || !this.file ? resolve(v) : resolve(dirname(this.file), v);
  }

  /**
   * The path at `key`, or a `ConfigKeyError` naming the key, `neededBy` (e.g. "benchmark ffhq-ref-severe
   * (benchmarks/ffhq-ref-severe.yaml: dataset.options.root)") and the file (or where it was looked for).
   */
  require(key: string, neededBy: string, hint?: string): string {
    const p = this.path(key);
    if (p !== undefined) return p;
    const yaml = key.split('.').map((k, i, a) => `${'  '.repeat(i)}${k}:${i === a.length - 1 ? ` <path>${hint ? `   # ${hint}` : ''}` : ''}`).join('\n');
    const where = this.file ? `${this.file} has no key '${key}'` : `no user config file (looked for ${this.lookedFor}; set $${CONFIG_ENV} or pass --config), so no key '${key}'`;
    throw new ConfigKeyError(key, neededBy, `${where}; it is needed by ${neededBy}. Add to ${this.file ?? `./${CONFIG_FILE}`}:\n${yaml}`);
  }
}
