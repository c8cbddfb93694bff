/**
 * @file `command`: runs an external restorer program (DMDNet, a Python script, a binary) per sample, without a
 * shell (`execFile`), with placeholders in its argument array:
 * - `{in}`: the LQ image (PNG), `{out}`: where the program must write the restored PNG,
 * - `{refs}`: as a whole argument, expands to one argument per reference path; inside a longer argument, the
 *   paths joined with commas,
 * - `{refDir}`: a folder holding ref0.png … ref{N−1}.png, `{inDir}` / `{outDir}`: the folders of {in} / {out},
 * - `{id}`: the sample id.
 * A non-zero exit, a timeout or a missing/unreadable output is a per-sample `SampleFailure` (recorded by the
 * runner, so reports show coverage; e.g. DMDNet's landmark-detection failures), never a crash of the run.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { SampleFailure, type Restorer } from '../../eval/restorers/restorer.ts';
import { encodePng, readRgb } from '../image/io.ts';

export const CommandOptionsSchema = z
  .object({
    /** Program to run (a path or a name on PATH). */
    program: z.string().min(1),
    /** Arguments with placeholders ({in} {out} {refs} {refDir} {inDir} {outDir} {id}). */
    args: z.array(z.string()).default(['{in}', '{out}', '{refs}']),
    /** Working directory for the program. */
    cwd: z.string().optional(),
    /** Per-sample timeout in seconds. */
    timeoutS: z.number().positive().default(600),
    /** At most this many references are written (CSV order). */
    maxRefs: z.number().int().min(0).default(5),
    /** Extra environment variables. */
    env: z.record(z.string(), z.string()).default({}),
    /** A version label for run.json (e.g. the external repo's commit). */
    version: z.string().default('1'),
  })
  .strict();

/** Expands the placeholders of one argument list. */
export function expandArgs(args: readonly string[], v: { in: string; out: string; refs: readonly string[]; refDir: string; id: string }): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (a === '{refs}') {
      out.push(...v.refs);
      continue;
    }
    out.push(
      a
        .replaceAll('{in}', v.in)
        .replaceAll('{out}', v.out)
        .replaceAll('{refs}', v.refs.join(','))
        .replaceAll('{refDir}', v.refDir)
        .replaceAll('{inDir}', dirname(v.in))
        .replaceAll('{outDir}', dirname(v.out))
        .replaceAll('{id}', v.id),
    );
  }
  return out;
}

/** Creates the restorer. */
export async function createCommandRestorer(options: Readonly<Record<string, unknown>>): Promise<Restorer> {
  const parsed = CommandOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`command options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const o = parsed.data;
  const work = await mkdtemp(join(tmpdir(), 'refbench-command-'));
  return {
    info: { id: 'command', version: o.version, weights: { kind: 'none' }, settings: { program: o.program, args: o.args, maxRefs: o.maxRefs, timeoutS: o.timeoutS } },
    async restore(input, opts) {
      opts?.signal?.throwIfAborted();
      const t0 = performance.now();
      const safe = input.sampleId.replace(/[^A-Za-z0-9._-]/g, '_');
      const dir = join(work, safe);
      const inDir = join(dir, 'in');
      const outDir = join(dir, 'out');
      const refDir = join(dir, 'refs');
      await Promise.all([mkdir(inDir, { recursive: true }), mkdir(outDir, { recursive: true }), mkdir(refDir, { recursive: true })]);
      const inPath = join(inDir, `${safe}.png`);
      const outPath = join(outDir, `${safe}.png`);
      await writeFile(inPath, await encodePng(input.lq, 1));
      const refs = input.refs.slice(0, o.maxRefs);
      const refPaths = await Promise.all(
        refs.map(async (r, i) => {
          const p = join(refDir, `ref${i}.png`);
          await writeFile(p, await encodePng(r, 1));
          return p;
        }),
      );
      const args = expandArgs(o.args, { in: inPath, out: outPath, refs: refPaths, refDir, id: input.sampleId });
      const tRun = performance.now();
      const res = await new Promise<{ code: number | string | null; stderr: string }>((resolveRun) => {
        execFile(
          o.program,
          args,
          { cwd: o.cwd, timeout: o.timeoutS * 1000, env: { ...process.env, ...o.env }, maxBuffer: 16 * 1024 * 1024, signal: opts?.signal },
          (err, _stdout, stderr) => {
            const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
            resolveRun({ code: e ? (e.killed ? 'timeout' : (e.code ?? 1)) : 0, stderr: String(stderr) });
          },
        );
      });
      const runMs = performance.now() - tRun;
      try {
        if (res.code !== 0) {
          const tail = res.stderr.trim().split('\n').slice(-3).join(' | ');
          throw new SampleFailure(`${o.program} exited with ${res.code} on ${input.sampleId}${tail ? `: ${tail}` : ''}`, input.sampleId);
        }
        let image;
        try {
          image = await readRgb(outPath);
        } catch (err) {
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
