/**
 * The leaderboard and the compare page in a real browser (playwright-core driving Debian's chromium) against the
 * PRODUCTION server (`refbench dashboard`), over a small demo-like results folder made here by the real runner
 * (4 restorer settings × the same 6 samples; the full demo takes minutes). Expected numbers are computed in the
 * test from samples.jsonl:
 * - the leaderboard sorts by a column (best first, then worst first) and marks the right best value; its sort and
 *   filter live in the URL (a URL opens sorted and filtered; a click or a keystroke updates the URL);
 * - the compare page's Δ, paired-bootstrap CI and win rate equal the values computed from the store;
 * - clicking a scatter point opens that sample; an unknown metric is named; no horizontal overflow at 1440 px.
 * Screenshots go to test-results/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairedComparison } from '../../src/lib/eval/stats/paired.ts';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';
import { sampleLines } from '../helpers/cli.ts';
import { startProductionDashboard } from '../helpers/prod-server.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SHOTS = resolve(import.meta.dirname, '../../test-results');
const SAMPLES = ['s00', 's01', 's02', 's03', 's04', 's05'];

describe.skipIf(!HAVE_CHROMIUM)(`leaderboard and compare in chromium (${HAVE_CHROMIUM ? CHROMIUM : `skipped: no browser at ${CHROMIUM}; apt-get install chromium`})`, () => {
  let root: string;
  let results: string;
  let server: Awaited<ReturnType<typeof startProductionDashboard>> | undefined;
  let browser: Browser;
  const ids: string[] = [];

  /** Per-image values of `metric` of run `id` on SAMPLES, from its samples.jsonl. */
  const values = (id: string, metric: string) => {
    const l = sampleLines(join(results, 'runs', id));
    return SAMPLES.map((s) => l.get(s)!.metrics[metric]);
  };
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'refbench-cmp-browser-'));
    results = join(root, 'results');
    await writeFolderDataset(join(root, 'ds'), SAMPLES.length, 1);
    const dataset = { adapter: 'folder', options: { root: join(root, 'ds') } };
    const restorers: [string, string, Record<string, unknown>][] = [
      ['lq-input-floor', 'lq', {}],
      ['classical-default-bilateral-and-unsharp-mask', 'classical', {}],
      ['classical-strong-sharpening-amount-one-point-five', 'classical', { sharpenAmount: 1.5 }],
      ['classical-wide-bilateral-radius-four-soft-sharpening', 'classical', { radius: 4, sharpenAmount: 0.3 }],
    ];
    for (const [name, id, options] of restorers) {
      ids.push((await runSpec({ name, dataset, restorer: { id, options }, metrics: ['psnr', 'ssim'], tags: ['browser-test', id] }, { resultsDir: results, quiet: true })).runId);
    }
    server = await startProductionDashboard(results);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    mkdirSync(SHOTS, { recursive: true });
  }, 480_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  async function open(path: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server!.base}${path}`, { waitUntil: 'networkidle' });
    return { page, errors };
  }

  it('the leaderboard sorts by a column and marks the best value of each column', async () => {
    const { page, errors } = await open('/');
    const psnr = new Map(ids.map((id) => [id, mean(values(id, 'psnr'))]));
    const ranked = [...psnr].sort((a, b) => b[1] - a[1]).map(([id]) => id);
    expect(await page.locator('[data-testid=shared]').innerText()).toContain(`${SAMPLES.length} shared of ${SAMPLES.length}`);
    // Columns in the paper's order, named as the paper names them.
    expect(await page.locator('[data-testid=leaderboard] thead th[data-col]').evaluateAll((ths) => ths.map((t) => t.getAttribute('data-col')))).toEqual(['psnr', 'ssim', 'time-ms']);
    const best = page.locator('[data-testid=leaderboard] td[data-col=psnr][data-best=true]');
    expect(await best.count()).toBe(1);
    expect(await best.locator('xpath=..').getAttribute('data-run')).toBe(ranked[0]);
    expect(Number(await best.getAttribute('data-value'))).toBeCloseTo(psnr.get(ranked[0])!, 10);

    const order = () => page.locator('[data-testid=leaderboard] tbody tr').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-run')));
    await page.click('[data-testid=leaderboard] th[data-col=psnr] button');
    await expect.poll(order).toEqual(ranked);
    await page.click('[data-testid=leaderboard] th[data-col=psnr] button');
    await expect.poll(order).toEqual([...ranked].reverse());
    // Every value shows its 95% CI.
    expect(await page.locator('[data-testid=leaderboard] td[data-col=psnr] .ci').first().innerText()).toMatch(/^\[\d+\.\d+, \d+\.\d+\]$/);
    await page.screenshot({ path: join(SHOTS, 'dashboard-leaderboard.png'), fullPage: true });
    await page.fill('[data-testid=run-filter]', 'lq');
    await expect.poll(order).toEqual([ids[0]]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the leaderboard keeps its sort and filter in the URL: a URL opens sorted and filtered, a click or a keystroke updates it', async () => {
    const first = await open('/');
    const key = await first.page.locator('[data-testid=benchmark]').first().getAttribute('data-key');
    await first.page.close();
    const psnr = new Map(ids.map((id) => [id, mean(values(id, 'psnr'))]));
    const classical = ids.filter((id) => id.startsWith('classical'));
    const worstFirst = [...classical].sort((a, b) => psnr.get(a)! - psnr.get(b)!);
    const { page, errors } = await open(`/?${new URLSearchParams([['q', 'classical'], ['sort', `psnr,worst,${key}`]])}`);
    const order = () => page.locator('[data-testid=leaderboard] tbody tr').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-run')));
    const url = () => new URL(page.url()).searchParams;
    expect(await order()).toEqual(worstFirst);
    expect(await page.inputValue('[data-testid=run-filter]')).toBe('classical');
    expect(await page.locator('[data-testid=leaderboard] th[data-col=psnr]').getAttribute('aria-sort')).toBe('ascending');
    // A click on the header: best first, in the table and in the URL.
    await page.click('[data-testid=leaderboard] th[data-col=psnr] button');
    await expect.poll(() => url().getAll('sort')).toEqual([`psnr,best,${key}`]);
    expect(await order()).toEqual([...worstFirst].reverse());
    // Typing a filter: the URL follows; the sort stays.
    await page.fill('[data-testid=run-filter]', 'sharpening');
    await expect.poll(() => url().get('q')).toBe('sharpening');
    expect(url().getAll('sort')).toEqual([`psnr,best,${key}`]);
    const sharpening = ids.filter((id) => id.includes('sharpening')).sort((a, b) => psnr.get(b)! - psnr.get(a)!);
    expect(await order()).toEqual(sharpening);
    // Back: the previous URL's filter and order again.
    await page.goBack();
    await expect.poll(() => url().get('q')).toBe('classical');
    await expect.poll(() => page.inputValue('[data-testid=run-filter]')).toBe('classical');
    expect(await order()).toEqual(worstFirst);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("the compare page's Δ, CI and win rate equal the store's, fits 1440 px, and a scatter point opens its sample", async () => {
    const [base, ...others] = ids;
    const { page, errors } = await open(`/compare?runs=${ids.join(',')}&baseline=${base}&metric=psnr&vs=${ids[2]}`);
    expect(await page.locator('[data-testid=shared]').innerText()).toContain(`${SAMPLES.length} shared of ${SAMPLES.length}`);
    const a = values(base, 'psnr');
    for (const id of others) {
      const b = values(id, 'psnr');
      const cell = page.locator(`[data-testid=deltas] tr[data-metric=psnr] td[data-run="${id}"]`);
      const d = b.map((v, i) => v - a[i]);
      expect(Number(await cell.getAttribute('data-delta'))).toBeCloseTo(mean(d), 10);
      expect(Number(await cell.getAttribute('data-win-rate'))).toBe(d.filter((x) => x > 0).length / d.length);
      const ci = pairedComparison(a, b, true).ci95!;
      expect(Number(await cell.getAttribute('data-ci-lo'))).toBeCloseTo(ci[0], 10);
      expect(Number(await cell.getAttribute('data-ci-hi'))).toBeCloseTo(ci[1], 10);
      expect(await cell.innerText()).toMatch(/Δ [+−±]\d+\.\d{2} \[[+−±]\d+\.\d{2}, [+−±]\d+\.\d{2}\]/);
    }
    // Axis titles on both plots; four outputs with long captions side by side without horizontal overflow.
    expect(await page.locator('[data-testid=scatter] text.title').evaluateAll((ts) => ts.map((t) => t.textContent))).toEqual([`PSNR: ${'lq-input-floor'} (baseline)`, 'PSNR: classical-strong-sharpening-amount-one-point-five']);
    expect(await page.locator('[data-testid=distribution] text.title').textContent()).toMatch(/PSNR per image/);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1440);
    const tops = await page.locator('[data-testid=outputs] figure').evaluateAll((fs) => fs.slice(1, 5).map((f) => Math.round(f.getBoundingClientRect().top)));
    expect(new Set(tops).size).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'dashboard-compare.png'), fullPage: true });

    // A real mouse click on a point that no other point covers (near-equal values overlap).
    await page.locator('[data-testid=scatter]').scrollIntoViewIfNeeded();
    const hit = await page.locator('[data-testid=scatter] a[data-sample]').evaluateAll((as) => {
      for (const a of as) {
        const r = a.querySelector('circle')!.getBoundingClientRect();
        const x = r.left + r.width / 2;
        const y = r.top + r.height / 2;
        if (document.elementFromPoint(x, y)?.closest('a') === a) return { sample: a.getAttribute('data-sample')!, x, y };
      }
      return null;
    });
    expect(hit).not.toBeNull();
    await page.mouse.click(hit!.x, hit!.y);
    await page.waitForURL(new RegExp(`/browse\\?.*sample=${hit!.sample}`));
    expect(page.url()).toContain(`/browse?runs=${ids[2]}&sample=${hit!.sample}`);
    await expect.poll(() => page.locator('main').innerText()).toContain(hit!.sample);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an unknown metric is named with the metrics there are, and no chart is drawn', async () => {
    const { page } = await open(`/compare?runs=${ids.slice(0, 2).join(',')}&metric=foo`);
    expect(await page.locator('[data-testid=unknown-metric]').innerText()).toMatch(/No run here has a metric 'foo'\. Pick one of: psnr, ssim, time-ms/);
    expect(await page.locator('[data-testid=scatter], [data-testid=distribution]').count()).toBe(0);
    await page.close();
  });
});
