/**
 * @file `command`: runs an external restorer program (DMDNet, a Python script, a binary) per sample, without a
 * shell, with placeholders in its argument array:
 * - `{in}`: the LQ image (PNG), `{out}`: where the program must write the restored PNG,
 * - `{refs}`: as a whole argument, expands to one argument per reference path; inside a longer argument, the
 *   paths joined with commas,
 * - `{refDir}`: a folder holding ref0.png … ref{N−1}.png, `{inDir}` / `{outDir}`: the folders of {in} / {out},
 * - `{id}`: the sample id as a safe file stem (`sampleFileStem`: the id itself when it is letters, digits, '.',
 *   '_', '-' starting with a letter or digit, else a sanitised form with a hash suffix).
 * A non-zero exit, a timeout, a missing/unreadable output, an output that is not 8-bit RGB (16-bit and float
 * files are converted only with `outputConversion: 'rescale-16bit-and-float'`) or one holding NaN/±Inf is a
 * per-sample `SampleFailure` (recorded by the runner, so reports show coverage; e.g. DMDNet's landmark-detection
 * failures), never a crash of the run and never a silently converted number.
 *
 * Safety (every placeholder alike): each value is a path refbench created (a per-sample mkdtemp folder inside
 * this process's own work folder) or the safe stem, so no value can contain a shell metacharacter, start with
 * '-', or name a path outside the work folder; `expandArgs` re-checks this (defence in depth, whatever the
 * dataset let through); for that the temp folder's own path (TMPDIR) must be plain too, else the restorer refuses
 * to start, naming it. Cleanup removes only the folders mkdtemp made. A program that is a shell with `-c`
 * (`sh -c '... {in} ...'`) turns the template into code: the restorer warns about it (`Restorer.warnings`). How the program is tied to refbench's lifetime (process group,
 * `setpriv --pdeathsig`) and how abandoned temp folders are reaped: `command-process.ts`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SampleFailure, type Restorer } from '../../eval/restorers/restorer.ts';
import { parseOptions } from '../../eval/spec/run-spec.ts';
import { BitDepthError, encodePng, readRgb } from '../image/io.ts';
import { CommandOptionsSchema } from './options.ts';
import { sampleFileStem } from '../results/store.ts';
import { createWorkDir, reapStaleWorkDirs, runTiedProgram } from './command-process.ts';

export { CommandOptionsSchema };

/** Characters a placeholder value may hold: nothing a shell, or an option parser at the start, would interpret. */
const SAFE_VALUE = /^[A-Za-z0-9_.,/:+=@][A-Za-z0-9_.,/:+=@-]*$/;

/** The values the placeholders expand to; `expandArgs` refuses any that is not shell-safe. */
export interface PlaceholderValues {
  readonly in: string;
  readonly out: string;
  readonly refs: readonly string[];
  readonly refDir: string;
  /** The sample's safe file stem (`sampleFileStem`), never the raw id. */
  readonly id: string;
}

/**
 * Expands the placeholders of one argument list.
 * @throws Error when a value holds a character outside the safe set (a bug upstream, or an unsafe TMPDIR).
 */
export function expandArgs(args: readonly string[], v: PlaceholderValues): string[] {
  const values: Record<string, string> = { '{in}': v.in, '{out}': v.out, '{refDir}': v.refDir, '{inDir}': dirname(v.in), '{outDir}': dirname(v.out), '{id}': v.id };
  for (const [k, x] of [...Object.entries(values), ...v.refs.map((r) => ['{refs}', r] as const)]) {
    if (!SAFE_VALUE.test(x)) throw new Error(`placeholder ${k} would expand to ${JSON.stringify(x)}, which holds characters a shell or option parser could interpret; refusing to run`);
  }
  const out: string[] = [];
  for (const a of args) {
    if (a === '{refs}') {
      out.push(...v.refs);
      continue;
    }
    // One pass over the template: a value is never re-scanned for placeholders.
    out.push(a.replace(/\{(in|out|refs|refDir|inDir|outDir|id)\}/g, (m) => (m === '{refs}' ? v.refs.join(',') : values[m])));
  }
  return out;
}

const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'mksh', 'ash', 'fish', 'csh', 'tcsh', 'cmd', 'powershell', 'pwsh']);

/** Whether `program args` runs a shell on a command string (`sh -c`, `cmd /c`, `powershell -Command`). */
export function isShellTemplate(program: string, args: readonly string[]): boolean {
  const name = basename(program.replace(/\\/g, '/')).toLowerCase().replace(/\.exe$/, '');
  if (!SHELLS.has(name)) return false;
  return args.some((a) => /^-[A-Za-z]*c[A-Za-z]*$/.test(a) || /^\/c$/i.test(a) || /^-(command|c)$/i.test(a));
}

/** The spec warning for a shell template, or null. */
export function shellTemplateWarning(program: string, args: readonly string[]): string | null {
  if (!isShellTemplate(program, args)) return null;
  return (
    `restorer.options.program '${program}' runs its arguments as shell code, so the template becomes code. refbench ` +
    `substitutes only paths it created and the sanitised sample id, but anything else in the template (env, cwd, quoting) ` +
    `is yours to keep safe; prefer running the program directly (program: python3, args: [restore.py, '{in}', '{out}'])`
  );
}

/** Creates the restorer. */
export async function createCommandRestorer(options: Readonly<Record<string, unknown>>): Promise<Restorer> {
  const o = parseOptions(CommandOptionsSchema, options, { path: ['restorer', 'options'] });
  const warning = shellTemplateWarning(o.program, o.args);
  // Folders abandoned by a refbench killed with SIGKILL are removed before we add our own.
  await reapStaleWorkDirs();
  const work = await createWorkDir();
  if (!SAFE_VALUE.test(work)) {
    await rm(work, { recursive: true, force: true });
    throw new Error(`the temp folder ${JSON.stringify(work)} holds characters a shell could interpret (check TMPDIR); set TMPDIR to a plain path`);
  }
  return {
    info: { id: 'command', version: o.version, weights: { kind: 'none' }, settings: { program: o.program, args: o.args, maxRefs: o.maxRefs, timeoutS: o.timeoutS, outputConversion: o.outputConversion } },
    warnings: warning ? [warning] : [],
    async restore(input, opts) {
      opts?.signal?.throwIfAborted();
      const t0 = performance.now();
      const stem = sampleFileStem(input.sampleId);
      // NOTE: the sample's folder comes from mkdtemp inside our own work folder, never from the id, so no id can
      // make it (or its removal) point anywhere else.
      const dir = await mkdtemp(join(work, 's-'));
      try {
        const inDir = join(dir, 'in');
        const outDir = join(dir, 'out');
        const refDir = join(dir, 'refs');
        await Promise.all([mkdir(inDir), mkdir(outDir), mkdir(refDir)]);
        const inPath = join(inDir, `${stem}.png`);
        const outPath = join(outDir, `${stem}.png`);
        await writeFile(inPath, await encodePng(input.lq, 1));
        const refs = input.refs.slice(0, o.maxRefs);
        const refPaths = await Promise.all(
          refs.map(async (r, i) => {
            const p = join(refDir, `ref${i}.png`);
            await writeFile(p, await encodePng(r, 1));
            return p;
          }),
        );
        const args = expandArgs(o.args, { in: inPath, out: outPath, refs: refPaths, refDir, id: stem });
        const tRun = performance.now();
        const res = await runTiedProgram(o.program, args, { cwd: o.cwd, env: { ...process.env, ...o.env }, timeoutMs: o.timeoutS * 1000, signal: opts?.signal });
        const runMs = performance.now() - tRun;
        if (res.code !== 0) {
          const tail = (res.spawnError ?? res.stderr).trim().split('\n').slice(-3).join(' | ');
          throw new SampleFailure(`${o.program} exited with ${res.code} on ${input.sampleId}${tail ? `: ${tail}` : ''}`, input.sampleId);
        }
        let image;
        try {
          image = await readRgb(outPath, { bitDepth: o.outputConversion });
        } catch (err) {
          if (err instanceof BitDepthError) {
            const hint = o.outputConversion === 'require-8bit' && !/non-finite/.test(err.message) ? "; write 8-bit RGB, or set restorer option outputConversion: 'rescale-16bit-and-float'" : '';
            throw new SampleFailure(`${o.program} wrote an unusable output for ${input.sampleId}: ${err.message}${hint}`, input.sampleId);
          }
          throw new SampleFailure(`${o.program} wrote no readable output for ${input.sampleId} (${err instanceof Error ? err.message : String(err)})`, input.sampleId);
        }
        return { image, timings: { run: runMs, total: performance.now() - t0 }, info: { refsUsed: refs.length } };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    async dispose() {
      await rm(work, { recursive: true, force: true });
    },
  };
}
