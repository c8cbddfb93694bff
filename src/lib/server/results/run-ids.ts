/**
 * @file Where runs are in a results root (`<results>/runs/<runId>/`), and finding one by directory, id or unique
 * id prefix.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { suggest } from '../../eval/registry.ts';
import { listWithMore } from '../../format.ts';

/** The runs folder under a results root. */
export function runsRoot(resultsDir: string): string {
  return join(resultsDir, 'runs');
}

/**
 * Resolves `<runDir | runId>` to a run directory: an existing path containing run.json, else
 * `<resultsDir>/runs/<runId>`, else a unique runId prefix.
 * @throws naming what was tried and the closest run ids.
 */
export function resolveRunDir(resultsDir: string, ref: string): string {
  if (existsSync(join(ref, 'run.json'))) return resolve(ref);
  const byId = join(runsRoot(resultsDir), ref);
  if (existsSync(join(byId, 'run.json'))) return resolve(byId);
  const ids = listRunIds(resultsDir);
  const pref = ids.filter((id) => id.startsWith(ref));
  if (pref.length === 1) return resolve(join(runsRoot(resultsDir), pref[0]));
  const all = ids.length > 5 ? ' (`refbench ls` lists them all)' : '';
  const close = suggest(ref, ids);
  const hint =
    pref.length > 1
      ? ` Ambiguous prefix '${ref}' matches ${pref.length} runs: ${listWithMore(pref)}${pref.length > 5 ? ' (`refbench ls` lists them all)' : ''}`
      : ids.length
        ? `${close.length ? ` Did you mean: ${close.join(', ')}?` : ''} Known runs (${ids.length}): ${listWithMore(ids)}${all}`
        : '';
  throw new Error(`No run '${ref}': neither a run directory nor a run id under ${runsRoot(resultsDir)}.${hint}`);
}

/**
 * Run ids under `resultsDir` (directories holding a run.json), sorted; none when there is no runs folder.
 * @throws naming the runs folder when it is a file or cannot be listed.
 */
export function listRunIds(resultsDir: string): string[] {
  const root = runsRoot(resultsDir);
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new Error(`${root}: ${code === 'ENOTDIR' ? 'is not a folder' : `cannot be listed (${code ?? (err as Error).message})`}; the results root keeps its runs in this folder`);
  }
  return entries
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'run.json')))
    .map((d) => d.name)
    .sort();
}

