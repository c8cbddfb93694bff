/**
 * @file Fuzz test of every reader of the results store and of the dataset inputs (issue 11, "Done when"): seeded
 * random mutations of run.json, samples.jsonl, eval.jsonl, summary.json, output PNGs, an ffhq-ref-style
 * reference CSV and its images, a folder dataset and the folders themselves are fed to `refbench ls`,
 * `refbench report`, `refbench run` (resuming the mutated run) and the dashboard (index, run page, compare page,
 * image route over HTTP). For each case:
 * - the CLI exits 0 or 1, prints no stack trace and no raw zod dump, and a failure names the file it could not
 *   use (or the sample whose file it is);
 * - the dashboard never answers 5xx, never sends a stack trace, and no error body names an absolute path;
 * - the read-only commands (ls, report, every dashboard request) change nothing: sha256 + mtime of every file,
 *   link and folder under the results folder, both dataset roots and the outside folder are equal before/after;
 * - `run` (resume) changes only the resumed run's own files (run.json, summary.json, outputs/, and the
 *   append-only samples.jsonl / eval.jsonl, whose previous content stays a prefix apart from a torn tail), and
 *   leaves no lock behind.
 *
 * Speed (npm test on 2 shared cores): one fixture built once and restored in place after each case (only the
 * files that differ are copied back), the CLI run in-process (`main`, as `refbench` runs it), and one production
 * dashboard server (`refbench dashboard`, a child process) for every HTTP request; the index and the compare page alternate between cases. Mutated files are chosen
 * round-robin over the targets, each case with its own seed (printed with any failure).
 * `REFBENCH_FUZZ_SEED` / `REFBENCH_FUZZ_CASES` replay or widen the search; `REFBENCH_FUZZ_OUT=<file>` writes the
 * failures there, `<file>.ms` the time per phase and `<file>.progress` each case as it starts.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/lib/eval/stats/rng.ts';
import { encodePng } from '../../src/lib/server/image/io.ts';
import { startProductionDashboard } from '../helpers/prod-server.ts';
import { cli, runDirOf } from '../helpers/cli.ts';
import { patternImage, writeFolderDataset } from '../helpers/folder-dataset.ts';
import { type FileKind, int, mutateFile, type Outside, pick, type Rand } from './mutations.ts';

const SEED = Number(process.env.REFBENCH_FUZZ_SEED ?? 20261204);
const CASES = Number(process.env.REFBENCH_FUZZ_CASES ?? 200);

let root: string; // everything the cases may touch lives here
let pristine: string; // a copy of `root` as built, to restore from
let results: string;
let outside: Outside;
let server: Awaited<ReturnType<typeof startProductionDashboard>> | undefined;
let base = '';
const runs = { fold: '', ffhq: '' };
const specs = { fold: '', ffhq: '' };

/** Content hashes by (inode, size, mtime, ctime): ctime moves on every write, so an unchanged key is unchanged content. */
const HASHES = new Map<string, string>();

/** One entry of a tree snapshot: file content hash + mtime + mode, link target, or 'dir'. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rel = relative(dir, p);
      const st = lstatSync(p, { bigint: true });
      if (st.isSymbolicLink()) out.set(rel, `link ${readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.set(rel, 'dir');
        walk(p);
      } else if (!st.isFile()) out.set(rel, `special ${st.mode}`);
      else {
        const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
        let h = HASHES.get(key);
        if (!h) HASHES.set(key, (h = createHash('sha256').update(readFileSync(p)).digest('hex')));
        out.set(rel, `${h} ${st.mode} |${st.mtimeNs}`);
      }
    }
  };
  walk(dir);
  return out;
}

/** Paths whose snapshot entry differs (added, removed or changed; with `mtime: false` content and mode only). */
function changed(a: Map<string, string>, b: Map<string, string>, mtime = true): string[] {
  const v = (m: Map<string, string>, k: string) => (mtime ? m.get(k) : m.get(k)?.split(' |')[0]);
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => v(a, k) !== v(b, k)).sort();
}

/** Puts `root` back to `pristine`, touching only what differs (files copied back keep their mtime). */
let pristineSnapshot: Map<string, string>;
function restore(): void {
  const want = pristineSnapshot;
  const have = snapshot(root);
  const diff = changed(want, have, false);
  // Remove from the deepest up, then copy back from the shallowest down.
  for (const rel of [...diff].sort((a, b) => b.length - a.length)) {
    const p = join(root, rel);
    if (have.has(rel) && (want.get(rel) !== 'dir' || have.get(rel) !== 'dir')) rmSync(p, { recursive: true, force: true });
  }
  for (const rel of [...diff].sort((a, b) => a.length - b.length)) {
    const src = join(pristine, rel);
    const dst = join(root, rel);
    if (!want.has(rel) || existsSync(dst)) continue;
    if (want.get(rel) === 'dir') mkdirSync(dst, { recursive: true });
    else cpSync(src, dst, { preserveTimestamps: true, verbatimSymlinks: true });
  }
  const left = changed(want, snapshot(root), false);
  if (left.length) throw new Error(`fuzz fixture could not be restored: ${left.join(', ')}`);
}

/** GET with the path sent byte for byte. */
function get(path: string, timeoutMs = 20_000): Promise<{ status: number; type: string; body: string }> {
  return new Promise((done, fail) => {
    const accept = path.startsWith('/api/') ? 'image/*' : 'text/html';
    const req = request(`${base}/`, { path, method: 'GET', headers: { accept } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('latin1') }));
    });
    req.on('error', fail);
    // A hung request (e.g. a reader blocked on a named pipe) is an answer too: a failure, not a stuck test.
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path}: no answer in ${timeoutMs / 1000} s`)));
    req.end();
  });
}

/** A place a case can break: a file (by kind) or a folder, and the run whose inputs or files it is. */
interface Target {
  readonly rel: string;
  readonly kind: FileKind | 'folder';
  readonly run: keyof typeof runs;
  /** Names a message may use for it: the file name, and the sample whose file it is. */
  readonly names: readonly string[];
}

let targets: Target[] = [];

/** A folder-level mutation: a file or link where the folder was, or stray entries with awkward names. */
function mutateFolder(r: Rand, path: string): string {
  // NOTE: a runs folder linked elsewhere is a legitimate setup (results on a bigger disk): runs are written there.
  const ops = ['file-instead', 'symlink-out', 'stray-file', 'stray-file', 'stray-dir', 'delete', 'fifo'] as const;
  const op = pick(r, path === join(results, 'runs') ? ops.filter((o) => o !== 'symlink-out') : ops);
  switch (op) {
    case 'file-instead':
      rmSync(path, { recursive: true, force: true });
      writeFileSync(path, 'a file where a folder should be');
      return op;
    case 'symlink-out':
      rmSync(path, { recursive: true, force: true });
      symlinkSync(dirname(outside.secretPng), path);
      return op;
    case 'stray-file':
    case 'stray-dir': {
      const name = pick(r, ['...png', 'évil\nname.png', '.hidden.png', ' .png', `${'x'.repeat(240)}.png`, '-rf.png', 'a b.png', 'run.json', 'samples.jsonl', '%2e%2e.png', 'noext']);
      mkdirSync(path, { recursive: true });
      if (op === 'stray-dir') mkdirSync(join(path, name), { recursive: true });
      else writeFileSync(join(path, name), pick(r, ['not an image', readFileSync(outside.secretPng).toString('latin1')]), 'latin1');
      return `${op} ${JSON.stringify(name)}`;
    }
    case 'delete':
      rmSync(path, { recursive: true, force: true });
      return op;
    case 'fifo': {
      const name = pick(r, ['s01.png', 'fifo.png', 'run.json']);
      mkdirSync(path, { recursive: true });
      rmSync(join(path, name), { recursive: true, force: true });
      execFileSync('mkfifo', [join(path, name)]);
      return `${op} ${name}`;
    }
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-fuzz-'));
  results = join(root, 'results');
  const out = join(root, 'outside');
  mkdirSync(out);
  outside = { secretPng: join(out, 'secret.png'), passwd: join(out, 'passwd') };
  writeFileSync(outside.secretPng, await encodePng(patternImage(9)));
  writeFileSync(outside.passwd, 'root:x:0:0:root:/root:/bin/bash\n');

  // A folder dataset (3 samples, 1 reference each) and an ffhq-ref-style dataset (reference CSV + HQ folder).
  const ds = join(root, 'ds');
  await writeFolderDataset(ds, 3, 1);
  const ffhq = join(root, 'ffhq');
  mkdirSync(join(ffhq, 'reference_mapping'), { recursive: true });
  mkdirSync(join(ffhq, 'test_images', 'severe_degrad'), { recursive: true });
  mkdirSync(join(ffhq, 'hq'), { recursive: true });
  for (const n of ['00000', '00001', '00002']) {
    writeFileSync(join(ffhq, 'hq', `${n}.png`), await encodePng(patternImage(Number(n) + 20)));
    writeFileSync(join(ffhq, 'test_images', 'severe_degrad', `${n}.png`), await encodePng(patternImage(Number(n) + 30)));
  }
  writeFileSync(
    join(ffhq, 'reference_mapping', 'test_references.csv'),
    `gt_image,lq_image,ref_image\n00000.png,00000.png,"['00001.png', '00002.png']"\n00001.png,00001.png,"['00000.png']"\n00002.png,00002.png,"['00000.png', '00001.png']"\n`,
  );

  const specDir = join(root, 'specs');
  mkdirSync(specDir);
  specs.fold = join(specDir, 'fold.yaml');
  specs.ffhq = join(specDir, 'ffhq.yaml');
  writeFileSync(specs.fold, `name: fold\ndataset: { adapter: folder, options: { root: ${JSON.stringify(ds)} } }\nrestorer: { id: lq }\nmetrics: [psnr]\n`);
  writeFileSync(
    specs.ffhq,
    `name: ffhq\ndataset: { adapter: ffhq-ref, options: { root: ${JSON.stringify(ffhq)}, hqDir: ${JSON.stringify(join(ffhq, 'hq'))}, level: severe } }\nrestorer: { id: lq }\nmetrics: [psnr]\n`,
  );
  for (const k of ['fold', 'ffhq'] as const) {
    const r = await cli(['run', specs[k], '--results-dir', results, '-q']);
    if (r.code !== 0) throw new Error(`fixture run ${k} failed: ${r.err}`);
    runs[k] = basename(runDirOf(results, k));
  }
  const ev = await cli(['eval', runs.fold, '--metrics', 'ssim', '--results-dir', results, '-q']);
  if (ev.code !== 0) throw new Error(`fixture eval failed: ${ev.err}`);

  const fr = `results/runs/${runs.fold}`;
  const hr = `results/runs/${runs.ffhq}`;
  targets = [
    { rel: `${fr}/run.json`, kind: 'json', run: 'fold', names: ['run.json'] },
    { rel: `${fr}/samples.jsonl`, kind: 'jsonl', run: 'fold', names: ['samples.jsonl'] },
    { rel: `${fr}/eval.jsonl`, kind: 'jsonl', run: 'fold', names: ['eval.jsonl'] },
    { rel: `${fr}/summary.json`, kind: 'json', run: 'fold', names: ['summary.json'] },
    { rel: `${fr}/outputs/s01.png`, kind: 'image', run: 'fold', names: ['s01'] },
    { rel: `${fr}/outputs`, kind: 'folder', run: 'fold', names: ['outputs'] },
    { rel: `${hr}/run.json`, kind: 'json', run: 'ffhq', names: ['run.json'] },
    { rel: `${hr}/samples.jsonl`, kind: 'jsonl', run: 'ffhq', names: ['samples.jsonl'] },
    { rel: `${hr}/summary.json`, kind: 'json', run: 'ffhq', names: ['summary.json'] },
    { rel: 'results/runs', kind: 'folder', run: 'fold', names: ['runs'] },
    { rel: 'ffhq/reference_mapping/test_references.csv', kind: 'csv', run: 'ffhq', names: ['test_references.csv'] },
    { rel: 'ffhq/hq/00001.png', kind: 'image', run: 'ffhq', names: ['00001'] },
    { rel: 'ffhq/test_images/severe_degrad/00002.png', kind: 'image', run: 'ffhq', names: ['00002'] },
    { rel: 'ffhq/hq', kind: 'folder', run: 'ffhq', names: ['hq', ffhq] },
    { rel: 'ds/lq/s01.png', kind: 'image', run: 'fold', names: ['s01'] },
    { rel: 'ds/gt/s02.png', kind: 'image', run: 'fold', names: ['s02'] },
    { rel: 'ds/refs/s00/0.png', kind: 'image', run: 'fold', names: ['s00'] },
    { rel: 'ds/lq', kind: 'folder', run: 'fold', names: ['lq', ds] },
    { rel: 'ds/refs/s01', kind: 'folder', run: 'fold', names: ['s01', ds] },
  ];

  pristine = mkdtempSync(join(tmpdir(), 'refbench-fuzz-pristine-'));
  cpSync(root, pristine, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  pristineSnapshot = snapshot(pristine);

  // The production server, as `refbench dashboard` serves users (the vite dev server writes the checkout's path
  // into every page, which the leak check would rightly flag wherever the checkout lies under the temp folder).
  server = await startProductionDashboard(results);
  base = server.base;
  // Load every route once, so the cases measure warm reads.
  await Promise.all(['/', `/runs/${runs.fold}`, `/compare?runs=${runs.fold},${runs.ffhq}`, `/api/runs/${runs.fold}/images/s00/lq`].map((p) => get(p, 240_000)));
}, 300_000);

afterAll(async () => {
  await server?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
  if (pristine) rmSync(pristine, { recursive: true, force: true });
});

/** Problems with one CLI answer: a stack trace, a raw zod dump, an odd exit code, a failure naming no file. */
function cliProblems(what: string, r: { code: number; out: string; err: string }, t: Target): string[] {
  const p: string[] = [];
  const all = `${r.out}\n${r.err}`;
  if (/^\s+at \S/m.test(all)) p.push(`${what}: stack trace in the output: ${all.slice(0, 400)}`);
  if (/"code":\s*"(invalid_|too_|unrecognized)/.test(all)) p.push(`${what}: raw zod issues in the output: ${all.slice(0, 400)}`);
  // Exit 3: `run` finished but samples failed (a mutated input); the errors are per sample in samples.jsonl.
  const samplesFailed = r.code === 3 && /^refbench: \d+ of \d+ samples failed \(their errors are in \S+samples\.jsonl\)/m.test(r.err);
  if (r.code !== 0 && r.code !== 1 && !samplesFailed) p.push(`${what}: exit code ${r.code}`);
  if (r.code !== 0 && !samplesFailed && !t.names.some((n) => r.err.includes(n))) p.push(`${what}: exit ${r.code} without naming ${t.names.join(' or ')}: ${r.err.slice(0, 400)}`);
  if (r.err.length > 20_000) p.push(`${what}: ${r.err.length} characters on stderr`);
  // Bytes from a file must not reach the terminal raw: an ESC sequence or a bidi override in a message rewrites
  // what the user sees.
  const raw = /[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/.exec(all);
  if (raw) p.push(`${what}: raw control character U+${raw[0].charCodeAt(0).toString(16).padStart(4, '0')} in the output: ${JSON.stringify(all.slice(Math.max(0, raw.index - 80), raw.index + 40))}`);
  // A message with the lines indented below it (e.g. "3 problem(s) in the dataset:" and one line per file).
  const blocks = r.err.split(/\n(?!\s)/);
  const unnamed = blocks.filter((l) => /^(warning|refbench: error)/.test(l) && !l.includes('/'));
  if (unnamed.length) p.push(`${what}: a message naming no file: ${unnamed[0].slice(0, 200)}`);
  return p;
}

/** The texts a page shows as problems or errors: these must never name an absolute path (docs/security.md). */
function problemTexts(body: string): string[] {
  const out: string[] = [];
  for (const re of [/<p class="badge err"[^>]*>([\s\S]*?)<\/p>/g, /<details class="problems"[^>]*>([\s\S]*?)<\/details>/g, /<title>([\s\S]*?)<\/title>/g, /error: \{message:("(?:[^"\\]|\\.)*")\}/g]) {
    for (const m of body.matchAll(re)) out.push(m[1]);
  }
  return out;
}

/**
 * Problems with one HTTP answer: 5xx, a stack trace, an absolute path in an error body or in a problem shown on
 * a page. (A 200 page may carry run.json's own paths: docs/security.md, "What it serves".)
 */
function httpProblems(path: string, a: { status: number; body: string }): string[] {
  const p: string[] = [];
  if (a.status >= 500) p.push(`GET ${path}: ${a.status} ${problemTexts(a.body).join(' | ').slice(0, 300) || a.body.slice(0, 300)}`);
  if (/^\s+at \S.*:\d+:\d+\)?$/m.test(a.body)) p.push(`GET ${path}: stack trace in the body`);
  const leaks = (t: string) => t.includes(root) || t.includes(tmpdir() + '/');
  if (a.status >= 400 && leaks(a.body)) p.push(`GET ${path}: ${a.status} body names an absolute path: ${problemTexts(a.body).join(' | ').slice(0, 300)}`);
  for (const t of problemTexts(a.body)) if (leaks(t)) p.push(`GET ${path}: ${a.status} problem names an absolute path: ${t.slice(0, 300)}`);
  return p;
}

describe(`fuzz: ${CASES} seeded mutations (seed ${SEED}) of the store and dataset files`, () => {
  it('every reader answers clearly, never crashes or 500s, and no read changes a file', async () => {
    const rand = mulberry32(SEED);
    const failures: string[] = [];
    const kinds = new Map<string, number>();
    const ms: Record<string, number> = {};
    let t0 = performance.now();
    const lap = (k: string) => {
      const t = performance.now();
      ms[k] = (ms[k] ?? 0) + t - t0;
      t0 = t;
    };
    for (let c = 0; c < CASES; c++) {
      const t = targets[c % targets.length];
      const caseSeed = int(rand, 2 ** 31);
      const r = mulberry32(caseSeed);
      const path = join(root, t.rel);
      const what = t.kind === 'folder' ? mutateFolder(r, path) : mutateFile(r, path, t.kind, outside);
      kinds.set(what.split(' ')[0], (kinds.get(what.split(' ')[0]) ?? 0) + 1);
      const label = `case ${c} (seed ${caseSeed}) ${t.rel}: ${what.slice(0, 120)}`;
      const fail = (m: string) => failures.push(`${label}: ${m}`);
      const trace = (phase: string) => process.env.REFBENCH_FUZZ_OUT && appendFileSync(`${process.env.REFBENCH_FUZZ_OUT}.progress`, `${Math.round(performance.now())} ${label} ${phase}\n`);
      const runId = runs[t.run];
      try {
        lap('mutate');
        trace('reads');
        const before = snapshot(root);
        lap('snapshot');
        cliProblems('ls', await cli(['ls', '--results-dir', results]), t).forEach(fail);
        cliProblems('report', await cli(['report', '--results-dir', results, ...(c % 3 === 0 ? ['--format', 'csv'] : [])]), t).forEach(fail);
        lap('ls+report');
        const sample = pick(r, ['s00', 's01', 's02', '00000', '00001', '00002']);
        // NOTE: the index and the compare page (each a DuckDB aggregation of every run) alternate between cases.
        const kind = pick(r, ['output', 'output', 'lq', 'gt', 'ref-0', 'ref-1']);
        for (const p of [c % 2 ? '/' : `/compare?runs=${runs.fold},${runs.ffhq}`, `/runs/${runId}`, `/api/runs/${runId}/images/${sample}/${kind}`]) {
          httpProblems(p, await get(p)).forEach(fail);
          lap(`GET /${p.split(/[/?]/)[1]}`);
        }
        const afterReads = snapshot(root);
        lap('snapshot');
        for (const k of changed(before, afterReads)) fail(`a read changed ${k}`);

        const prevSamples = readIfFile(join(results, 'runs', runId, 'samples.jsonl'));
        const prevEval = readIfFile(join(results, 'runs', runId, 'eval.jsonl'));
        trace('run');
        const res = await cli(['run', specs[t.run], '--results-dir', results, '-q']);
        cliProblems('run (resume)', res, t).forEach(fail);
        lap('run');
        const afterRun = snapshot(root);
        const own = `results/runs/${runId}/`;
        for (const k of changed(afterReads, afterRun)) {
          // The run's own files, and the results folder's shared thumbnails (content-addressed, written by runs).
          const mine = (k.startsWith(own) && /^(run\.json|summary\.json|samples\.jsonl|eval\.jsonl|thumbs\.jsonl|outputs(\/.*)?)$/.test(k.slice(own.length))) || /^results\/thumbs(\/|$)/.test(k);
          if (!mine) fail(`run changed ${k}, which is not its own output`);
        }
        for (const [prev, file] of [
          [prevSamples, 'samples.jsonl'],
          [prevEval, 'eval.jsonl'],
        ] as const) {
          const now = readIfFile(join(results, 'runs', runId, file));
          const kept = prev === null ? '' : prev.slice(0, prev.lastIndexOf('\n') + 1);
          if (prev !== null && now !== null && !now.startsWith(kept)) fail(`run rewrote ${file} instead of appending to it`);
        }
        if (existsSync(join(results, 'runs', runId, 'run.lock'))) fail('run left run.lock behind');
      } catch (err) {
        fail(`threw: ${(err as Error).stack ?? String(err)}`);
      }
      restore();
      lap('restore');
    }
    if (process.env.REFBENCH_FUZZ_OUT) writeFileSync(`${process.env.REFBENCH_FUZZ_OUT}.ms`, JSON.stringify(ms));
    if (process.env.REFBENCH_FUZZ_OUT) writeFileSync(process.env.REFBENCH_FUZZ_OUT, failures.join('\n') + '\n');
    expect(failures, `${failures.length} failing answer(s):\n${failures.join('\n')}`).toEqual([]);
    expect(CASES).toBeGreaterThanOrEqual(200);
    expect(kinds.size).toBeGreaterThan(15); // the mutations stay varied
  }, 900_000);
});

/** A file's text, or null when it is not a regular file. */
function readIfFile(p: string): string | null {
  try {
    return lstatSync(p).isFile() ? readFileSync(p, 'latin1') : null;
  } catch {
    return null;
  }
}
