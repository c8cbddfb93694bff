/**
 * Requests the dashboard refuses (issue 17, item 6), against the PRODUCTION server started as `refbench dashboard`:
 * a POST to a page (the dashboard has no form actions), and other methods, are answered 405 with a body that says
 * so ("Method Not Allowed", never "Internal Error"), and each refusal writes exactly one line to the dashboard's
 * terminal, without a stack trace.
 */
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { writeFolderDataset } from '../helpers/folder-dataset.ts';
import { startProductionDashboard } from '../helpers/prod-server.ts';

let server: Awaited<ReturnType<typeof startProductionDashboard>> | undefined;
let root: string;
let runId = '';

function send(method: string, path: string, accept: string, type: string | null, body?: string): Promise<{ status: number; type: string; text: string }> {
  return new Promise((done, fail) => {
    const headers: Record<string, string> = { accept, origin: 'http://elsewhere.example' };
    if (type) headers['content-type'] = type;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const req = request(`${server!.base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-dash-refuse-'));
  await writeFolderDataset(join(root, 'ds'), 2, 1);
  runId = (await runSpec({ name: 'refuse', dataset: { adapter: 'folder', options: { root: join(root, 'ds') } }, restorer: { id: 'lq' }, metrics: ['psnr'] }, { resultsDir: join(root, 'results'), quiet: true })).runId;
  server = await startProductionDashboard(join(root, 'results'));
}, 600_000);
afterAll(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('refused requests', () => {
  it('a POST to a page is 405 "Method Not Allowed" (HTML and JSON), a cross-site form POST 403; one log line each, no stack trace', async () => {
    const logBefore = server!.log().length;
    // [method, path, accept, content-type, body, status, body text]
    const cases: [string, string, string, string | null, string | undefined, number, string][] = [
      ['POST', '/', 'text/html', null, undefined, 405, 'Method Not Allowed'],
      ['POST', `/runs/${runId}`, 'text/html', 'application/json', '{"x":1}', 405, 'Method Not Allowed'],
      ['POST', '/compare', 'application/json', 'application/json', '{}', 405, 'Method Not Allowed'],
      // A form POST from another origin: SvelteKit's CSRF check refuses it before any route runs.
      ['POST', '/browse', 'text/html', 'application/x-www-form-urlencoded', 'x=1', 403, 'Cross-site POST form submissions are forbidden'],
      // Other methods on a page: refused by SvelteKit before the hooks.
      ['PUT', '/', 'text/html', 'application/json', '{}', 405, 'PUT method not allowed'],
    ];
    for (const [method, path, accept, type, body, status, text] of cases) {
      const r = await send(method, path, accept, type, body);
      expect(r.status, `${method} ${path}`).toBe(status);
      expect(r.text, `${method} ${path}`).toContain(text);
      expect(r.text).not.toContain('Internal Error');
    }
    // The log lines arrive through a pipe: give them a moment.
    await new Promise((r) => setTimeout(r, 500));
    const log = server!.log().slice(logBefore);
    expect(log).not.toMatch(/^\s+at /m);
    expect(log).not.toContain('Internal Error');
    const lines = log.split('\n').filter(Boolean);
    for (const [method, path, , , , status] of cases) {
      expect(lines.filter((l) => l === `refbench dashboard: refused ${method} ${path}: ${status}`), `${method} ${path} in:\n${log}`).toHaveLength(1);
    }
    expect(lines, log).toHaveLength(cases.length);
  }, 60_000);
});
