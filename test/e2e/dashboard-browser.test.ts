/**
 * The dashboard in a real browser (playwright-core driving Debian's chromium): runs made by the real runner are
 * listed, a run page shows its images, the compare page draws its chart. `.ci/run` installs chromium; on a machine
 * without it this file is skipped with that reason.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe.skipIf(!HAVE_CHROMIUM)(`dashboard in chromium (${HAVE_CHROMIUM ? CHROMIUM : `skipped: no browser at ${CHROMIUM}; apt-get install chromium`})`, () => {
  let server: ViteDevServer;
  let browser: Browser;
  let base = '';
  const ids: string[] = [];

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'refbench-browser-'));
    await writeFolderDataset(join(root, 'ds'), 2, 2);
    const results = join(root, 'results');
    for (const restorer of ['lq', 'classical']) {
      const r = await runSpec(
        { name: restorer, dataset: { adapter: 'folder', options: { root: join(root, 'ds') } }, restorer: { id: restorer }, metrics: ['psnr', 'ssim'] },
        { resultsDir: results, quiet: true },
      );
      ids.push(r.runId);
    }
    process.env.REFBENCH_RESULTS_DIR = results;
    const repo = resolve(import.meta.dirname, '../..');
    server = await createServer({ root: repo, configFile: join(repo, 'vite.config.ts'), mode: 'development', logLevel: 'error', server: { host: '127.0.0.1', port: 0 } });
    await server.listen();
    const addr = server.httpServer!.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('lists both runs, opens a run with its images, and charts a comparison', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/`, { waitUntil: 'networkidle' });
    const rows = page.locator('[data-testid=leaderboard] tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await page.locator('[data-testid=leaderboard]').innerText()).toMatch(/PSNR/);

    await page.click(`a[href="/runs/${ids[0]}"]`);
    await page.waitForSelector('[data-testid=sample]');
    expect(await page.locator('[data-testid=sample]').count()).toBe(2);
    // LQ, output, GT and 2 references per sample, all decoded by the browser: the 256-px thumbnails `run` made,
    // not the 512² PNGs.
    await expect
      .poll(() => page.$$eval('[data-testid=sample] img', (imgs) => imgs.filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth === 256).length))
      .toBe(10);
    expect(await page.locator('[data-testid=thumbs-missing]').count()).toBe(0);

    await page.goto(`${base}/compare?runs=${ids.join(',')}&metric=psnr`, { waitUntil: 'networkidle' });
    // The per-image distribution: one point per shared sample and run (2 runs × 2 samples), with its axis title.
    expect(await page.locator('[data-testid=distribution] circle').count()).toBe(4);
    expect(await page.locator('[data-testid=distribution] text.title').textContent()).toMatch(/PSNR per image/);
    expect(errors).toEqual([]);
    await page.close();
  });
});
