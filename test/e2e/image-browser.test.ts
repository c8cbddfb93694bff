/**
 * The image browser (/browse) in a real browser (playwright-core driving Debian's chromium, as
 * dashboard-browser.test.ts does), over runs made by the real runner:
 * - every pane (LQ, each run's output, GT) is drawn at one size, and after a wheel zoom (and a drag) every pane,
 *   the flip pane and both slider layers carry the same transform;
 * - the flip key swaps the output shown, the slider moves the split, R moves to the next run;
 * - keyboard navigation reaches the next sample of the sorted list;
 * - the sample list follows the sort (worst first by a metric, by Δ against the baseline, worst N), equal to an
 *   order computed here from the store; the metric table's values and Δ equal the store's;
 * - the URL holds the whole view: opening it in a fresh page restores sample, zoom, flip and slider;
 * - the full-resolution view shows the 512² file; a bad query parameter is a clear 400.
 * Screenshots go to test-results/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../../src/lib/server/results/store.ts';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const REPO = resolve(import.meta.dirname, '../..');
/** Waits for a value, generously: the machine may be shared (vite compiles each route on its first request). */
const poll = <T,>(f: () => T | Promise<T>) => expect.poll(f, { timeout: 30_000, interval: 100 });
/** Playwright's navigation and action timeout, for the same reason. */
const PAGE_TIMEOUT_MS = 90_000;
const SHOTS = join(REPO, 'test-results');

describe.skipIf(!HAVE_CHROMIUM)(`image browser in chromium (${HAVE_CHROMIUM ? CHROMIUM : `skipped: no browser at ${CHROMIUM}; apt-get install chromium`})`, () => {
  let server: ViteDevServer;
  let browser: Browser;
  let base = '';
  let root = '';
  let results = '';
  const ids: string[] = [];

  /** psnr per sample of a run, from the store (latest ok line). */
  const psnr = (runId: string): Map<string, number> =>
    new Map([...new RunStore(join(results, 'runs', runId)).readSamples().latest.values()].filter((l) => l.status === 'ok').map((l) => [l.sampleId, l.metrics.psnr]));

  /** The transforms of every image drawn in a zoomable pane. */
  const transforms = (page: Page) => page.$$eval('.pane img', (imgs) => imgs.map((i) => getComputedStyle(i).transform));
  const listed = (page: Page) => page.$$eval('[data-testid=sample-list] a[data-sample]', (as) => as.map((a) => a.getAttribute('data-sample')));

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'refbench-browse-'));
    await writeFolderDataset(join(root, 'ds'), 5, 2);
    results = join(root, 'results');
    for (const restorer of ['lq', 'classical']) {
      const r = await runSpec(
        { name: restorer, dataset: { adapter: 'folder', options: { root: join(root, 'ds') } }, restorer: { id: restorer }, metrics: ['psnr', 'ssim'] },
        { resultsDir: results, quiet: true },
      );
      ids.push(r.runId);
    }
    process.env.REFBENCH_RESULTS_DIR = results;
    server = await createServer({ root: REPO, configFile: join(REPO, 'vite.config.ts'), mode: 'development', logLevel: 'error', server: { host: '127.0.0.1', port: 0 } });
    await server.listen();
    const addr = server.httpServer!.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    mkdirSync(SHOTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('zooms every pane together, flips, slides, navigates by keyboard, and keeps it all in the URL', async () => {
    const [a, b] = ids;
    const page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
    page.setDefaultTimeout(PAGE_TIMEOUT_MS);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/browse?runs=${a},${b}&metric=psnr&sort=value&sortRun=${b}&order=worst`, { waitUntil: 'networkidle' });

    // The list: worst first by psnr of run b (higher is better → ascending), as computed from the store.
    const pb = psnr(b);
    const expected = [...pb.entries()].sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0])).map(([s]) => s);
    expect(await listed(page)).toEqual(expected);
    expect(await page.textContent('[data-testid=sample-id]')).toBe(expected[0]);

    // LQ, both outputs and GT, all at one size.
    const panes = page.locator('[data-testid=pane]');
    expect(await panes.count()).toBe(4);
    const boxes = await page.$$eval('[data-testid=pane], [data-testid=flip-pane], [data-testid=slider-pane]', (els) => els.map((e) => `${e.clientWidth}x${e.clientHeight}`));
    expect(new Set(boxes)).toEqual(new Set(['256x256']));
    await poll(() => page.$$eval('[data-testid=pane] img', (imgs) => imgs.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0))).toBe(true);

    // Per-image values and Δ against the baseline (run a), equal to the store's.
    const pa = psnr(a);
    const s0 = expected[0];
    const cell = await page.textContent(`[data-testid=sample-metrics] td[data-metric=psnr][data-run="${b}"]`);
    const d = pb.get(s0)! - pa.get(s0)!;
    expect(cell).toContain(pb.get(s0)!.toFixed(2));
    expect(cell).toContain(`${d >= 0 ? '+' : ''}${d.toFixed(2)}`);

    // Wheel zoom on one pane: every image of every pane gets the same, non-identity transform.
    const before = await transforms(page);
    expect(new Set(before)).toEqual(new Set(['matrix(1, 0, 0, 1, 0, 0)']));
    const box = (await panes.nth(1).boundingBox())!;
    await page.mouse.move(box.x + 100, box.y + 80);
    await page.mouse.wheel(0, -300);
    await poll(async () => new Set(await transforms(page)).size).toBe(1);
    const zoomed = (await transforms(page))[0];
    expect(zoomed).not.toBe('matrix(1, 0, 0, 1, 0, 0)');
    expect(await page.$$eval('.pane img', (imgs) => imgs.length)).toBe(4 + 1 + 2);
    // Zoomed in: the panes now show the full PNGs (thumbnails at zoom 1).
    await poll(() => page.$$eval('[data-testid=pane] img', (imgs) => imgs.every((i) => (i as HTMLImageElement).src.includes('/images/')))).toBe(true);

    // Drag on another pane pans all of them.
    const gt = (await panes.nth(3).boundingBox())!;
    await page.mouse.move(gt.x + 150, gt.y + 150);
    await page.mouse.down();
    await page.mouse.move(gt.x + 120, gt.y + 110, { steps: 4 });
    await page.mouse.up();
    const panned = await transforms(page);
    expect(new Set(panned).size).toBe(1);
    expect(panned[0]).not.toBe(zoomed);

    // Flip key: the flip pane swaps from run a's output to run b's.
    const flip = page.locator('[data-testid=flip-pane]');
    expect(await flip.getAttribute('data-run')).toBe(a);
    expect(await flip.locator('img').getAttribute('src')).toContain(`/api/runs/${a}/`);
    await page.keyboard.press('f');
    await poll(() => flip.getAttribute('data-run')).toBe(b);
    expect(await flip.locator('img').getAttribute('src')).toContain(`/api/runs/${b}/`);

    // Slider: the A layer's clip follows the slider.
    const clip = () => page.$eval('[data-testid=slider-a]', (e) => getComputedStyle(e).clipPath);
    expect(await clip()).toBe('inset(0px 50% 0px 0px)');
    await page.locator('[data-testid=slider]').fill('20');
    await poll(clip).toBe('inset(0px 80% 0px 0px)');

    // The URL holds the view (written back shortly after each change).
    await poll(() => new URL(page.url()).searchParams.get('pos')).toBe('20');
    const u = new URL(page.url());
    expect(u.searchParams.get('show')).toBe('b');
    expect(Number(u.searchParams.get('z'))).toBeCloseTo(1.25, 6);
    await page.screenshot({ path: join(SHOTS, 'image-browser.png'), fullPage: true });

    // Keyboard: → reaches the next sample of the list, and the zoom stays. (Keys typed into a control, such as
    // the slider that has the focus now, stay with that control.)
    await page.locator('h1').click();
    await page.keyboard.press('ArrowRight');

    await poll(() => page.textContent('[data-testid=sample-id]')).toBe(expected[1]);
    expect(new URL(page.url()).searchParams.get('sample')).toBe(expected[1]);
    expect(new Set(await transforms(page))).toEqual(new Set([panned[0]]));
    await page.keyboard.press('ArrowLeft');
    await poll(() => page.textContent('[data-testid=sample-id]')).toBe(expected[0]);
    await page.keyboard.press('ArrowRight');
    await poll(() => page.textContent('[data-testid=sample-id]')).toBe(expected[1]);

    // A fresh page on the same URL shows the same view.
    await poll(() => new URL(page.url()).searchParams.get('z')).not.toBeNull();
    const shared = page.url();
    const again = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
    again.setDefaultTimeout(PAGE_TIMEOUT_MS);
    await again.goto(shared, { waitUntil: 'networkidle' });
    expect(await again.textContent('[data-testid=sample-id]')).toBe(expected[1]);
    expect(new Set(await transforms(again))).toEqual(new Set([panned[0]]));
    expect(await again.locator('[data-testid=flip-pane]').getAttribute('data-run')).toBe(b);
    expect(await again.$eval('[data-testid=slider-a]', (e) => getComputedStyle(e).clipPath)).toBe('inset(0px 80% 0px 0px)');
    await again.close();

    // R: next run (two runs: the pair swaps), so the flip pane (showing B) now shows run a.
    await page.keyboard.press('r');
    await poll(() => flip.getAttribute('data-run')).toBe(a);

    // Full resolution: the LQ at 1:1 is the 512² file; Esc closes it.
    await page.locator('figure', { has: page.locator('[data-pane=lq]') }).getByRole('button', { name: '1:1' }).click();
    await poll(() => page.$eval('[data-testid=full-view] img', (i) => (i as HTMLImageElement).naturalWidth)).toBe(512);
    await page.keyboard.press('Escape');
    await poll(() => page.locator('[data-testid=full-view]').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('sorts by Δ between two runs, keeps the worst N, filters, and names a bad parameter', async () => {
    const [a, b] = ids;
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(PAGE_TIMEOUT_MS);
    const pa = psnr(a);
    const pb = psnr(b);
    // Worst Δ first (b − a, psnr: most negative first), 3 of them.
    await page.goto(`${base}/browse?runs=${a},${b}&metric=psnr&sort=delta&sortRun=${b}&base=${a}&order=worst&n=3`, { waitUntil: 'networkidle' });
    const byDelta = [...pb.keys()].map((s) => [s, pb.get(s)! - pa.get(s)!] as const).sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]));
    expect(await listed(page)).toEqual(byDelta.slice(0, 3).map(([s]) => s));
    expect(await page.textContent('[data-testid=shared]')).toContain('5 shared of 5 samples');

    // Best first, filtered to a key range that keeps exactly the middle values.
    const lo = byDelta[1][1];
    const hi = byDelta[3][1];
    await page.goto(`${base}/browse?runs=${a},${b}&metric=psnr&sort=delta&sortRun=${b}&order=best&min=${lo}&max=${hi}`, { waitUntil: 'networkidle' });
    expect(await listed(page)).toEqual(byDelta.slice(1, 4).reverse().map(([s]) => s));

    // Without runs: a picker whose form leads to the browser with the runs ticked.
    await page.goto(`${base}/browse`, { waitUntil: 'networkidle' });
    await page.check(`#pick-${a}`);
    await page.check(`#pick-${b}`);
    await Promise.all([page.waitForURL(/sample|runs=[^&]*%2C/), page.click('[data-testid=run-picker] button[type=submit]')]);
    expect(new URL(page.url()).searchParams.get('runs')!.split(',').sort()).toEqual([a, b].sort());
    expect(await page.locator('[data-testid=pane]').count()).toBe(4);

    // The controls form builds such a URL.
    await page.goto(`${base}/browse?runs=${a},${b}`, { waitUntil: 'networkidle' });
    await page.selectOption('[data-testid=controls] select[name=sort]', 'delta');
    await page.fill('[data-testid=controls] input[name=n]', '2');
    await Promise.all([page.waitForURL(/n=2/), page.click('[data-testid=controls] button[type=submit]')]);
    expect(await listed(page)).toEqual(byDelta.slice(0, 2).map(([s]) => s));

    const bad = await page.goto(`${base}/browse?runs=${a},${b}&metric=foo`);
    expect(bad!.status()).toBe(400);
    expect(await page.textContent('body')).toContain("metric: 'foo' is not a per-sample metric of every selected run (time-ms, psnr, ssim)");
    const badRun = await page.goto(`${base}/browse?runs=${a},nope`);
    expect(badRun!.status()).toBe(404);
    expect(await page.textContent('body')).toContain("no run 'nope'");
    await page.close();
  }, 300_000);
});
