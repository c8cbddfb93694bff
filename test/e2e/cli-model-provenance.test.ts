/**
 * @file Model provenance (issue 11, item 8), through the `refbench` CLI in child processes (so the sha256 cache
 * is the on-disk one of a fresh process, under the child's working directory):
 * - run.json lists every weight file of the restorer (ReF-LDM bundle.json, the graphs it loaded, x_T) and of the
 *   metrics (LPIPS trunk + linear weights, ArcFace, Inception + FID reference statistics, NIQE parameters) with
 *   the sha256 of the file itself, also with `verifyHashes: false` and a bundle.json holding a stale hash;
 * - a second run hashes nothing (every hash from the cache, keyed by path/size/mtime/ctime);
 * - a pinned file whose bytes changed (a published-hash download; a converted output) is refused before
 *   anything runs, with the command that fixes it; resuming after an unpinned weight file changed is refused.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';

const REPO = join(import.meta.dirname, '../..');
const FIX = join(REPO, 'test/fixtures');
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

let T: string;
let M: string;
let spec: string;
/** The same metrics with the `lq` restorer: the refusal tests need no ReF-LDM sessions. */
let lqSpec: string;
const results = () => join(T, 'results');

function refbench(args: readonly string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [join(REPO, 'bin/refbench.js'), ...args], { cwd: T, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((res) => child.on('exit', (code) => res({ code, out })));
}

function flipByte(path: string): () => void {
  const buf = readFileSync(path);
  const orig = Buffer.from(buf);
  buf[buf.length >> 1] ^= 0xff;
  writeFileSync(path, buf);
  return () => writeFileSync(path, orig);
}

beforeAll(async () => {
  T = mkdtempSync(join(tmpdir(), 'refbench-provenance-'));
  // A copy of the tiny ReF-LDM bundle whose bundle.json carries a stale hash for unet.onnx.
  const bundle = join(T, 'bundle');
  mkdirSync(bundle);
  for (const f of readdirSync(join(FIX, 'refldm-tiny')).filter((f) => f.endsWith('.onnx') || f === 'x_T.f32' || f === 'bundle.json')) copyFileSync(join(FIX, 'refldm-tiny', f), join(bundle, f));
  const bj = JSON.parse(readFileSync(join(bundle, 'bundle.json'), 'utf8'));
  bj.files['unet.onnx'] = 'a'.repeat(64);
  writeFileSync(join(bundle, 'bundle.json'), JSON.stringify(bj));
  // A models root: lpips-vgg pinned by published hashes, arcface pinned at conversion.
  M = join(T, 'models');
  mkdirSync(join(M, 'weights/lpips-vgg'), { recursive: true });
  mkdirSync(join(M, 'weights/arcface-r50-webface'), { recursive: true });
  copyFileSync(join(FIX, 'lpips/vgg-narrow.onnx'), join(M, 'weights/lpips-vgg/lpips-vgg.onnx'));
  copyFileSync(join(FIX, 'lpips/vgg-narrow.lin.json'), join(M, 'weights/lpips-vgg/lpips-vgg.lin.json'));
  copyFileSync(join(FIX, 'ids/r50-narrow.onnx'), join(M, 'weights/arcface-r50-webface/source.onnx'));
  const file = (name: string, sha256: string | null) => ({ name, urls: ['https://example.invalid/' + name], sha256, size: 'small' });
  writeFileSync(
    join(M, 'manifest.json'),
    JSON.stringify({
      schemaVersion: 1,
      models: [
        {
          id: 'lpips-vgg', description: 'test LPIPS', usedBy: ['lpips-vgg'], licence: 'test',
          files: [file('lpips-vgg.onnx', sha(join(FIX, 'lpips/vgg-narrow.onnx'))), file('lpips-vgg.lin.json', sha(join(FIX, 'lpips/vgg-narrow.lin.json')))],
          convert: null, outputs: ['weights/lpips-vgg/lpips-vgg.onnx', 'weights/lpips-vgg/lpips-vgg.lin.json'],
        },
        {
          id: 'arcface-r50-webface', description: 'test ArcFace', usedBy: ['ids-arcface-r50'], licence: 'test',
          files: [file('source.onnx', null)],
          convert: { command: [process.execPath, '-e', "require('fs').copyFileSync(process.argv[1], process.argv[2])", '{dir}/source.onnx', '{dir}/webface_r50.onnx'] },
          outputs: ['weights/arcface-r50-webface/webface_r50.onnx'],
        },
      ],
    }),
  );
  await writeFolderDataset(join(T, 'ds'), 2, 1);
  spec = join(T, 'spec.yaml');
  const metrics = [
    'psnr',
    { id: 'lpips-vgg', options: { modelsDir: M } },
    { id: 'ids-arcface-r50', options: { modelsDir: M } },
    { id: 'fid-clean', options: { modelPath: join(FIX, 'fid/fid-inception-narrow.onnx'), reference: join(FIX, 'fid/stats_small.npz') } },
    { id: 'niqe', options: { modelsDir: join(REPO, 'models') } },
  ];
  writeFileSync(
    spec,
    JSON.stringify({
      name: 'prov',
      dataset: { adapter: 'folder', options: { root: join(T, 'ds') }, limit: 1 },
      restorer: { id: 'ref-ldm', options: { bundle, steps: 1, maxRefs: 1, threads: 1, verifyHashes: false } },
      metrics,
    }),
  );
  lqSpec = join(T, 'lq.json');
  writeFileSync(lqSpec, JSON.stringify({ name: 'prov-lq', dataset: { adapter: 'folder', options: { root: join(T, 'ds') }, limit: 1 }, restorer: { id: 'lq' }, metrics }));
}, 60_000);

describe('weight files: actual hashes, cached, pins enforced', () => {
  it('run.json records the actual sha256 of every restorer and metric weight file; a second run hashes nothing', async () => {
    const conv = await refbench(['models', '--models-dir', M, 'convert', 'arcface-r50-webface']);
    expect(conv.code, conv.out).toBe(0);

    const a = await refbench(['run', spec, '--results-dir', results(), '--progress', 'lines']);
    expect(a.code, a.out).toBe(0);
    expect(a.out).toContain(`weights: 12 file(s) checked; sha256 12 computed, 0 from the cache (${join(T, '.cache/refbench/sha256.json')})`);
    const runDir = join(results(), 'runs', readdirSync(join(results(), 'runs'))[0]);
    const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
    const bundle = join(T, 'bundle');
    const byName = (files: { name: string; sha256: string; path: string }[]) => Object.fromEntries(files.map((f) => [f.name, f]));
    const r = byName(run.restorer.weights.files);
    expect(Object.keys(r).sort()).toEqual(['bundle.json', 'unet.onnx', 'unet_ref.onnx', 'vae_decoder.onnx', 'vae_encoder.onnx', 'x_T']);
    for (const f of Object.values(r)) expect(f.sha256).toBe(sha(f.path));
    expect(r['unet.onnx'].sha256).not.toBe('a'.repeat(64)); // the file's hash, not bundle.json's stale one
    expect(r['unet.onnx'].path).toBe(join(bundle, 'unet.onnx'));
    const m = Object.fromEntries(run.metrics.map((x: { id: string; files?: unknown }) => [x.id, x.files]));
    expect(m['lpips-vgg']).toEqual([
      expect.objectContaining({ name: 'trunk', path: join(M, 'weights/lpips-vgg/lpips-vgg.onnx'), sha256: sha(join(FIX, 'lpips/vgg-narrow.onnx')), model: 'lpips-vgg', pinned: true }),
      expect.objectContaining({ name: 'linear weights', sha256: sha(join(FIX, 'lpips/vgg-narrow.lin.json')), model: 'lpips-vgg', pinned: true }),
    ]);
    expect(m['ids-arcface-r50']).toEqual([expect.objectContaining({ name: 'arcface', sha256: sha(join(FIX, 'ids/r50-narrow.onnx')), model: 'arcface-r50-webface', pinned: true })]);
    expect(m['fid-clean']).toEqual([
      expect.objectContaining({ name: 'inception', sha256: sha(join(FIX, 'fid/fid-inception-narrow.onnx')), pinned: false }),
      expect.objectContaining({ name: 'reference statistics', sha256: sha(join(FIX, 'fid/stats_small.npz')) }),
    ]);
    expect(m.niqe).toEqual([expect.objectContaining({ name: 'pristine parameters', sha256: sha(join(REPO, 'models/niqe/niqe-pris-params.json')) })]);
    expect(m.psnr).toBeUndefined();

    const b = await refbench(['run', spec, '--results-dir', results(), '--progress', 'lines', '--fresh']);
    expect(b.code, b.out).toBe(0);
    expect(b.out).toContain('weights: 12 file(s) checked; sha256 0 computed, 12 from the cache');
    expect(existsSync(join(T, '.cache/refbench/sha256.json'))).toBe(true);
  }, 180_000);

  it('refuses a pinned download whose bytes changed, naming the file and the fix; nothing runs', async () => {
    const before = readdirSync(join(results(), 'runs')).length;
    const restore = flipByte(join(M, 'weights/lpips-vgg/lpips-vgg.onnx'));
    try {
      const r = await refbench(['run', lqSpec, '--results-dir', results(), '-q']);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`metrics[1] 'lpips-vgg': ${join(M, 'weights/lpips-vgg/lpips-vgg.onnx')}: sha256 `);
      expect(r.out).toContain(`≠ published ${sha(join(FIX, 'lpips/vgg-narrow.onnx'))}`);
      expect(r.out).toContain("this download of 'lpips-vgg'");
      expect(r.out).toContain('delete it and fetch it again: refbench models fetch lpips-vgg');
      expect(readdirSync(join(results(), 'runs')).length).toBe(before);
    } finally {
      restore();
    }
  }, 60_000);

  it('refuses a converted output whose bytes changed, telling to convert again', async () => {
    const restore = flipByte(join(M, 'weights/arcface-r50-webface/webface_r50.onnx'));
    try {
      const r = await refbench(['run', lqSpec, '--results-dir', results(), '-q']);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/metrics\[2\] 'ids-arcface-r50': .*webface_r50\.onnx: sha256 [0-9a-f]{64} ≠ recorded at conversion [0-9a-f]{64}/);
      expect(r.out).toContain('convert it again: refbench models convert arcface-r50-webface');
    } finally {
      restore();
    }
  }, 60_000);

  it('refuses to resume a run after an unpinned weight file changed', async () => {
    const restore = flipByte(join(T, 'bundle/x_T.f32'));
    try {
      const r = await refbench(['run', spec, '--results-dir', results(), '-q']);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/weight file\(s\) changed since this run started \(.*x_T\.f32: sha256 [0-9a-f]{12}… → [0-9a-f]{12}…\); resuming would mix weights/);
    } finally {
      restore();
    }
  }, 60_000);
});
