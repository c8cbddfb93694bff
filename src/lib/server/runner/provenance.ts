/**
 * @file Provenance facts recorded in run.json: code version (git sha + dirty flag), package versions and host.
 * Every probe is best effort: a missing git or package gives `null`, never an error.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, platform, release, totalmem, arch } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.ts';

function pkgVersion(dir: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** git sha and dirty flag of the refbench checkout; nulls when not a git checkout. */
export function codeVersion(): { gitSha: string | null; dirty: boolean | null; packageVersion: string } {
  let gitSha: string | null = null;
  let dirty: boolean | null = null;
  try {
    gitSha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() !== '';
  } catch {
    /* not a checkout */
  }
  return { gitSha, dirty, packageVersion: pkgVersion(REPO_ROOT) ?? 'unknown' };
}

/** Versions of the native and numeric packages that can change numbers or speed. */
export function packageVersions(): Record<string, string | null> {
  const nm = join(REPO_ROOT, 'node_modules');
  return {
    node: process.versions.node,
    'onnxruntime-node': pkgVersion(join(nm, 'onnxruntime-node')),
    sharp: pkgVersion(join(nm, 'sharp')),
    '@duckdb/node-api': pkgVersion(join(nm, '@duckdb/node-api')),
    zod: pkgVersion(join(nm, 'zod')),
  };
}

/** Host facts: OS, CPU model, logical cores, memory. */
export function hostInfo(): { os: string; cpu: string; cores: number; memoryBytes: number; node: string } {
  const c = cpus();
  return {
    os: `${platform()} ${release()} ${arch()}`,
    cpu: c[0]?.model?.trim() ?? 'unknown',
    cores: c.length,
    memoryBytes: totalmem(),
    node: process.version,
  };
}
