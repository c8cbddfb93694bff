import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { Dataset } from '../../src/lib/eval/datasets/types.ts';
import { main } from '../../src/cli/main.ts';
import { DATASETS } from '../../src/lib/server/datasets/index.ts';
import { RESTORERS } from '../../src/lib/server/restorers/index.ts';
import { METRICS } from '../../src/lib/server/metrics/index.ts';
import { evalRun, runSpec } from '../../src/lib/server/runner/evaluate.ts';
import { report } from '../../src/lib/server/runner/report.ts';
import { folderDataset, writeFolderDataset } from '../helpers/folder-dataset.ts';

let root: string;
let ds: Dataset;
let runDir: string;
let runId: string;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main(['node', 'refbench', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'refbench-e2e-'));
  await writeFolderDataset(join(root, 'ds'), 4, 1);
  writeFileSync(join(root, 'ds', 'lq', 's02.png'), 'not a png'); // one failing sample
  const base = folderDataset(join(root, 'ds'));
  ds = base;
  if (!DATASETS.has('test-folder-e2e')) DATASETS.register('test-folder-e2e', { options: z.object({}).strict(), create: async () => base }, 'test/e2e/cli-report.test.ts');
  const r = await runSpec(
    { name: 'e2e', dataset: { adapter: 'test-folder-e2e' }, restorer: { id: 'classical' }, metrics: ['psnr'] },
    { resultsDir: join(root, 'results'), quiet: true },
  );
  runDir = r.runDir;
  runId = r.runId;
});

describe('refbench report / eval / ls', () => {
  it('markdown report shows coverage N/M, arrows, CI and the failure', async () => {
    const md = await report([runDir], 'md');
    expect(md).toContain('| run | restorer | dataset |');
    expect(md).toContain('psnr ↑');
    expect(md).toContain('time-ms ↓');
    const row = md.split('\n').find((l) => l.startsWith(`| ${runId}`))!;
    expect(row).toContain('| 3/4 |');
    expect(row).toMatch(/\d+\.\d{2} ± \d+\.\d{2} \(3\/4\)/); // psnr with 2 decimals and coverage 3/4
    expect(row).toContain('1 failed');
  });

  it('csv report has one row per run with CI bounds and counts, matching summary.json', async () => {
    const csv = await report([runDir], 'csv');
    const [head, row] = csv.trim().split('\n').map((l) => l.split(','));
    const col = (k: string) => row[head.indexOf(k)];
    expect(col('ok')).toBe('3');
    expect(col('error')).toBe('1');
    expect(col('total')).toBe('4');
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'));
    expect(Number(col('psnr'))).toBeCloseTo(summary.metrics.psnr.value, 10);
    expect(Number(col('psnr_ci95_lo'))).toBeCloseTo(summary.metrics.psnr.ci95[0], 10);
    expect(col('untrained')).toBe('false');
  });

  it('CLI report writes md/csv, with the paper table beside ours', async () => {
    const out = join(root, 'table.csv');
    const r = await cli(['report', runId, '--results-dir', join(root, 'results'), '--format', 'csv', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(out, 'utf8').split('\n')[0]).toMatch(/^run_id,restorer,dataset/);
    const p = await cli(['report', '--results-dir', join(root, 'results'), '--paper', 'table7']);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toContain('Paper table7');
    expect(p.out).toMatch(/\| ReF-LDM \|/);
    const bad = await cli(['report', 'nope', '--results-dir', join(root, 'results')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/No run 'nope'/);
  });

  it('eval appends per-sample values once (resumable) and updates summary.json', async () => {
    const a = await evalRun(runDir, ['ssim'], { dataset: ds, quiet: true });
    expect(a.summary.metrics.ssim.coverage).toBe('3/4');
    const n1 = readFileSync(join(runDir, 'eval.jsonl'), 'utf8').trim().split('\n').length;
    expect(n1).toBe(3);
    await evalRun(runDir, ['ssim'], { dataset: ds, quiet: true });
    expect(readFileSync(join(runDir, 'eval.jsonl'), 'utf8').trim().split('\n').length).toBe(n1);
    const md = await report([runDir], 'md');
    expect(md).toContain('ssim ↑');
  });

  it('marks runs with random-init weights as UNTRAINED in md, csv and run.json', async () => {
    if (!RESTORERS.has('test-random-init')) {
      RESTORERS.register('test-random-init', {
        options: z.object({}).strict(),
        create: async () => {
          const inner = await RESTORERS.get('lq')({});
          return { ...inner, info: { ...inner.info, id: 'test-random-init', weights: { kind: 'random-init', seed: 1, files: [] } } };
        },
      }, 'test');
    }
    const r = await runSpec({ name: 'untrained', dataset: { adapter: 'test-folder-e2e' }, restorer: { id: 'test-random-init' } }, { resultsDir: join(root, 'results'), quiet: true });
    const run = JSON.parse(readFileSync(join(r.runDir, 'run.json'), 'utf8'));
    expect(run.restorer.untrained).toBe(true);
    expect(r.summary.untrained).toBe(true);
    const md = await report([runDir, r.runDir], 'md');
    expect(md.split('\n').find((l) => l.startsWith(`| ${r.runId}`))).toContain('UNTRAINED WEIGHTS');
    expect(md.split('\n').find((l) => l.startsWith(`| ${runId}`))).not.toContain('UNTRAINED');
    const csv = (await report([r.runDir], 'csv')).trim().split('\n');
    expect(csv[1].split(',')[csv[0].split(',').indexOf('untrained')]).toBe('true');
  });

  it('eval computes a distribution metric once over the saved outputs', async () => {
    if (!METRICS.has('test-dist-mean')) {
      METRICS.register('test-dist-mean', { options: z.object({}).strict(), create: async () => ({
        spec: { id: 'test-dist-mean', version: '1', kind: 'distribution', higherIsBetter: false, decimals: 3, description: 'mean pixel', input: {}, weights: 'none' },
        init: () => ({ sum: 0, n: 0 }),
        async update(st: { sum: number; n: number }, items: readonly { pred: { data: Uint8Array } }[]) {
          for (const it of items) { st.sum += it.pred.data.reduce((a, v) => a + v, 0) / it.pred.data.length; st.n++; }
          return st;
        },
        merge: (a: { sum: number; n: number }, b: { sum: number; n: number }) => ({ sum: a.sum + b.sum, n: a.n + b.n }),
        compute: (st: { sum: number; n: number }) => ({ value: st.sum / st.n, n: st.n }),
      }) }, 'test');
    }
    const a = await evalRun(runDir, ['test-dist-mean'], { dataset: ds, quiet: true });
    expect(a.summary.metrics['test-dist-mean']).toMatchObject({ n: 3, coverage: '3/4', kind: 'distribution', ci95: null });
    expect(a.summary.metrics['test-dist-mean'].value).toBeGreaterThan(0);
    const lines = () => readFileSync(join(runDir, 'eval.jsonl'), 'utf8').trim().split('\n').filter((l) => l.includes('test-dist-mean'));
    expect(lines()).toHaveLength(1);
    await evalRun(runDir, ['test-dist-mean'], { dataset: ds, quiet: true });
    expect(lines()).toHaveLength(1);
    const csv = (await report([runDir], 'csv')).trim().split('\n');
    expect(Number(csv[1].split(',')[csv[0].split(',').indexOf('test-dist-mean')])).toBeCloseTo(a.summary.metrics['test-dist-mean'].value!, 10);
  });

  it('ls lists the run with its counts', async () => {
    const r = await cli(['ls', '--results-dir', join(root, 'results')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`${runId}\\s+classical\\s+test-folder\\s+3\\s+1\\s+4`));
  });

  it('run: an invalid spec file fails with file and field path', async () => {
    const spec = join(root, 'bad.yaml');
    writeFileSync(spec, 'name: x\ndataset: { adapter: test-folder-e2e }\nrestorer: { id: classical, options: { radius: ten } }\n');
    const r = await cli(['run', spec, '--results-dir', join(root, 'results')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('restorer.options.radius: expected number, got "ten"');
    writeFileSync(spec, 'name: x\ndataset: { adapter: test-folder-e2e }\nrestorer: { id: lq }\nmetrics: [psrn]\n');
    const u = await cli(['run', spec, '--results-dir', join(root, 'results')]);
    expect(u.err).toMatch(/bad\.yaml: metrics\[0\]\.id: Unknown metric 'psrn'\. Did you mean: psnr/);
  });
});
