/**
 * The dashboard's paper page in a real browser (playwright-core driving Debian's chromium): after
 * `refbench reproduce table5` on the embedded benchmark, /paper?data=embedded draws Table 5's charts (IDS and LPIPS
 * against the maximum number of references), shows the paper's numbers from benchmarks/paper-tables.json and our
 * runs' values equal to `refbench report --paper` (the same mapping module). A screenshot goes to test-results/.
 * Skipped, saying so, where chromium is absent (`.ci/run` installs it).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const REPO = resolve(import.meta.dirname, '../..');
const B = 'synthfaces-ref-severe';

/** Every file under `dir` with its size and mtime: the page must leave it unchanged (a read never writes). */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const p = join(e.parentPath, e.name);
      const st = statSync(p);
      return `${p} ${st.size} ${st.mtimeMs}`;
    })
    .sort();
}

describe.skipIf(!HAVE_CHROMIUM)(`paper page in chromium (${HAVE_CHROMIUM ? CHROMIUM : `skipped: no browser at ${CHROMIUM}; apt-get install chromium`})`, () => {
  let server: ViteDevServer;
  let browser: Browser;
  let base = '';
  let root = '';
  let results = '';
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'refbench-paper-page-'));
    results = join(root, 'results');
    const cfg = join(root, 'refbench.config.yaml');
    writeFileSync(cfg, '# empty\n');
    const r = await cli(['reproduce', 'table5', '--benchmark', B, '--restorer', 'refldm-tiny', '--limit', '2', '--results-dir', results, '--config', cfg]);
    expect(r.code, r.err).toBe(0);
    for (const k of ['REFBENCH_RESULTS_DIR', 'REFBENCH_CONFIG']) saved[k] = process.env[k];
    process.env.REFBENCH_RESULTS_DIR = results;
    process.env.REFBENCH_CONFIG = cfg;
    server = await createServer({ root: REPO, configFile: join(REPO, 'vite.config.ts'), mode: 'development', logLevel: 'error', server: { host: '127.0.0.1', port: 0 } });
    await server.listen();
    const addr = server.httpServer!.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("shows Table 5's charts, the paper's numbers and ours as report --paper prints them", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    // NOTE: the dev server compiles each route on first use; on a loaded 2-core machine that takes more than 30 s.
    page.setDefaultTimeout(180_000);
    page.setDefaultNavigationTimeout(180_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const before = snapshot(root);
    await page.goto(`${base}/`, { waitUntil: 'networkidle' });
    await page.click('a[href="/paper"]'); // the layout's navigation link
    await page.waitForSelector('[data-testid=paper-table5]');
    await page.goto(`${base}/paper?data=embedded&restorer=refldm-tiny`, { waitUntil: 'networkidle' });

    // Both Table 5 charts are painted.
    for (const id of ['table5-ids', 'table5-lpips']) {
      const painted = await page.$eval(`[data-testid=chart-${id}]`, (c) => {
        const cv = c as HTMLCanvasElement;
        const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
      });
      expect(painted, id).toBeGreaterThan(1000);
    }
    // Table 5: the paper's IDS and LPIPS (benchmarks/paper-tables.json) and ours, per row.
    const paper = JSON.parse(readFileSync(join(REPO, 'benchmarks/paper-tables.json'), 'utf8')) as { tables: { id: string; rows: { method: string; values: Record<string, number> }[] }[] };
    const t5 = paper.tables.find((t) => t.id === 'table5')!;
    const csv = await cli(['report', '--paper', 'table5', '--benchmark', B, '--restorer', 'refldm-tiny', '--results-dir', results, '--format', 'csv']);
    const lines = csv.out.trim().split('\n').map((l) => l.split(','));
    const col = (name: string) => lines[0].indexOf(name);
    const section = page.locator('[data-testid=paper-table5]');
    const text = await section.innerText();
    for (const row of t5.rows) {
      const tr = section.locator('tbody tr', { hasText: row.method });
      const cells = await tr.locator('td').allInnerTexts();
      // method | run | refs ours | paper | Δ | IDS ours | paper | Δ | LPIPS ours | paper | Δ
      expect(cells[6]).toBe(row.values.ids.toFixed(2));
      expect(cells[9]).toBe(row.values.lpips.toFixed(2));
      const ours = lines.find((l) => l[col('method')] === row.method && l[col('column')] === 'ids')!;
      expect(cells[5].split(' ± ')[0]).toBe(Number(ours[col('ours')]).toFixed(2));
      expect(cells[1]).toContain(ours[col('run_id')]);
    }
    expect(text).toContain('stand-in: not comparable');
    // Tables 2, 6 and 7 are there too (not run yet: the command that fills them).
    for (const id of ['table2', 'table6', 'table7']) expect(await page.locator(`[data-testid=paper-${id}]`).count()).toBe(1);
    expect(await page.locator('[data-testid=paper-table2]').innerText()).toContain(`refbench reproduce table2 --benchmark ${B} --restorer refldm-tiny`);
    expect(snapshot(root)).toEqual(before); // the results, the config and the cache are only read
    mkdirSync(join(REPO, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(REPO, 'test-results', 'dashboard-paper-page.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 600_000);
});
