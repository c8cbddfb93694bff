/**
 * The fusion benchmarks page (/fusion) in a real browser (playwright-core driving Debian's chromium): it lists a
 * `refbench bench fusion` result (results/bench/<id>/fusion.json) and a PyTorch-engine bench JSON (the measured
 * folder) with the paper's Table 2 (our time and memory ratios to spatial-concatenation beside the paper's) and
 * Table 6, the same numbers `refbench report` prints for those files; both charts are drawn; a broken file is
 * named with its bad field and costs only itself. Screenshot under test-results/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_TABLE2, PAPER_TABLE6 } from '../../src/lib/server/timing/paper-fusion.ts';
import { cli } from '../helpers/cli.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const REPO = resolve(import.meta.dirname, '../..');
/** Playwright's navigation and action timeout, generous: the machine may be shared (vite compiles each route on
 * its first request). */
const PAGE_TIMEOUT_MS = 90_000;
const SHOTS = join(REPO, 'test-results');

const row = (design: string, refs: number, timeMs: number, mb: number) => ({ design, refs, timeMs, peakRssDeltaBytes: mb * 2 ** 20 });

/** A schema-valid PyTorch-engine bench JSON (src/lib/server/timing/torch-bench.ts), CUDA, eager and fastest, CacheKV and spatial. */
function torchBench(): unknown {
  const sw = (fast: boolean) => ({ cfgBatch: fast, attention: fast ? 'sdpa' : 'math', kvCache: fast ? 'buffers' : 'concat', refPass: fast ? 'batched' : 'loop', dtype: 'fp32', compile: false, cudaGraphs: fast, cudnnBenchmark: fast });
  const cell = (variant: string, design: string, refs: number, timeMs: number, mb: number) => ({ variant, design, refs, timeMs, memoryMethod: 'cuda-max-allocated', peakBytes: mb * 2 ** 20 });
  return {
    kind: 'refldm-torch-bench', schemaVersion: 1, complete: true, createdAt: '2026-12-01T12:00:00Z', label: 'paper weights', command: ['python', '-m', 'refbench_model.bench'],
    config: 'paper', seed: 0, imageSize: 512, steps: 100, stepsRun: 100, schedule: 'uniform', cfg: 1.5, repeat: 3, warmupSteps: 2, refs: [1, 5], designs: ['cachekv', 'spatial'], ablationRefs: 5,
    device: 'cuda:0', deviceName: 'NVIDIA H200', memory: 'cuda-max-allocated',
    host: { python: '3.12', torch: '2.13.0', cuda: '12.8', cudnn: 90100, platform: 'linux', cpus: 16, threads: 16 },
    tf32: { matmul: false, cudnn: false }, variants: { eager: sw(false), fastest: sw(true) }, ignored: {}, buildS: 1.5,
    rows: [cell('eager', 'cachekv', 1, 3000, 2000), cell('eager', 'cachekv', 5, 4000, 2500), cell('eager', 'spatial', 1, 5000, 3000), cell('eager', 'spatial', 5, 16000, 5000), cell('fastest', 'cachekv', 1, 1000, 1800), cell('fastest', 'cachekv', 5, 1200, 2000), cell('fastest', 'spatial', 1, 2000, 2600), cell('fastest', 'spatial', 5, 6000, 4000)],
    ablation: [], drift: [], checks: [], targets: [], budget: { timeBudgetS: 0, elapsedS: 10, skipped: 0 },
    paper: { table2: Object.fromEntries(Object.entries(PAPER_TABLE2).map(([k, v]) => [k, { time: v.time, memory: v.memory }])), table6: PAPER_TABLE6 },
  };
}

describe.skipIf(!HAVE_CHROMIUM)(`fusion benchmarks page in chromium (${HAVE_CHROMIUM ? CHROMIUM : `skipped: no browser at ${CHROMIUM}`})`, () => {
  let server: ViteDevServer;
  let browser: Browser;
  let base = '';
  let root = '';
  let results = '';
  let measured = '';
  const id = '20261128T000000Z-abcde';

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'refbench-fusion-page-'));
    results = join(root, 'results');
    measured = join(root, 'measured');
    mkdirSync(join(results, 'bench', id), { recursive: true });
    mkdirSync(join(results, 'bench', 'broken'), { recursive: true });
    mkdirSync(measured, { recursive: true });
    writeFileSync(
      join(results, 'bench', id, 'fusion.json'),
      JSON.stringify({
        kind: 'fusion-bench', id, createdAt: '2026-11-28T00:00:00Z', label: 'untrained random-init weights (timing only)', config: 'tiny',
        bundle: '/x', weights: { kind: 'random-init', seed: 0 }, device: 'cpu', threads: 2, steps: 4, cfg: 1.5, repeat: 1,
        host: { cpus: 2, cpuModel: 'test', node: 'v20', onnxruntime: '1.30.0' },
        rows: [row('cachekv', 1, 1000, 100), row('cachekv', 5, 2000, 300), row('spatial', 1, 1500, 150), row('spatial', 5, 8000, 1000), { design: 'cross', refs: 5, error: 'boom' }],
      }),
    );
    writeFileSync(join(results, 'bench', 'broken', 'fusion.json'), JSON.stringify({ kind: 'fusion-bench', id: 'broken', createdAt: 'x', label: 'x', config: 'tiny', device: 'cpu', threads: 1, steps: 1, cfg: 1, repeat: 1, rows: [{ design: 'fancy', refs: 1 }] }));
    writeFileSync(join(measured, 'refldm-torch-H200.json'), JSON.stringify(torchBench()));
    writeFileSync(join(measured, 'notes.json'), JSON.stringify({ something: 'else' }));
    process.env.REFBENCH_RESULTS_DIR = results;
    process.env.REFBENCH_MEASURED_DIR = measured;
    server = await createServer({ root: REPO, configFile: join(REPO, 'vite.config.ts'), mode: 'development', logLevel: 'error', server: { host: '127.0.0.1', port: 0 } });
    await server.listen();
    const addr = server.httpServer!.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    mkdirSync(SHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    delete process.env.REFBENCH_MEASURED_DIR;
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('lists both benches with Table 2 ratios beside the paper\'s (as `refbench report` prints them), Table 6, and charts', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(PAGE_TIMEOUT_MS);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/fusion`, { waitUntil: 'networkidle' });
    const benches = page.locator('[data-testid=bench]');
    expect(await benches.count()).toBe(2);
    expect(await benches.evaluateAll((els) => els.map((e) => e.getAttribute('data-source')))).toEqual(['measured/refldm-torch-H200.json', `results/bench/${id}/fusion.json`]);

    // The onnx bench: the same CacheKV row `refbench report` prints for that file.
    const rep = await cli(['report', '--results-dir', results, id]);
    expect(rep.code).toBe(0);
    const cachekv = rep.out.split('\n').find((l) => l.startsWith('CacheKV'))!.split(/\s+/).slice(1); // time, mem, t/sp, m/sp, paper t, paper m, p t/sp, p m/sp
    const onnx = page.locator(`[data-source="results/bench/${id}/fusion.json"]`);
    const cell = (design: string, col: string) => onnx.locator(`[data-testid=table2] tr[data-design=${design}] td[data-col=${col}]`).innerText();
    expect([await cell('cachekv', 'time-ratio'), await cell('cachekv', 'memory-ratio'), await cell('cachekv', 'paper-time-ratio'), await cell('cachekv', 'paper-memory-ratio')]).toEqual([cachekv[2], cachekv[3], cachekv[6], cachekv[7]]);
    expect(cachekv.slice(2)).toEqual(['0.25', '0.30', '12.15', '2.87', '0.21', '0.39']);
    expect(await onnx.locator('[data-testid=untrained]').innerText()).toContain('untrained');
    expect(await onnx.innerText()).toContain('Cross-attention × 5: boom');
    // Table 6: our times per design and the paper's CacheKV column (5 refs: 12.03 on the GTX 1080).
    const t6 = await onnx.locator('[data-testid=table6] tbody tr').allInnerTexts();
    expect(t6.map((r) => r.split('\t').map((c) => c.trim()))).toEqual([
      ['1', '—', '1.500', '1.000', '4.86', '3.00'],
      ['5', 'error', '8.000', '2.000', '12.03', '4.51'],
    ]);

    // The torch bench: both variants, its ratios at 5 refs (fastest CacheKV: 1.2 s / 6 s = 0.20, 2000 / 4000 MB = 0.50).
    const torch = page.locator('[data-source="measured/refldm-torch-H200.json"]');
    expect(await torch.locator('[data-testid=table2]').count()).toBe(2);
    const fastest = torch.locator('[data-testid=table2]').nth(1);
    expect(await fastest.locator('tr[data-design=cachekv] td[data-col=time-ratio]').innerText()).toBe('0.20');
    expect(await fastest.locator('tr[data-design=cachekv] td[data-col=memory-ratio]').innerText()).toBe('0.50');
    expect(await torch.innerText()).toContain('peak GPU MB');

    // A broken file is named with its field; a JSON of another kind in the measured folder is not a problem.
    const problems = await page.locator('[data-testid=problem]').allInnerTexts();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^results\/bench\/broken\/fusion\.json: invalid fusion-bench JSON: .*rows\.0\.design/);
    expect(problems[0]).not.toContain(root);

    // Every chart is drawn (pixels painted on its canvas).
    const painted = await page.$$eval('canvas[data-testid^=fusion-]', (cs) =>
      cs.map((c) => {
        const cv = c as HTMLCanvasElement;
        const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
      }),
    );
    expect(painted).toHaveLength(6);
    for (const n of painted) expect(n).toBeGreaterThan(1000);
    await page.screenshot({ path: join(SHOTS, 'fusion-benchmarks.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);
});
