/**
 * Thumbnails are made by the writers and only read by the dashboard (issue 8, "Fast at real size"; docs/security.md):
 * - `refbench run` writes, as it processes each sample, WebP thumbnails (≤ 256 px) of the LQ, references, GT and
 *   output under `<results>/thumbs/` by the sha256 of each image's bytes, so two runs on one benchmark share the
 *   input thumbnails; thumbs.jsonl says which belongs to which image.
 * - `refbench thumbs` fills in what is missing (a run from before thumbnails, deleted files), and a second call
 *   makes nothing.
 * - The dashboard (SvelteKit server over HTTP) serves a thumbnail as image/webp, answers a missing one with a 307
 *   to the full image (saying so in a header, and the image browser says so on the page), and none of its reads
 *   (pages, thumbnails, images, with thumbnails present or missing) writes, creates or deletes a file under the
 *   results folder.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../../src/lib/server/results/store.ts';
import { thumbIndex, thumbPath } from '../../src/lib/server/results/thumbs.ts';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';
import { cli } from '../helpers/cli.ts';

let root: string;
let results: string;
let ds: string;
const ids: string[] = [];

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Every file under `dir` with its sha256 and mtime, by relative path. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = `${sha(p)} ${statSync(p).mtimeMs}`;
    }
  };
  walk(dir);
  return out;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-thumbs-'));
  results = join(root, 'results');
  ds = join(root, 'ds');
  await writeFolderDataset(ds, 3, 2);
  for (const restorer of ['lq', 'classical']) {
    const r = await runSpec({ name: restorer, dataset: { adapter: 'folder', options: { root: ds } }, restorer: { id: restorer }, metrics: ['psnr'] }, { resultsDir: results, quiet: true });
    ids.push(r.runId);
  }
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('refbench run writes thumbnails by content', () => {
  it('writes a ≤256-px WebP for the LQ, each reference, the GT and the output of every sample, shared across runs', async () => {
    const [a, b] = ids.map((id) => thumbIndex(new RunStore(join(results, 'runs', id))));
    for (const [k, idx] of [a, b].entries()) {
      const store = new RunStore(join(results, 'runs', ids[k]));
      const lines = store.readSamples().latest;
      expect([...idx.bySample.keys()].sort()).toEqual(['s00', 's01', 's02']);
      for (const [sampleId, images] of idx.bySample) {
        expect(Object.keys(images).sort()).toEqual(['gt', 'lq', 'output', 'ref-0', 'ref-1']);
        // Keyed by the bytes of the very files: inputs by their file, the output by its PNG (= outputHash).
        expect(images.lq).toBe(sha(join(ds, 'lq', `${sampleId}.png`)));
        expect(images['ref-1']).toBe(sha(join(ds, 'refs', sampleId, '1.png')));
        expect(images.gt).toBe(sha(join(ds, 'gt', `${sampleId}.png`)));
        expect(images.output).toBe(lines.get(sampleId)!.outputHash);
        expect(images.output).toBe(sha(store.outputPath(lines.get(sampleId)!.output!)));
        for (const h of Object.values(images)) {
          const meta = await sharp(thumbPath(results, h)).metadata();
          expect(meta.format).toBe('webp');
          expect(Math.max(meta.width!, meta.height!)).toBe(256);
        }
      }
    }
    // The second run reused the first run's input thumbnails: one file per input content, not per run.
    for (const s of ['s00', 's01', 's02']) expect(b.bySample.get(s)!.lq).toBe(a.bySample.get(s)!.lq);
    const files = readdirSync(join(results, 'thumbs'), { recursive: true }).filter((f) => String(f).endsWith('.webp'));
    const distinct = new Set([a, b].flatMap((i) => [...i.bySample.values()].flatMap((m) => Object.values(m))));
    expect(files.length).toBe(distinct.size);
    expect(distinct.size).toBeLessThan(2 * 3 * 5);
  });
});

describe('refbench merge carries the thumbnails', () => {
  it('gives the merged run the shards\' thumbs.jsonl lines and copies their files into its own results folder', async () => {
    const spec = join(root, 'shard-spec.json');
    writeFileSync(spec, JSON.stringify({ name: 'sharded', dataset: { adapter: 'folder', options: { root: ds } }, restorer: { id: 'lq' }, metrics: ['psnr'] }));
    const shardRoots = [join(root, 'shard0'), join(root, 'shard1')];
    for (const [i, r] of shardRoots.entries()) expect((await cli(['run', spec, '--shard', `${i}/2`, '--results-dir', r, '--progress', 'lines'])).code).toBe(0);
    const shardRuns = shardRoots.map((r) => join(r, 'runs', readdirSync(join(r, 'runs'))[0]));
    const merged = join(root, 'merged');
    const m = await cli(['merge', ...shardRuns, '--results-dir', merged, '-q']);
    expect(m.code, m.err).toBe(0);
    const mergedRun = new RunStore(join(merged, 'runs', readdirSync(join(merged, 'runs'))[0]));
    const union = Object.fromEntries(shardRuns.flatMap((d) => [...thumbIndex(new RunStore(d)).bySample]));
    expect(Object.keys(union).sort()).toEqual(['s00', 's01', 's02']);
    expect(Object.fromEntries(thumbIndex(mergedRun).bySample)).toEqual(union);
    for (const images of Object.values(union)) for (const h of Object.values(images)) expect(existsSync(thumbPath(merged, h))).toBe(true);
  });
});

describe('refbench thumbs', () => {
  it('fills in the thumbnails of a run that has none, then has nothing left to do', async () => {
    const store = new RunStore(join(results, 'runs', ids[1]));
    const other = new RunStore(join(results, 'runs', ids[0]));
    const before = thumbIndex(store).bySample;
    const otherBefore = thumbIndex(other).bySample;
    rmSync(join(results, 'thumbs'), { recursive: true });
    rmSync(store.thumbsPath);
    rmSync(other.thumbsPath);

    const r = await cli(['thumbs', ids[1], '--results-dir', results]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const after = thumbIndex(store).bySample;
    // One file per distinct content (the fixture's references repeat across samples).
    const distinct = new Set([...after.values()].flatMap((m) => Object.values(m))).size;
    expect(r.out).toContain(`${ids[1]}: ${distinct} thumbnail(s) made for 3 sample(s)`);
    expect(Object.fromEntries(after)).toEqual(Object.fromEntries(before));
    for (const images of after.values()) for (const h of Object.values(images)) expect(existsSync(thumbPath(results, h))).toBe(true);

    // All runs (none named): run 0 gets its index back and only the thumbnails run 1 did not share; run 1 is done.
    const again = await cli(['thumbs', '--results-dir', results]);
    expect(again.code).toBe(0);
    expect(again.out).toContain(`${ids[1]}: 0 thumbnail(s) made for 0 sample(s)`);
    const shared = new Set([...after.values()].flatMap((m) => Object.values(m)));
    const own = new Set([...otherBefore.values()].flatMap((m) => Object.values(m)).filter((h) => !shared.has(h))).size;
    expect(again.out).toContain(`${ids[0]}: ${own} thumbnail(s) made for 3 sample(s)`);
    expect(Object.fromEntries(thumbIndex(other).bySample)).toEqual(Object.fromEntries(otherBefore));
    const third = await cli(['thumbs', '--results-dir', results]);
    expect(third.out).toContain(`${ids[0]}: 0 thumbnail(s) made for 0 sample(s)`);
  });

  it('names an unknown run', async () => {
    const r = await cli(['thumbs', 'no-such-run', '--results-dir', results]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("No run 'no-such-run'");
  });
});

describe('the dashboard only reads thumbnails', () => {
  let server: ViteDevServer;
  let base = '';

  function get(path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    return new Promise((done, fail) => {
      const req = request(`${base}${path}`, { headers: { accept: path.startsWith('/api/') ? 'image/webp,*/*' : 'text/html' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', fail);
      req.end();
    });
  }

  beforeAll(async () => {
    process.env.REFBENCH_RESULTS_DIR = results;
    const repo = resolve(import.meta.dirname, '../..');
    server = await createServer({ root: repo, configFile: join(repo, 'vite.config.ts'), mode: 'development', logLevel: 'error', server: { host: '127.0.0.1', port: 0 } });
    await server.listen();
    const addr = server.httpServer!.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  it('serves a thumbnail, redirects a missing one to the full image, and writes nothing either way', async () => {
    const [a, b] = ids;
    const reads = async (): Promise<Record<string, { status: number; thumb?: string; location?: string; type?: string }>> => {
      const out: Record<string, { status: number; thumb?: string; location?: string; type?: string }> = {};
      const paths = [
        `/browse?runs=${a},${b}`,
        `/browse?runs=${a},${b}&sample=s01&metric=psnr&sort=delta&order=worst&n=2`,
        `/runs/${a}`,
        ...['lq', 'gt', 'ref-0', 'ref-1', 'output'].map((k) => `/api/runs/${b}/thumbs/s01/${k}`),
        `/api/runs/${a}/images/s01/output`,
      ];
      await Promise.all(
        paths.map(async (p) => {
          const r = await get(p);
          out[p] = { status: r.status, thumb: r.headers['x-refbench-thumb'] as string | undefined, location: r.headers.location as string | undefined, type: r.headers['content-type'] as string };
          if (!p.startsWith('/api/')) out[p].thumb = /data-testid="thumbs-missing"/.test(r.body.toString()) ? 'page says missing' : 'page says nothing';
        }),
      );
      return out;
    };

    const present = tree(results);
    const withThumbs = await reads();
    expect(tree(results)).toEqual(present);
    expect(withThumbs[`/api/runs/${b}/thumbs/s01/output`]).toMatchObject({ status: 200, thumb: 'hit', type: 'image/webp' });
    expect(withThumbs[`/api/runs/${b}/thumbs/s01/ref-1`]).toMatchObject({ status: 200, thumb: 'hit', type: 'image/webp' });
    expect(withThumbs[`/browse?runs=${a},${b}`]).toMatchObject({ status: 200, thumb: 'page says nothing' });
    expect(withThumbs[`/runs/${a}`]).toMatchObject({ status: 200, thumb: 'page says nothing' });

    // Thumbnails gone: the route sends the full image's URL instead, the page says so, and still nothing is written.
    rmSync(join(results, 'thumbs'), { recursive: true });
    const missing = tree(results);
    const without = await reads();
    expect(tree(results)).toEqual(missing);
    expect(existsSync(join(results, 'thumbs'))).toBe(false);
    expect(without[`/api/runs/${b}/thumbs/s01/output`]).toMatchObject({ status: 307, thumb: 'missing', location: `/api/runs/${b}/images/s01/output` });
    expect(without[`/api/runs/${b}/thumbs/s01/lq`]).toMatchObject({ status: 307, location: `/api/runs/${b}/images/s01/lq` });
    expect(without[`/browse?runs=${a},${b}`]).toMatchObject({ status: 200, thumb: 'page says missing' });
    expect(without[`/runs/${a}`]).toMatchObject({ status: 200, thumb: 'page says missing' });
    const full = await get(without[`/api/runs/${b}/thumbs/s01/gt`].location!);
    expect(full.status).toBe(200);
    expect(full.headers['content-type']).toBe('image/png');
  });

  it('refuses a bad image kind and an unknown run with a clear message', async () => {
    const bad = await get(`/api/runs/${ids[0]}/thumbs/s01/secret`);
    expect(bad.status).toBe(400);
    expect(bad.body.toString()).toContain("unknown image kind 'secret'");
    const unknown = await get('/api/runs/nope/thumbs/s01/lq');
    expect(unknown.status).toBe(404);
    expect(unknown.body.toString()).toContain("no run 'nope'");
  });
});
