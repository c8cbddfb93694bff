/**
 * `refbench dashboard --static OUT` in a real browser (playwright-core driving Debian's chromium), over a small
 * results folder made here by the real runner (3 runs × the same 6 samples; the demo's results take minutes):
 * - the snapshot names no path of this machine (the results folder, the temp folder, $HOME, the checkout);
 * - opened through file:// AND through a plain static HTTP server (node:http serving the files, no refbench code),
 *   the leaderboard and a compare page of 3 runs show the same numbers as the live dashboard on the same folder;
 * - every metric header of the leaderboard, of compare and of a run page shows its exact mode (hover title, click
 *   panel) with the live page's text;
 * - the snapshot's leaderboard sorts by a column as the live one does, and picking runs links to its compare page;
 * - the image browser's keys (←/→, j/k) step through the samples and its state survives a reload (URL);
 * - `--images none` writes no image, `--images full` the PNGs.
 * `.ci/run` installs chromium; on a machine without it this file is skipped with that reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { homedir, tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';
import { startProductionDashboard } from '../helpers/prod-server.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const REPO = resolve(import.meta.dirname, '../..');
const SAMPLES = ['s00', 's01', 's02', 's03', 's04', 's05'];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

function snapshot(results: string, out: string, ...more: string[]): string {
  const r = spawnSync(process.execPath, [join(REPO, 'bin/refbench.js'), 'dashboard', '--results-dir', results, '--static', out, ...more], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`refbench dashboard --static failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** A plain static file server over `root` (what any static host does): the path names a file; the query is ignored. */
function staticServer(root: string): Promise<{ server: Server; base: string }> {
  const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.webp': 'image/webp', '.png': 'image/png', '.gif': 'image/gif' };
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    let file = join(root, path);
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, base: `http://127.0.0.1:${(server.address() as { port: number }).port}/` })));
}

/**
 * Collects what went wrong loading a page: script errors, files that failed to load (file://) or answered an
 * error (http). A load aborted by the next navigation (net::ERR_ABORTED) is not a missing file.
 */
function watch(page: Page, errors: string[]): void {
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => r.failure()?.errorText !== 'net::ERR_ABORTED' && errors.push(`failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()}: ${r.url()}`));
}

/** The leaderboard's numbers: run id → column → the cell's text (value and CI). */
async function leaderboardNumbers(page: Page): Promise<Record<string, Record<string, string>>> {
  return page.$$eval('[data-testid=leaderboard] tbody tr', (rows) =>
    Object.fromEntries(rows.map((tr) => [tr.getAttribute('data-run'), Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map((td) => [td.getAttribute('data-col'), (td.textContent ?? '').replace(/\s+/g, ' ').trim()]))])),
  );
}

/** The compare table's numbers: metric → cell → its data attributes and shown text. */
async function compareNumbers(page: Page): Promise<Record<string, Record<string, string>>> {
  return page.$$eval('[data-testid=deltas] tbody tr[data-metric]', (rows) =>
    Object.fromEntries(
      rows.map((tr) => [
        tr.getAttribute('data-metric'),
        Object.fromEntries(
          [...tr.querySelectorAll('td')].map((td) => {
            const key = td.getAttribute('data-run') ?? td.getAttribute('data-cell') ?? '?';
            const attrs = ['data-delta', 'data-ci-lo', 'data-ci-hi', 'data-win-rate', 'data-p'].map((a) => td.getAttribute(a) ?? '').join('|');
            // Text without whitespace: the live page's and the snapshot's markup space their lines differently.
            return [key, `${attrs} :: ${(td.textContent ?? '').replace(/\s+/g, '')}`];
          }),
        ),
      ]),
    ),
  );
}

/**
 * Every metric header's mode (issue 17 item 4) in `table`: column → its hover text (the summary's title) and the
 * text of its panel once opened by a click (checked visible, then closed again).
 */
async function metricModes(page: Page, table: string): Promise<Record<string, { title: string; panel: string }>> {
  const out: Record<string, { title: string; panel: string }> = {};
  const modes = page.locator(`${table} [data-testid=metric-mode]`);
  const n = await modes.count();
  for (let i = 0; i < n; i++) {
    const d = modes.nth(i);
    const key = await d.evaluate((el) => el.closest('th[data-col]')?.getAttribute('data-col') ?? el.closest('tr[data-metric]')?.getAttribute('data-metric') ?? el.querySelector('summary')?.getAttribute('aria-label') ?? '?');
    const panel = d.locator('.panel');
    expect(await panel.isVisible(), `${key}: the panel is closed until clicked`).toBe(false);
    await d.locator('summary').click();
    await expect.poll(() => panel.isVisible(), { message: `${key}: the panel opens on click` }).toBe(true);
    out[key] = { title: (await d.locator('summary').getAttribute('title')) ?? '', panel: (await panel.innerText()).replace(/\s+/g, ' ').trim() };
    await d.locator('summary').click();
  }
  return out;
}

describe.skipIf(!HAVE_CHROMIUM)(`static snapshot in chromium (${HAVE_CHROMIUM ? CHROMIUM : `skipped: no browser at ${CHROMIUM}; apt-get install chromium`})`, () => {
  let root: string;
  let results: string;
  let out: string;
  let report = '';
  let live: Awaited<ReturnType<typeof startProductionDashboard>> | undefined;
  let host: { server: Server; base: string } | undefined;
  let browser: Browser;
  const ids: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'refbench-static-'));
    results = join(root, 'results');
    out = join(root, 'site');
    await writeFolderDataset(join(root, 'ds'), SAMPLES.length, 2);
    const dataset = { adapter: 'folder', options: { root: join(root, 'ds') } };
    const restorers: [string, string, Record<string, unknown>][] = [
      ['lq-floor', 'lq', {}],
      ['classical-default', 'classical', {}],
      ['classical-sharp', 'classical', { sharpenAmount: 1.5 }],
    ];
    for (const [name, id, options] of restorers) ids.push((await runSpec({ name, dataset, restorer: { id, options }, metrics: ['psnr', 'ssim'] }, { resultsDir: results, quiet: true })).runId);
    report = snapshot(results, out);
    live = await startProductionDashboard(results);
    host = await staticServer(out);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  }, 480_000);

  afterAll(async () => {
    await browser?.close();
    await live?.stop();
    await new Promise((ok) => (host ? host.server.close(ok) : ok(undefined)));
  });

  it('prints a size report and names no path of this machine; provenance is in, without absolute paths', () => {
    expect(report).toMatch(/images:output\s+[\d.]+ kB\s+\d+ file/);
    expect(report).toMatch(/total\s+[\d.]+ [kM]B\s+\d+ file/);
    const forbidden = [results, root, tmpdir(), homedir(), REPO].filter((p) => p.length > 1);
    const all = files(out);
    expect(all.length).toBeGreaterThan(20);
    for (const f of all) {
      const text = readFileSync(f).toString('latin1');
      for (const p of forbidden) expect(text.includes(p), `${f.slice(out.length)} names ${p}`).toBe(false);
    }
    for (const id of ids) {
      const prov = JSON.parse(readFileSync(join(out, 'provenance', `${id}.run.json`), 'utf8')) as { runId: string; dataset: { hash: string } };
      const orig = JSON.parse(readFileSync(join(results, 'runs', id, 'run.json'), 'utf8')) as { runId: string; dataset: { hash: string } };
      expect(prov.runId).toBe(orig.runId);
      expect(prov.dataset.hash).toBe(orig.dataset.hash);
      expect(JSON.stringify(prov)).not.toMatch(/"\/[^"]*\/[^"]*"/); // no string that is an absolute path
    }
  });

  for (const via of ['file', 'http'] as const) {
    const at = (p: string) => (via === 'file' ? `${pathToFileURL(out).href}/${p}` : `${host!.base}${p}`);

    it(`over ${via}: the leaderboard and a compare page of 3 runs show the live dashboard's numbers`, async () => {
      const page = await browser.newPage();
      const errors: string[] = [];
      watch(page, errors);
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

      await page.goto(`${live!.base}/`, { waitUntil: 'networkidle' });
      const liveBoard = await leaderboardNumbers(page);
      expect(Object.keys(liveBoard).sort()).toEqual([...ids].sort());
      expect(liveBoard[ids[0]].psnr).toMatch(/^\d+\.\d+ \[\d+\.\d+, \d+\.\d+\]$/);
      // Sorting by PSNR: best first, then worst first, as the live page.
      const order = () => page.$$eval('[data-testid=leaderboard] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-run')));
      const sortBy = (col: string) => page.click(`[data-testid=leaderboard] th[data-col=${col}] button.sort`);
      await sortBy('psnr');
      const liveBest = await order();
      await sortBy('psnr');
      const liveWorst = await order();
      expect(liveWorst).toEqual([...liveBest].reverse());
      const liveModes = await metricModes(page, '[data-testid=leaderboard]');
      expect(Object.keys(liveModes).sort()).toEqual(['psnr', 'ssim', 'time-ms']);
      expect(liveModes.psnr.title).toMatch(/^metric: psnr v\S+\nimplementation: pyiqa [\d.]+ 'psnr'.*\ninput: .+\nresize \/ crop: .+\nweights: /);
      expect(liveModes.psnr.panel).toContain('implementation pyiqa');
      await page.goto(at('index.html'), { waitUntil: 'load' });
      expect(await leaderboardNumbers(page)).toEqual(liveBoard);
      // Each header's mode: the same hover text and, opened by a click, the same panel as the live page's.
      expect(await metricModes(page, '[data-testid=leaderboard]')).toEqual(liveModes);
      await sortBy('psnr');
      expect(await order()).toEqual(liveBest);
      await sortBy('psnr');
      expect(await order()).toEqual(liveWorst);

      // Picking two runs links to the snapshot's compare page.
      await page.check(`[data-testid=leaderboard] tr[data-run="${ids[1]}"] input[type=checkbox]`);
      await page.check(`[data-testid=leaderboard] tr[data-run="${ids[2]}"] input[type=checkbox]`);
      await page.click('[data-testid=compare-link]');
      await page.waitForSelector('[data-testid=deltas]');
      expect(page.url()).toContain(`compare.html?runs=${ids[1]}%2C${ids[2]}&baseline=${ids[1]}`);
      const two = await compareNumbers(page);
      await page.goto(`${live!.base}/compare?runs=${ids[1]},${ids[2]}&baseline=${ids[1]}`, { waitUntil: 'networkidle' });
      expect(two).toEqual(await compareNumbers(page));

      const q = `runs=${ids.join(',')}&baseline=${ids[0]}&metric=ssim`;
      await page.goto(`${live!.base}/compare?${q}`, { waitUntil: 'networkidle' });
      const liveCmp = await compareNumbers(page);
      const liveCmpModes = await metricModes(page, '[data-testid=deltas]');
      expect(Object.keys(liveCmpModes).sort()).toEqual(['psnr', 'ssim', 'time-ms']);
      expect(liveCmpModes.ssim.title).toContain('metric: ssim v');
      expect(Object.keys(liveCmp).sort()).toEqual(['psnr', 'ssim', 'time-ms']);
      expect(liveCmp.psnr[ids[1]]).toMatch(/^-?[\d.e-]+\|-?[\d.e-]+\|-?[\d.e-]+\|[\d.]+\|[\d.e-]+ :: \d+\.\d+Δ[+−]\d+\.\d+\[[+−]\d+\.\d+,[+−]\d+\.\d+\]wins\d+%\(\d\/6\)·p=/);
      await page.goto(at(`compare.html?${q}`), { waitUntil: 'load' });
      await page.waitForSelector('[data-testid=deltas]');
      expect(await compareNumbers(page)).toEqual(liveCmp);
      expect(await metricModes(page, '[data-testid=deltas]')).toEqual(liveCmpModes);
      expect(await page.locator('[data-testid=shared]').innerText()).toMatch(/6 shared of 6/);
      // The current sample's outputs are images of the snapshot.
      await expect.poll(() => page.$$eval('[data-testid=outputs] img', (imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length)).toBe(ids.length + 2);
      expect(errors).toEqual([]);
      await page.close();
    });

    it(`over ${via}: the image browser's keys step through the samples and its state is in the URL`, async () => {
      const page = await browser.newPage();
      const errors: string[] = [];
      watch(page, errors);
      const current = () => page.locator('[data-testid=current-sample]').innerText();
      await page.goto(at(`browse.html?runs=${ids[0]},${ids[2]}&sample=s01`), { waitUntil: 'load' });
      await expect.poll(current).toBe('s01');
      // LQ, 2 outputs, GT and 2 references, all loaded.
      await expect.poll(() => page.$$eval('[data-testid=pane] img', (imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length)).toBe(6);
      await page.keyboard.press('ArrowRight');
      await expect.poll(current).toBe('s02');
      await page.keyboard.press('j');
      await expect.poll(current).toBe('s03');
      expect(new URL(page.url()).hash).toContain('sample=s03');
      await page.reload({ waitUntil: 'load' });
      await expect.poll(current).toBe('s03');
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('k');
      await expect.poll(current).toBe('s01');
      for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowLeft');
      await expect.poll(current).toBe('s00'); // stops at the first
      // A run page links to its provenance and to the browser, and its metrics' modes are the live page's.
      await page.goto(`${live!.base}/runs/${ids[0]}`, { waitUntil: 'networkidle' });
      const liveRunModes = await metricModes(page, 'main');
      expect(Object.keys(liveRunModes).sort()).toEqual(['how psnr is computed', 'how ssim is computed', 'how time-ms is computed']);
      await page.goto(at(`runs/${ids[0]}.html`), { waitUntil: 'load' });
      expect(await metricModes(page, 'main')).toEqual(liveRunModes);
      expect(await page.locator('[data-testid=sample]').count()).toBe(SAMPLES.length);
      await page.click('[data-testid=provenance] a');
      expect(await page.evaluate(() => document.body.innerText)).toContain(`"runId": "${ids[0]}"`);
      expect(errors).toEqual([]);
      await page.close();
    });
  }

  it('--images none writes no image, --images full the PNGs; --runs picks the runs', () => {
    const small = join(root, 'site-none');
    const rep = snapshot(results, small, '--images', 'none', '--runs', ids[0]);
    expect(rep).not.toMatch(/images:/);
    expect(existsSync(join(small, 'img'))).toBe(false);
    expect(readdirSync(join(small, 'runs'))).toEqual([`${ids[0]}.html`]);
    // The leaderboard is of the chosen runs only (rendered over a folder of those), under the results folder's name.
    const index = readFileSync(join(small, 'index.html'), 'utf8');
    expect(index).toContain(`data-run="${ids[0]}"`);
    expect(index).not.toContain(ids[1]);
    expect(index).toContain('Results folder: results<');
    expect(readdirSync(join(small, 'provenance'))).toEqual([`${ids[0]}.run.json`]);
    // --images full: the PNGs, not the WebP thumbnails (LQ, output, GT, 2 references of 6 samples).
    const full = join(root, 'site-full');
    expect(snapshot(results, full, '--images', 'full', '--runs', ids[1])).toMatch(/images:output/);
    const imgs = readdirSync(join(full, 'img'));
    expect(imgs.length).toBeGreaterThanOrEqual(SAMPLES.length * 2);
    expect(imgs.every((f) => f.endsWith('.png'))).toBe(true);
    expect(readFileSync(join(full, 'runs', `${ids[1]}.html`), 'utf8')).toMatch(/src="\.\.\/img\/[0-9a-f]{20}\.png"/);
  }, 300_000);
});
