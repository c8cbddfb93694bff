/**
 * `refbench reproduce` and `refbench report --paper` end to end on the embedded benchmark (synthfaces-ref, severe)
 * with the committed ReF-LDM-tiny bundle, through the CLI:
 * - table5 makes its four runs, records the benchmark protocol in each run, and a second call skips them all;
 * - table2 --dry-run lists CacheKV as done (the same run as Table 5's "max 5 refs") and writes nothing; table2 then
 *   makes the three other designs and the fusion bench its time/memory columns read;
 * - `report --paper table5` (md, csv) prints our numbers equal to the store's (summary.json, same bootstrap) and
 *   the paper's equal to benchmarks/paper-tables.json, with Δ = ours − paper; every table's paper numbers equal the
 *   JSON, and rows not run say "not run" with the command that fills them;
 * - `--latex` is a booktabs document that pdflatex compiles (skipped, saying so, only where pdflatex is absent);
 * - a run made from another protocol version is never compared: a loud warning names both versions.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBenchmark } from '../../src/lib/server/experiments/benchmarks.ts';
import { cli } from '../helpers/cli.ts';

let root: string;
let results: string;
let cfg: string;
const B = 'synthfaces-ref-severe';
const common = () => ['--benchmark', B, '--restorer', 'refldm-tiny', '--results-dir', results, '--config', cfg];
const paperJson = JSON.parse(readFileSync(join(import.meta.dirname, '../../benchmarks/paper-tables.json'), 'utf8')) as {
  tables: { id: string; metrics: { key: string; decimals: number | null }[]; rows: { method: string; values: Record<string, number | null> }[] }[];
};
const pdflatex = (() => {
  try {
    execFileSync('pdflatex', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function csvRows(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split('\n');
  const split = (l: string) => {
    const out: string[] = [];
    let cur = '';
    let q = false;
    for (let i = 0; i < l.length; i++) {
      const ch = l[i];
      if (q) {
        if (ch === '"' && l[i + 1] === '"') (cur += '"'), i++;
        else if (ch === '"') q = false;
        else cur += ch;
      } else if (ch === '"') q = true;
      else if (ch === ',') out.push(cur), (cur = '');
      else cur += ch;
    }
    out.push(cur);
    return out;
  };
  const h = split(head);
  return lines.map((l) => Object.fromEntries(split(l).map((v, i) => [h[i], v])));
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'refbench-reproduce-'));
  results = join(root, 'results');
  cfg = join(root, 'refbench.config.yaml');
  writeFileSync(cfg, '# empty: the embedded benchmark needs no keys\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('refbench reproduce + report --paper on synthfaces-ref', () => {
  it('table5 makes its four runs (protocol recorded), a second call skips them all', async () => {
    const r = await cli(['reproduce', 'table5', ...common(), '--limit', '2']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('table5: 4 run(s) made, 0 already done, 0 blocked');
    const runs = readdirSync(join(results, 'runs')).sort();
    expect(runs.map((d) => d.replace(/-[0-9a-f]{10}$/, ''))).toEqual(['refs1', 'refs3', 'refs5', 'refs8'].map((v) => `${B}-refldm-tiny-${v}`));
    const b = loadBenchmark(B);
    for (const d of runs) {
      const run = JSON.parse(readFileSync(join(results, 'runs', d, 'run.json'), 'utf8'));
      expect(run.spec.benchmark).toEqual({ id: B, version: b.protocol.version, sha256: b.protocol.sha256 });
      expect(run.dataset.size).toBe(2);
    }
    const again = await cli(['reproduce', 'table5', ...common(), '--limit', '2']);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain('table5: 0 run(s) made, 4 already done');
    expect(readdirSync(join(results, 'runs')).sort()).toEqual(runs);
  }, 600_000);

  it('table2 --dry-run: CacheKV is Table 5\'s run (done), the rest missing with a cost; nothing written', async () => {
    const before = readdirSync(results).sort();
    const r = await cli(['reproduce', 'table2', ...common(), '--limit', '2', '--dry-run']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(new RegExp(`done\\s+${B}-refldm-tiny-refs5-[0-9a-f]{10}\\s+CacheKV\\s+done`));
    for (const d of ['channel', 'cross', 'spatial']) expect(r.err).toMatch(new RegExp(`missing\\s+${B}-refldm-tiny-refs5-${d}-[0-9a-f]{10}\\s+\\S.*~\\d+`));
    expect(r.err).toMatch(/missing\s+bench fusion \(tiny, cachekv\/spatial\/cross\/channel × refs 5, 10 steps, cpu\)/);
    expect(r.out).toContain('dry run: 3 run(s) to do, 1 done, 0 blocked');
    expect(readdirSync(results).sort()).toEqual(before);
  });

  it('table2 runs the other designs and the fusion bench; its report has quality from runs, time/memory from the bench', async () => {
    const r = await cli(['reproduce', 'table2', ...common(), '--limit', '2']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/table2: 3 run\(s\) made, 1 already done, 0 blocked; fusion bench .*fusion\.json/);
    const csv = await cli(['report', '--paper', 'table2', ...common(), '--format', 'csv']);
    expect(csv.code, csv.err).toBe(0);
    const rows = csvRows(csv.out);
    const fusionPath = r.out.match(/fusion bench (\S+fusion\.json)/)![1];
    const fusion = JSON.parse(readFileSync(fusionPath, 'utf8')) as { rows: { design: string; refs: number; timeMs: number }[] };
    const design = { 'Channel-concatenation': 'channel', 'Cross-attention': 'cross', 'Spatial-concatenation': 'spatial', CacheKV: 'cachekv' } as const;
    for (const [method, d] of Object.entries(design)) {
      const t = rows.find((x) => x.method === method && x.column === 'inference_time')!;
      expect(Number(t.ours)).toBeCloseTo(fusion.rows.find((x) => x.design === d && x.refs === 5)!.timeMs / 1000, 12);
      expect(t.delta).toBe(''); // different hardware: no Δ
      const ids = rows.find((x) => x.method === method && x.column === 'ids')!;
      expect(ids.run_id).toMatch(new RegExp(`^${B}-refldm-tiny-refs5${d === 'cachekv' ? '' : `-${d}`}-`));
      const summary = JSON.parse(readFileSync(join(results, 'runs', ids.run_id, 'summary.json'), 'utf8'));
      expect(Number(ids.ours)).toBeCloseTo(summary.metrics['ids-arcface-r50'].value, 12);
    }
  }, 1_200_000); // NOTE: the fusion bench at 5 references took 490–600 s on the shared 2-core machine under load 15–25

  it('report --paper table5: our numbers equal the store\'s, the paper\'s equal paper-tables.json, Δ = ours − paper', async () => {
    const md = await cli(['report', '--paper', 'table5', ...common()]);
    expect(md.code, md.err).toBe(0);
    expect(md.out).toContain('Paper table5 (Hsiao et al., NeurIPS 2024)');
    expect(md.out).toContain(`NOTE: ${B} is a stand-in`);
    const csv = await cli(['report', '--paper', 'table5', ...common(), '--format', 'csv']);
    const rows = csvRows(csv.out);
    const t5 = paperJson.tables.find((t) => t.id === 'table5')!;
    expect(rows.length).toBe(t5.rows.length * t5.metrics.length);
    for (const row of t5.rows) {
      const runRow = rows.find((x) => x.method === row.method && x.column === 'ids')!;
      const summary = JSON.parse(readFileSync(join(results, 'runs', runRow.run_id, 'summary.json'), 'utf8'));
      for (const [col, metric] of [['ids', 'ids-arcface-r50'], ['lpips', 'lpips-vgg']] as const) {
        const c = rows.find((x) => x.method === row.method && x.column === col)!;
        const s = summary.metrics[metric];
        expect(Number(c.ours)).toBeCloseTo(s.value, 12);
        expect(Number(c.ours_ci95_half)).toBeCloseTo((s.ci95[1] - s.ci95[0]) / 2, 12);
        expect(Number(c.paper)).toBe(row.values[col]);
        expect(Number(c.delta)).toBeCloseTo(s.value - (row.values[col] as number), 12);
        // The Markdown cell: ours ± CI at the paper's decimals, the paper's value, the signed Δ.
        const d = t5.metrics.find((m) => m.key === col)!.decimals!;
        const delta = s.value - (row.values[col] as number);
        expect(md.out).toContain(`${s.value.toFixed(d)} ± ${((s.ci95[1] - s.ci95[0]) / 2).toFixed(d)} | ${(row.values[col] as number).toFixed(d)} | ${delta >= 0 ? '+' : ''}${delta.toFixed(d)}`);
      }
      // Only 2 of 44 samples: the row is partial and names the command that completes it.
      expect(md.out).toContain(`${B} / ${row.method}: partial (2/44 samples): refbench reproduce table5 --benchmark ${B} --restorer refldm-tiny --results-dir ${results}`);
    }
  });

  it('every table\'s paper numbers equal benchmarks/paper-tables.json; rows not run say so with the command', async () => {
    for (const id of ['table2', 'table5', 'table6', 'table7']) {
      const csv = await cli(['report', '--paper', id, '--results-dir', join(root, 'empty'), '--config', cfg, '--format', 'csv']);
      expect(csv.code, csv.err).toBe(0);
      const t = paperJson.tables.find((x) => x.id === id)!;
      const rows = csvRows(csv.out).filter((r) => r.in_paper === 'true');
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) {
        const v = t.rows.find((x) => x.method === r.method)!.values[r.column];
        expect(r.paper === '' ? null : Number(r.paper), `${id} ${r.method} ${r.column}`).toBe(v);
      }
      // Every paper row and every paper column of the benchmarks shown is there.
      const methods = new Set(rows.map((r) => r.method));
      expect([...methods].sort()).toEqual(t.rows.map((r) => r.method).sort());
    }
    const md = await cli(['report', '--paper', 'table5', '--results-dir', join(root, 'empty'), '--config', cfg, '--benchmark', B, '--restorer', 'refldm-tiny']);
    expect(md.out).toMatch(/\| max 1 ref \| not run \| 1 \| 1 \|/);
    expect(md.out).toContain(`${B} / max 8 refs: not run: refbench reproduce table5 --benchmark ${B} --restorer refldm-tiny --results-dir ${join(root, 'empty')}`);
    // Table 6 without a fusion bench: the time cells say they need no weights.
    const t6 = await cli(['report', '--paper', 'table6', '--results-dir', join(root, 'empty'), '--config', cfg, '--benchmark', B, '--restorer', 'refldm-tiny']);
    expect(t6.out).toMatch(/\| 8 refs \| not run \| 8 \| 8 \| +\| not run \(no weights needed\) \| out-of-memory \|/);
  });

  it.skipIf(!pdflatex)(`--latex compiles with pdflatex (booktabs)${pdflatex ? '' : ' — SKIPPED: pdflatex is not installed here'}`, async () => {
    const tex = join(root, 'table5.tex');
    const r = await cli(['report', '--paper', 'table5', ...common(), '--latex', '--out', tex]);
    expect(r.code, r.err).toBe(0);
    const src = readFileSync(tex, 'utf8');
    expect(src).toContain('\\usepackage{booktabs}');
    expect(src).toContain('\\toprule');
    execFileSync('pdflatex', ['-interaction=nonstopmode', '-halt-on-error', '-output-directory', root, tex], { stdio: 'pipe', timeout: 120_000 });
    expect(existsSync(join(root, 'table5.pdf'))).toBe(true);
  }, 180_000);

  it('a run of another protocol version is not compared: a loud warning names both versions', async () => {
    const dir = readdirSync(join(results, 'runs')).find((d) => d.startsWith(`${B}-refldm-tiny-refs8-`))!;
    const p = join(results, 'runs', dir, 'run.json');
    const run = JSON.parse(readFileSync(p, 'utf8'));
    // Another version than the benchmark file's (whatever that is now): one more.
    const current = loadBenchmark(B).protocol.version;
    const other = current + 1;
    run.spec.benchmark.version = other;
    writeFileSync(p, JSON.stringify(run, null, 2));
    const md = await cli(['report', '--paper', 'table5', ...common()]);
    expect(md.code, md.err).toBe(0);
    const warning = `WARNING: ${dir} was made with protocol version ${other} of benchmark ${B}, but ${loadBenchmark(B).file} is version ${current}: it is NOT compared`;
    expect(md.out).toContain(warning);
    expect(md.err).toContain(warning);
    expect(md.out).toMatch(/\| max 8 refs \| not run \|/);
    // The plain report over these runs says it too.
    const plain = await cli(['report', '--results-dir', results]);
    expect(plain.out).toMatch(new RegExp(`WARNING: runs of benchmark ${B} use different protocol versions \\(v${current} \\([0-9a-f]{8}\\): .*; v${other} \\([0-9a-f]{8}\\): ${dir}\\)`));
  });
});
