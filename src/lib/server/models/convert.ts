/**
 * @file Runs a model's converter (python/.venv) and records the sha256 of its outputs in `weights/lock.json`.
 * Placeholders in the manifest command: {python} → python/.venv/bin/python, {dir} → models/weights/<id>,
 * {models} → the models root, {repo} → the repository root. The command runs in `<repo>/python` so the
 * `refbench_metrics` / `refbench_export` packages import.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelEntry } from './manifest.ts';
import { lockEntry, readLock, record, sha256Path, writeLock } from './lock.ts';
import { modelDir, modelsRoot } from './paths.ts';

export interface ConvertOptions {
  readonly modelsDir?: string;
  /** Repository root (default: cwd). */
  readonly repoRoot?: string;
  readonly log?: (line: string) => void;
}

/** Expands the placeholders of a converter argv. */
export function expandCommand(argv: readonly string[], entry: ModelEntry, opts: ConvertOptions = {}): string[] {
  const repo = resolve(opts.repoRoot ?? '.');
  const vars: Record<string, string> = {
    python: join(repo, 'python', '.venv', 'bin', 'python'),
    dir: modelDir(opts.modelsDir, entry.id),
    models: modelsRoot(opts.modelsDir),
    repo,
  };
  return argv.map((a) => a.replace(/\{(python|dir|models|repo)\}/g, (_, k: string) => vars[k]));
}

/**
 * Converts `entry` (or, for files used as-is, checks they exist) and records its outputs' hashes.
 * @throws Error when an input file is missing (with the fetch command), the converter fails (with its stderr
 *   tail), or an output is not produced.
 */
export async function convertEntry(entry: ModelEntry, opts: ConvertOptions = {}): Promise<{ output: string; sha256: string }[]> {
  const log = opts.log ?? (() => {});
  const dir = modelDir(opts.modelsDir, entry.id);
  const missing = entry.files.map((f) => join(dir, f.name)).filter((p) => !existsSync(p));
  const outputsThere = entry.outputs.every((o) => existsSync(join(modelsRoot(opts.modelsDir), o)));
  if (missing.length && (entry.convert || !outputsThere)) throw new Error(`${entry.id}: missing input file(s) ${missing.join(', ')}. Run first: refbench models fetch ${entry.id}`);
  let command: string | undefined;
  if (entry.convert) {
    const argv = expandCommand(entry.convert.command, entry, opts);
    command = argv.join(' ');
    const cwd = join(resolve(opts.repoRoot ?? '.'), 'python');
    log(`${entry.id}: running ${command}`);
    await new Promise<void>((res, rej) => {
      const child = spawn(argv[0], argv.slice(1), { cwd: existsSync(cwd) ? cwd : undefined, stdio: ['ignore', 'pipe', 'pipe'] });
      let tail = '';
      const keep = (d: Buffer) => {
        tail = (tail + d.toString()).slice(-4000);
      };
      child.stdout.on('data', (d: Buffer) => {
        keep(d);
        log(d.toString().trimEnd());
      });
      child.stderr.on('data', keep);
      child.on('error', (err) => rej(new Error(`${entry.id}: cannot start converter ${argv[0]} (${err.message}); create the venv with: bash python/setup.sh`)));
      child.on('close', (code) => (code === 0 ? res() : rej(new Error(`${entry.id}: converter exited with code ${code}: ${command}\n${tail.trim()}`))));
    });
  } else {
    log(`${entry.id}: no conversion needed (files are used as-is); recording hashes`);
  }
  const lock = await readLock(opts.modelsDir);
  const le = lockEntry(lock, entry.id);
  const out: { output: string; sha256: string }[] = [];
  for (const o of entry.outputs) {
    const p = join(modelsRoot(opts.modelsDir), o);
    if (!existsSync(p)) throw new Error(`${entry.id}: expected output ${p} was not produced${entry.convert ? ` by: ${command}` : ''}`);
    const sha = await sha256Path(p);
    le.outputs[o] = { ...record(p, sha, true, command), pinned: sha };
    out.push({ output: o, sha256: sha });
    log(`${entry.id}: ${o} sha256 ${sha}`);
  }
  await writeLock(lock, opts.modelsDir);
  return out;
}
