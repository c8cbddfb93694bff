/**
 * /paper and /fusion read fusion results one way (experiments/fusion-results.ts): after `refbench demo`, the demo's
 * fusion bench fills /paper's Table 2 time and memory for the refldm-tiny profile (the embedded data's default), the
 * same numbers /fusion shows. Before, the demo timed 4 DDIM steps while the profile's bench is 10, so /paper said
 * "not run" for designs /fusion showed; and /paper's Table 6 chart matched benches by config alone.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFusionOptions } from '../../../../src/lib/server/demo/demo.ts';
import { readModel } from '../../../../src/lib/server/dashboard/read-model.ts';

let root: string;
const MB = 2 ** 20;
const timeMs = (design: string, refs: number) => 100 * refs + { cachekv: 1, spatial: 2, cross: 3, channel: 4 }[design]!;
const bytes = (design: string, refs: number) => (10 * refs + { cachekv: 1, spatial: 2, cross: 3, channel: 4 }[design]!) * MB;

/** fusion.json as `refbench demo` writes it (bench/fusion.ts `FusionReport`), with made-up timings. */
function writeFusion(dir: string, id: string, o: { config: string; steps: number; designs: string[]; refs: number[] }, createdAt: string): void {
  mkdirSync(join(dir, 'bench', id), { recursive: true });
  const rows = o.designs.flatMap((design) => o.refs.map((refs) => ({ design, refs, timeMs: timeMs(design, refs), peakRssDeltaBytes: bytes(design, refs) })));
  const report = { kind: 'fusion-bench', id, createdAt, label: 'untrained random-init weights', config: o.config, bundle: 'test/fixtures/refldm-tiny', weights: null, device: 'cpu', threads: null, steps: o.steps, cfg: 1.5, repeat: 1, host: { cpus: 2, cpuModel: 'x', node: 'v20', onnxruntime: '1' }, rows };
  writeFileSync(join(dir, 'bench', id, 'fusion.json'), JSON.stringify(report));
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'refbench-paper-fusion-'));
  const demo = demoFusionOptions();
  writeFusion(root, 'demo', demo, '2026-12-01T00:00:00Z');
  // A newer bench of the same config with another step count: not the profile's, so neither table nor chart uses it.
  writeFusion(root, 'other-steps', { ...demo, steps: demo.steps + 1, designs: ['cachekv'], refs: [1, 3, 5, 8] }, '2026-12-02T00:00:00Z');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('fusion results on /paper and /fusion', () => {
  it("the demo's fusion bench fills /paper's Table 2 time and memory, as /fusion shows them", async () => {
    const page = await readModel(root).paper({ data: 'embedded' });
    expect(page.restorer).toBe('refldm-tiny');
    const t2 = page.tables.find((t) => t.experiment === 'table2')!;
    expect(t2.fusion?.path).toBe(join(root, 'bench', 'demo', 'fusion.json'));
    const fusion = await readModel(root).fusion(join(root, 'no-measured'));
    const demoBench = fusion.benches.find((b) => b.source === 'results/bench/demo/fusion.json')!;
    const rows = t2.groups[0].rows;
    expect(rows.length).toBe(4);
    for (const row of rows) {
      const design = demoBench.variants[0].table2.find((d) => d.name === row.method)!;
      const time = row.cells.find((c) => c.key === 'inference_time')!;
      const memory = row.cells.find((c) => c.key === 'memory')!;
      expect(time.note).toMatch(/^bench fusion, cpu/);
      expect(time.ours).toBe(timeMs(design.design, 5) / 1000);
      expect(time.ours).toBe(design.timeS); // /fusion's Table 2 at 5 references
      expect(memory.ours).toBe(bytes(design.design, 5) / 2 ** 30);
      expect(memory.ours! * 1024).toBeCloseTo(design.memoryMb!, 9); // /fusion shows MB, /paper GB
    }
    const chart = page.charts.find((c) => c.id === 'table2-time')!;
    expect(chart.series[0].label).toBe('ours (bench fusion, cpu)');
    expect(chart.series[0].data).toEqual(rows.map((r) => r.cells.find((c) => c.key === 'inference_time')!.ours));
  });

  it("/paper's Table 6 chart uses the profile's benches only (not another step count)", async () => {
    const page = await readModel(root).paper({ data: 'embedded' });
    const t6 = page.charts.find((c) => c.id === 'table6-time')!;
    const cachekv = t6.series.find((s) => s.label.startsWith('ours: CacheKV'))!;
    // refs 1, 3, 5 from the demo's bench; 8 only in the other-steps bench, so no value
    expect(cachekv.data).toEqual([timeMs('cachekv', 1) / 1000, timeMs('cachekv', 3) / 1000, timeMs('cachekv', 5) / 1000, null]);
  });
});
