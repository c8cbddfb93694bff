/**
 * The metric's conventions where the number is (issue 17, item 4): on the leaderboard, the compare page and the run
 * page, every metric header carries its exact mode (hover: the `title`; click: a <details> panel): implementation
 * and version, input range, resize/crop as the run recorded it, and the weight files with their sha256 prefix and
 * label. Two runs of one benchmark that score LPIPS with different resize modes are shown as two modes, each with
 * its runs. Checked on the leaderboard data and on the HTML the PRODUCTION server renders.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModel } from '../../src/lib/server/dashboard/read-model.ts';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';
import { startProductionDashboard } from '../helpers/prod-server.ts';

const VGG = resolve(import.meta.dirname, '../fixtures/lpips/vgg-narrow.onnx');
const sha12 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 12);

let root: string;
let results: string;
const ids: Record<'a' | 'b', string> = { a: '', b: '' };
let server: Awaited<ReturnType<typeof startProductionDashboard>> | undefined;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-mode-'));
  results = join(root, 'results');
  await writeFolderDataset(join(root, 'ds'), 2, 1);
  const spec = (name: string, resize: string) => ({
    name,
    dataset: { adapter: 'folder', options: { root: join(root, 'ds') } },
    restorer: { id: 'lq' },
    metrics: ['psnr', { id: 'lpips-vgg', options: { onnx: VGG, resize } }],
  });
  ids.a = (await runSpec(spec('mode-a', 'none'), { resultsDir: results, quiet: true })).runId;
  ids.b = (await runSpec(spec('mode-b', 'pil-bicubic-512'), { resultsDir: results, quiet: true })).runId;
}, 300_000);
afterAll(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('metric modes on the dashboard', () => {
  it('leaderboard columns: implementation, input, resize as recorded, weight files with sha256 and label', async () => {
    const [b] = (await readModel(results).leaderboard()).benchmarks;
    const col = (id: string) => b.columns.find((c) => c.id === id)!;
    const lp = col('lpips-vgg').mode!;
    expect(lp.variants.map((v) => v.runIds).sort()).toEqual([[ids.a], [ids.b]].sort());
    const byRun = (id: string) => lp.variants.find((v) => v.runIds.includes(id))!.mode;
    expect(byRun(ids.a).resize).toMatch(/^none: 512×512 required/);
    expect(byRun(ids.b).resize).toMatch(/^PIL bicubic to 512×512/);
    expect(byRun(ids.a).implementation).toMatch(/lpips 0\.1\.4 LPIPS v0\.1, VGG16/);
    expect(byRun(ids.a).input).toMatch(/RGB \[0, 1\]/);
    expect(byRun(ids.a).weights).toBe('test-random-init');
    expect(byRun(ids.a).files).toContainEqual({ label: 'trunk (vgg-narrow.onnx)', sha256: sha12(VGG) });
    const ps = col('psnr').mode!;
    expect(ps.variants).toHaveLength(1);
    expect([...ps.variants[0].runIds].sort()).toEqual([ids.a, ids.b].sort());
    expect(ps.variants[0].mode.implementation).toMatch(/pyiqa 0\.1\.16 'psnr'/);
    expect(col('time-ms').mode!.variants[0].mode.implementation).toMatch(/timings\.total/);
  });

  it('the production pages render the mode on every metric header (hover title and click panel)', async () => {
    server = await startProductionDashboard(results);
    const page = async (path: string) => {
      const r = await fetch(`${server!.base}${path}`);
      expect(r.status, path).toBe(200);
      return r.text();
    };
    const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
    for (const [path, expected] of [
      ['/', 3],
      [`/compare?runs=${ids.a},${ids.b}`, 3],
      [`/runs/${ids.a}`, 3],
    ] as const) {
      const html = await page(path);
      const titles = [...html.matchAll(/<details class="mode[^"]*" data-testid="metric-mode"><summary title="([^"]*)"/g)].map((m) => unescape(m[1]));
      expect(titles, path).toHaveLength(expected); // psnr, lpips-vgg, time-ms
      const lp = titles.find((t) => t.includes('lpips-vgg v'))!;
      expect(lp, path).toContain(`trunk (vgg-narrow.onnx) (sha256 ${sha12(VGG)}…)`);
      expect(lp).toContain('TEST NETWORK');
      expect(lp).toContain('implementation: lpips 0.1.4 LPIPS v0.1, VGG16');
      expect(lp).toMatch(/resize \/ crop: (none: 512×512 required|PIL bicubic to 512×512)/);
      expect(lp).not.toContain(root); // no path of this machine
      // The click panel holds the same lines.
      expect(html).toMatch(/<dd data-key="weights"[^>]*>[^<]*vgg-narrow\.onnx\) \(sha256 [0-9a-f]{12}…\)/);
    }
    // Two resize modes on one column: both, each with its run.
    const index = await page('/');
    const lpTitle = unescape([...index.matchAll(/<summary title="([^"]*)"/g)].map((m) => m[1]).find((t) => t.includes('lpips-vgg'))!);
    expect(lpTitle).toContain(`1 run(s): ${ids.a}`);
    expect(lpTitle).toContain(`1 run(s): ${ids.b}`);
  }, 600_000);
});
