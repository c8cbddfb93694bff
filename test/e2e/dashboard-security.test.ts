/**
 * The dashboard over HTTP as a hostile or careless client meets it (docs/security.md): the PRODUCTION server,
 * started as `refbench dashboard` (a child process serving the adapter-node build on loopback), over a results
 * folder holding legitimate runs, a tampered run and a synthfaces-ref run.
 * - Reading never writes: parallel page and image loads of a synthfaces-ref run leave every file of its root
 *   byte-identical (sha256 before/after), generate nothing, and all answer 200.
 * - Run ids are ids: encoded and double-encoded paths are unknown runs.
 * - Files outside the results folder and the run's declared dataset folders are refused, however they are named
 *   ('..' in samples.jsonl, absolute paths, symlinks out of the tree); non-images inside are refused too.
 * - Content-type comes from the magic bytes; no error body names an absolute path.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSynthfacesRef } from '../../src/lib/server/datasets/synthfaces.ts';
import { ensureSynthfaces } from '../../src/lib/server/datasets/synthfaces/generate.ts';
import { encodePng } from '../../src/lib/server/image/io.ts';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { patternImage, writeFolderDataset } from '../helpers/folder-dataset.ts';
import { startProductionDashboard } from '../helpers/prod-server.ts';

let server: Awaited<ReturnType<typeof startProductionDashboard>> | undefined;
let base = '';
let root: string;
let results: string;
let synthRoot: string;
const ids: Record<string, string> = {};

/** sha256 of every file under `dir`, by relative path. */
function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = `${createHash('sha256').update(readFileSync(p)).digest('hex')} ${statSync(p).mtimeMs}`;
    }
  };
  walk(dir);
  return out;
}

/** GET with the path sent byte for byte (fetch would normalise `%2e%2e` segments away before sending). */
function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((done, fail) => {
    const accept = path.startsWith('/api/') ? 'image/avif,image/webp,*/*' : 'text/html';
    const req = request(`${base}/`, { path, method: 'GET', headers: { accept, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

/**
 * An error answer: a 4xx whose body names no absolute path (results, datasets, temp folder, checkout) and that
 * carries no file content. For HTML pages the error message must also be there (SvelteKit's error payload).
 */
function expectSafeRefusal(r: { status: number; type: string; body: Buffer }, statuses: number[]): void {
  expect(statuses).toContain(r.status);
  const text = r.body.toString('utf8');
  const message = r.type.startsWith('text/html') ? (/error: \{message:("(?:[^"\\]|\\.)*")\}/.exec(text)?.[1] ?? '') : text;
  if (r.type.startsWith('text/html')) expect(message).not.toBe('');
  for (const p of [root, realpathSync(root), tmpdir(), resolve(import.meta.dirname, '../..')]) expect(text).not.toContain(p);
  expect(text).not.toMatch(/(root:x:0|PNG\r\n)/);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-dash-sec-'));
  results = join(root, 'results');
  const ds = join(root, 'ds');
  await writeFolderDataset(ds, 3, 1);
  // s01's GT is a JPEG in a .png file: served as image/jpeg (magic bytes), not image/png (name).
  writeFileSync(join(ds, 'gt', 's01.png'), await sharp(Buffer.from(patternImage(1).data), { raw: { width: 512, height: 512, channels: 3 } }).jpeg().toBuffer());
  const spec = (name: string) => ({ name, dataset: { adapter: 'folder', options: { root: ds } }, restorer: { id: 'lq' }, metrics: ['psnr'] });
  ids.good = (await runSpec(spec('good'), { resultsDir: results, quiet: true })).runId;

  // A secret image outside every allowed root, and paths that lead to it.
  const outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.png'), await encodePng(patternImage(9)));
  writeFileSync(join(outside, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');

  // A second copy of a run OUTSIDE the results folder: the old code served it for /api/runs/%2F...
  cpSync(join(results, 'runs', ids.good), join(outside, 'run-copy'), { recursive: true });

  // A tampered run: samples.jsonl outputs pointing out of the tree, at a symlink out, and at run.json.
  ids.evil = 'evil-0000000000';
  const evil = join(results, 'runs', ids.evil);
  cpSync(join(results, 'runs', ids.good), evil, { recursive: true });
  const rj = JSON.parse(readFileSync(join(evil, 'run.json'), 'utf8'));
  writeFileSync(join(evil, 'run.json'), JSON.stringify({ ...rj, runId: ids.evil }));
  symlinkSync(join(outside, 'secret.png'), join(evil, 'outputs', 'link.png'));
  const line = JSON.parse(readFileSync(join(evil, 'samples.jsonl'), 'utf8').split('\n')[0]);
  const depth = '../'.repeat(evil.split('/').length);
  const outputs: Record<string, string> = {
    s00: `${depth}${outside.slice(1)}/secret.png`,
    s01: 'outputs/link.png',
    s02: 'run.json',
    s03: join(outside, 'secret.png'),
    s04: `outputs/../../../../../../../../../../..${outside}/passwd`,
  };
  let seq = 100;
  for (const [sampleId, output] of Object.entries(outputs)) appendFileSync(join(evil, 'samples.jsonl'), `${JSON.stringify({ ...line, sampleId, output, seq: seq++ })}\n`);

  // A dataset whose files lead out through symlinks (a file, and a subfolder named in the CSV).
  const ffhq = join(root, 'ffhq');
  mkdirSync(join(ffhq, 'reference_mapping'), { recursive: true });
  mkdirSync(join(ffhq, 'test_images', 'severe_degrad'), { recursive: true });
  mkdirSync(join(ffhq, 'hq'), { recursive: true });
  for (const n of ['00000', '00001']) {
    writeFileSync(join(ffhq, 'hq', `${n}.png`), await encodePng(patternImage(Number(n))));
    writeFileSync(join(ffhq, 'test_images', 'severe_degrad', `${n}.png`), await encodePng(patternImage(Number(n) + 5)));
  }
  writeFileSync(join(ffhq, 'hq', 'notes.png'), 'not an image at all');
  symlinkSync(join(outside, 'secret.png'), join(ffhq, 'hq', 'escape.png'));
  symlinkSync(outside, join(ffhq, 'hq', 'sub'));
  writeFileSync(
    join(ffhq, 'reference_mapping', 'test_references.csv'),
    `gt_image,lq_image,ref_image\n00000.png,00000.png,"['escape.png', 'sub/secret.png', 'notes.png']"\n00001.png,00001.png,"['00000.png']"\n`,
  );
  ids.ffhq = (
    await runSpec(
      { name: 'ffhq', dataset: { adapter: 'ffhq-ref', options: { root: ffhq, hqDir: join(ffhq, 'hq') } }, restorer: { id: 'lq' }, metrics: [] },
      { resultsDir: results, quiet: true },
    )
  ).runId;

  // synthfaces-ref, shrunk (2 identities × 3); the run passes the opened dataset, so nothing regenerates it here.
  synthRoot = join(root, 'synthfaces');
  await ensureSynthfaces(synthRoot, undefined, { identitySizes: [3, 3] });
  ids.synth = (
    await runSpec(
      { name: 'synth', dataset: { adapter: 'synthfaces-ref', options: { root: synthRoot, level: 'severe' } }, restorer: { id: 'lq' }, metrics: [] },
      { resultsDir: results, quiet: true, dataset: await createSynthfacesRef({ root: synthRoot, level: 'severe' }) },
    )
  ).runId;

  server = await startProductionDashboard(results);
  base = server.base;
}, 480_000);

afterAll(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('dashboard: a read never writes', () => {
  it('parallel page and image loads of a synthfaces-ref run change no file of its root and all succeed', async () => {
    const before = hashTree(synthRoot);
    const siblingsBefore = readdirSync(root).sort();
    const pages = Array.from({ length: 4 }, () => get(`/runs/${ids.synth}`));
    const images = ['00000', '00003', '00005'].flatMap((s) => ['lq', 'gt', 'ref-0', 'output'].map((k) => get(`/api/runs/${ids.synth}/images/${s}/${k}`)));
    const answers = await Promise.all([...pages, ...images]);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    for (const a of answers.slice(pages.length)) expect(a.type).toBe('image/png');
    expect(answers[0].body.toString()).toContain('00005');
    expect(hashTree(synthRoot)).toEqual(before);
    expect(readdirSync(root).sort()).toEqual(siblingsBefore); // no `<root>.tmp-*` generation folder either
  });

  it('a missing synthfaces-ref root is reported on the page, not generated', async () => {
    const gone = join(root, 'never-made');
    const id = (
      await runSpec(
        { name: 'gone', dataset: { adapter: 'synthfaces-ref', options: { root: gone } }, restorer: { id: 'lq' }, metrics: [] },
        { resultsDir: results, quiet: true, dataset: await createSynthfacesRef({ root: synthRoot }) },
      )
    ).runId;
    const page = await get(`/runs/${id}`);
    expect(page.status).toBe(200);
    expect(page.body.toString()).toMatch(/cannot be listed.*no synthfaces-ref benchmark here/);
    expectSafeRefusal(await get(`/api/runs/${id}/images/00000/lq`), [404]);
    expect(readdirSync(root)).not.toContain('never-made');
  });
});

describe('dashboard: only files inside the allowed roots, only images', () => {
  it('serves the legitimate images, typed by their magic bytes', async () => {
    const out = await get(`/api/runs/${ids.good}/images/s00/output`);
    expect([out.status, out.type]).toEqual([200, 'image/png']);
    expect(out.body.equals(readFileSync(join(results, 'runs', ids.good, 'outputs', 's00.png')))).toBe(true);
    const jpeg = await get(`/api/runs/${ids.good}/images/s01/gt`);
    expect([jpeg.status, jpeg.type]).toEqual([200, 'image/jpeg']);
    expect((await get(`/api/runs/${ids.good}/images/s00/ref-0`)).status).toBe(200);
    expect((await get(`/api/runs/${ids.ffhq}/images/00001/ref-0`)).status).toBe(200);
    expect((await get(`/runs/${ids.good}`)).status).toBe(200);
  });

  it('run ids are ids: encoded and double-encoded paths are unknown runs', async () => {
    const copy = join(root, 'outside', 'run-copy');
    for (const runId of [
      encodeURIComponent(copy),
      encodeURIComponent(encodeURIComponent(copy)),
      encodeURIComponent(`../outside/run-copy`),
      encodeURIComponent(`../../outside/run-copy`),
      '..%2F..%2Foutside%2Frun-copy',
      '%2e%2e',
      '%2e%2e%2f%2e%2e%2foutside%2frun-copy',
      ids.good.slice(0, 6), // a prefix is not an id
    ]) {
      const api = await get(`/api/runs/${runId}/images/s00/output`);
      expect(api.status, runId).toBe(404);
      expectSafeRefusal(api, [404]);
      // NOTE: `/runs/%2e%2e` is the URL `/runs/..`, i.e. the index page, by URL normalisation: not a run lookup.
      if (runId === '%2e%2e') continue;
      const page = await get(`/runs/${runId}`);
      expect(page.status, runId).toBe(404);
      expectSafeRefusal(page, [404]);
    }
    expectSafeRefusal(await get(`/compare?runs=${encodeURIComponent(copy)}`), [404]);
  });

  it("samples.jsonl outputs with '..', absolute paths, symlinks out or a non-image are refused", async () => {
    for (const s of ['s00', 's01', 's03', 's04']) expectSafeRefusal(await get(`/api/runs/${ids.evil}/images/${s}/output`), [403, 404]);
    expectSafeRefusal(await get(`/api/runs/${ids.evil}/images/s02/output`), [415]); // run.json asked for as an image
    expect((await get(`/api/runs/${ids.evil}/images/s01/output`)).status).toBe(403);
    expect((await get(`/runs/${ids.evil}`)).status).toBe(200);
  });

  it('dataset files that lead out through symlinks, or are not images, are refused', async () => {
    expectSafeRefusal(await get(`/api/runs/${ids.ffhq}/images/00000/ref-0`), [403]); // hq/escape.png → outside/secret.png
    expectSafeRefusal(await get(`/api/runs/${ids.ffhq}/images/00000/ref-1`), [403]); // hq/sub/ → outside/
    expectSafeRefusal(await get(`/api/runs/${ids.ffhq}/images/00000/ref-2`), [415]); // text named .png
    expectSafeRefusal(await get(`/api/runs/${ids.ffhq}/images/00000/ref-9`), [404]);
    expectSafeRefusal(await get(`/api/runs/${ids.ffhq}/images/00000/passwd`), [400]);
    expectSafeRefusal(await get(`/api/runs/${ids.ffhq}/images/${encodeURIComponent('../../etc/passwd')}/lq`), [404]);
  });
});

describe('dashboard: the production server', () => {
  it('serves no source, module graph or file system path the way the vite dev server did', async () => {
    const repo = resolve(import.meta.dirname, '../..');
    for (const p of ['/@fs/etc/passwd', `/@fs${repo}/package.json`, '/src/lib/server/dashboard/read-model.ts', '/@vite/client', '/node_modules/vite/package.json', '/vite.config.ts', '/.svelte-kit/generated/root.js']) {
      const r = await get(p);
      expect(r.status, p).toBe(404);
      expect(r.body.toString(), p).not.toMatch(/root:x:0|"name": ?"refbench"|export default/);
    }
    const index = await get('/');
    expect(index.status).toBe(200);
    // DNS rebinding: a page of evil.example whose name resolves to 127.0.0.1 sends `Host: evil.example`.
    expect((await get('/', { host: 'evil.example' })).status).toBe(403);
    expect((await get(`/api/runs/${ids.good}/images/s00/output`, { host: 'evil.example:80' })).status).toBe(403);
    expect((await get('/', { host: `localhost:${new URL(base).port}` })).status).toBe(200);
    expect(index.body.toString()).not.toContain(repo); // the dev server wrote the checkout path into every page
  });

  it('hostile query parameters never reach SQL: clear 4xx or a named message, never a 500, and the data stay intact', async () => {
    const before = (await get('/')).body.toString().match(/data-value="[^"]*"/g);
    const hostile = ["x' OR '1'='1", "'); DROP TABLE vals; --", 'psnr"; SELECT * FROM samples; --', '%00', '../../etc/passwd', 'ä'.repeat(500), '[1,2]'];
    for (const h of hostile) {
      const q = encodeURIComponent(h);
      for (const path of [`/compare?runs=${q}`, `/compare?runs=${ids.good},${q}`, `/compare?runs=${ids.good}&baseline=${q}`, `/compare?runs=${ids.good},${ids.evil}&vs=${q}`, `/runs/${ids.good}?sample=${q}&page=${q}`, `/?over=${q}`]) {
        const r = await get(path);
        expect(r.status, `${path}`).toBeLessThan(500);
        if (r.status >= 400) expectSafeRefusal(r, [400, 404]);
      }
      const m = await get(`/compare?runs=${ids.good},${ids.evil}&metric=${q}&sample=${q}&page=${q}`);
      expect(m.status, h).toBe(200);
      expect(m.body.toString()).toContain('No run here has a metric');
    }
    expect((await get('/')).body.toString().match(/data-value="[^"]*"/g)).toEqual(before);
  });
});

describe('dashboard: store files that are not regular files (found by test/fuzz/store-fuzz.test.ts)', () => {
  it('run.json as a directory: the run page and its images are 422 naming run.json, not 500', async () => {
    const id = 'rjdir-0000000000';
    const dir = join(results, 'runs', id);
    cpSync(join(results, 'runs', ids.good), dir, { recursive: true });
    rmSync(join(dir, 'run.json'));
    mkdirSync(join(dir, 'run.json'));
    for (const path of [`/runs/${id}`, `/api/runs/${id}/images/s00/output`, `/api/runs/${id}/images/s00/lq`]) {
      const r = await get(path);
      expectSafeRefusal(r, [422]);
      expect(r.body.toString()).toContain(`runs/${id}/run.json: is a directory, not a file`);
    }
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.body.toString()).toContain(`runs/${id}/run.json: is a directory, not a file`);
    rmSync(dir, { recursive: true });
  });

  it('samples.jsonl as a directory or a named pipe: index, run page and compare answer 200 and name it', async () => {
    for (const [id, make] of [
      ['sdir-0000000000', (p: string) => mkdirSync(p)],
      ['sfifo-0000000000', (p: string) => execFileSync('mkfifo', [p])],
    ] as const) {
      const dir = join(results, 'runs', id);
      cpSync(join(results, 'runs', ids.good), dir, { recursive: true });
      const rj = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
      writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...rj, runId: id }));
      rmSync(join(dir, 'samples.jsonl'));
      make(join(dir, 'samples.jsonl'));
      const what = id.startsWith('sdir') ? 'is a directory, not a file' : 'is not a regular file (a named pipe, socket or device)';
      for (const path of ['/', `/runs/${id}`, `/compare?runs=${id},${ids.good}`]) {
        const r = await get(path);
        expect(r.status, `${path}: ${r.body.toString().slice(0, 300)}`).toBe(200);
        if (path !== `/compare?runs=${id},${ids.good}`) expect(r.body.toString()).toContain(`runs/${id}/samples.jsonl: ${what}`);
      }
      expectSafeRefusal(await get(`/api/runs/${id}/images/s00/output`), [404]);
      rmSync(dir, { recursive: true });
    }
  });

  it('a named pipe as a dataset image is refused at once (the request used to hang)', async () => {
    const ds = join(root, 'ds-pipe');
    await writeFolderDataset(ds, 1, 1);
    const id = (await runSpec({ name: 'pipe', dataset: { adapter: 'folder', options: { root: ds } }, restorer: { id: 'lq' }, metrics: [] }, { resultsDir: results, quiet: true })).runId;
    rmSync(join(ds, 'gt', 's00.png'));
    execFileSync('mkfifo', [join(ds, 'gt', 's00.png')]);
    expectSafeRefusal(await get(`/api/runs/${id}/images/s00/gt`), [404]);
  });

  it('a file where the runs folder should be: the index shows the problem, run pages are 422', async () => {
    const other = join(root, 'results-broken');
    mkdirSync(other);
    writeFileSync(join(other, 'runs'), 'not a folder');
    // The production server runs in a child process: a second one serves the broken folder.
    const broken = await startProductionDashboard(other);
    const saved = base;
    base = broken.base;
    try {
      const index = await get('/');
      expect(index.status).toBe(200);
      expect(index.body.toString()).toContain('runs: is not a folder');
      expectSafeRefusal(await get(`/runs/${ids.good}`), [422]);
      expectSafeRefusal(await get(`/api/runs/${ids.good}/images/s00/lq`), [422]);
      expectSafeRefusal(await get(`/compare?runs=${ids.good}`), [422]);
    } finally {
      base = saved;
      await broken.stop();
    }
  }, 300_000);
});

describe('dashboard: dataset CSV names that climb out of their folder (issue 11 item 3, "Done when")', () => {
  it("'..' and absolute names in a reference CSV are a listing problem on the run page; no image is served", async () => {
    const ffhq = join(root, 'ffhq-csv');
    mkdirSync(join(ffhq, 'reference_mapping'), { recursive: true });
    mkdirSync(join(ffhq, 'test_images', 'severe_degrad'), { recursive: true });
    mkdirSync(join(ffhq, 'hq'), { recursive: true });
    for (const n of ['00000', '00001']) {
      writeFileSync(join(ffhq, 'hq', `${n}.png`), await encodePng(patternImage(Number(n))));
      writeFileSync(join(ffhq, 'test_images', 'severe_degrad', `${n}.png`), await encodePng(patternImage(Number(n) + 5)));
    }
    const csv = join(ffhq, 'reference_mapping', 'test_references.csv');
    writeFileSync(csv, `gt_image,lq_image,ref_image\n00000.png,00000.png,"['00001.png']"\n00001.png,00001.png,"['00000.png']"\n`);
    const id = (await runSpec({ name: 'csvtrav', dataset: { adapter: 'ffhq-ref', options: { root: ffhq, hqDir: join(ffhq, 'hq') } }, restorer: { id: 'lq' }, metrics: [] }, { resultsDir: results, quiet: true })).runId;
    // The CSV is edited after the run: its names now lead to the secret outside every allowed root.
    const secret = join(root, 'outside', 'secret.png');
    writeFileSync(csv, `gt_image,lq_image,ref_image\n00000.png,../../../outside/secret.png,"['${secret}']"\n00001.png,00001.png,"['../../outside/secret.png']"\n`);
    const page = await get(`/runs/${id}`);
    expect(page.status).toBe(200);
    const text = page.body.toString();
    expect(text).toMatch(/dataset 'ffhq-ref' cannot be listed, so its images are not shown/);
    for (const p of [root, realpathSync(root)]) expect(problemsOf(text).join('\n')).not.toContain(p);
    for (const [s, kind] of [
      ['00000', 'lq'],
      ['00000', 'ref-0'],
      ['00001', 'ref-0'],
      ['00001', 'lq'],
    ]) {
      expectSafeRefusal(await get(`/api/runs/${id}/images/${s}/${kind}`), [404]);
    }
  });
});

/** The problem paragraphs of a page (what must never name an absolute path). */
function problemsOf(html: string): string[] {
  return [...html.matchAll(/<p class="badge err"[^>]*>([\s\S]*?)<\/p>/g)].map((m) => m[1]);
}
