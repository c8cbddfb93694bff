/**
 * `refbench report` over a fusion benchmark: the paper's Table 2 (ratios to spatial-concatenation beside the
 * paper's) and Table 6, from a fusion.json written by `refbench bench fusion`.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(['node', 'refbench', ...args]), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

const row = (design: string, refs: number, timeMs: number, mb: number) => ({ design, refs, timeMs, peakRssDeltaBytes: mb * 2 ** 20 });

describe('refbench report <fusion bench>', () => {
  const results = mkdtempSync(join(tmpdir(), 'refbench-fusion-'));
  const id = '20261128T000000Z-abcde';
  mkdirSync(join(results, 'bench', id), { recursive: true });
  writeFileSync(
    join(results, 'bench', id, 'fusion.json'),
    JSON.stringify({
      kind: 'fusion-bench', id, createdAt: '2026-11-28T00:00:00Z', label: 'untrained random-init weights (timing only)', config: 'tiny',
      bundle: '/x', weights: { kind: 'random-init', seed: 0 }, device: 'cpu', threads: 2, steps: 4, cfg: 1.5, repeat: 1,
      host: { cpus: 2, cpuModel: 'test', node: 'v20', onnxruntime: '1.30.0' },
      rows: [row('cachekv', 1, 1000, 100), row('cachekv', 5, 2000, 300), row('spatial', 1, 1500, 150), row('spatial', 5, 8000, 1000), { design: 'cross', refs: 5, error: 'boom' }],
    }),
  );

  it('prints Table 2 with our ratios to spatial-concatenation next to the paper\'s, and Table 6', async () => {
    const r = await cli(['report', '--results-dir', results, id]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('untrained random-init weights');
    const cachekv = r.out.split('\n').find((l) => l.startsWith('CacheKV'))!;
    // ours: 2.0 s, 300 MB, 0.25 × spatial time, 0.30 × spatial memory; paper: 12.15, 2.87, 0.21, 0.39
    expect(cachekv.split(/\s+/).slice(1)).toEqual(['2.000', '300', '0.25', '0.30', '12.15', '2.87', '0.21', '0.39']);
    expect(r.out).toMatch(/Table 6/);
    expect(r.out).toMatch(/error: cross × 5: boom/);
  });

  it('lists every bench under the results folder when no argument is given, and writes CSV rows', async () => {
    const r = await cli(['report', '--results-dir', results, '--format', 'csv']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe('bench,config,device,steps,cfg,design,refs,time_s,peak_rss_delta_mb,error');
    expect(lines).toContain(`${id},tiny,cpu,4,1.5,spatial,5,8.0000,1000.0,`);
    expect(lines.at(-1)).toBe(`${id},tiny,cpu,4,1.5,cross,5,,,"boom"`);
  });
});
