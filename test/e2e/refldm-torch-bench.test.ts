/**
 * The PyTorch engine benchmark in its tiny CPU form: scripts/gpu-bench.sh (what runs on a GPU machine without Node:
 * `python -m refbench_model.bench` with the check, ablation, profile and drift; here DEVICE=cpu and shrunk by extra
 * arguments: tiny config, 128² images, 1 DDIM step, 1 and 2 references) writes a JSON that the zod schema accepts, and `refbench report <json>` renders the paper's Tables 2 and 6 for both
 * variants with our ratios beside the paper's, the ablation, the dtype drift and the targets. A JSON that breaks
 * the schema is refused naming the field.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { readTorchBench } from '../../src/lib/server/timing/torch-bench.ts';
import { REPO, SKIP_TORCH, TORCH_NOTE, VENV_PYTHON } from '../helpers/python-venv.ts';

const tmp = mkdtempSync(join(tmpdir(), 'refbench-torch-bench-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const OUT = join(tmp, 'bench.json');

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((out += String(s)), true));
  process.exitCode = undefined;
  try {
    const code = await main(['node', 'refbench', ...args]).catch((err: Error) => ((out += `THROWN ${err.message}`), 1));
    return { code: code || Number(process.exitCode ?? 0), out };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

describe.skipIf(SKIP_TORCH)(`python -m refbench_model.bench → refbench report${TORCH_NOTE}`, () => {
  it('tiny CPU form: schema-valid JSON; Tables 2 and 6 for eager and fastest, ablation, drift, targets', async () => {
    const args = ['scripts/gpu-bench.sh', '--config', 'tiny', '--steps', '1', '--refs', '1,2', '--designs', 'cachekv,spatial', '--size', '128', '--warmup-steps', '0', '--ablation-refs', '2', '--threads', '2', '--quiet'];
    const py = spawnSync('bash', args, { cwd: REPO, env: { ...process.env, DEVICE: 'cpu', OUT, PYTHON: VENV_PYTHON, BUDGET_S: '0' }, encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    expect(py.stdout).toContain(`saved ${OUT}`);
    // the bare-machine summary: targets with their verdicts (n/a: tiny config)
    expect(py.stdout).toMatch(/Targets:\n {2}\[n\/a\] fastest vs eager fp32 \(official arithmetic and batching\), CacheKV, 2 refs \(time ratio\)/);
    expect(py.stdout).toMatch(/drift bf16 vs fp32: max latent delta \S+, image max level diff \d+/);

    const bench = readTorchBench(OUT); // zod, strict
    expect(bench.rows.map((r) => `${r.variant}/${r.design}/${r.refs}`).sort()).toEqual(
      ['eager/cachekv/1', 'eager/cachekv/2', 'eager/spatial/1', 'eager/spatial/2', 'fastest/cachekv/1', 'fastest/cachekv/2', 'fastest/spatial/1', 'fastest/spatial/2'],
    );
    expect(bench.rows.every((r) => r.timeMs! > 0 && r.memoryMethod)).toBe(true);
    expect(bench.variants.fastest).toMatchObject({ cfgBatch: true, attention: 'sdpa', dtype: 'fp32', cudaGraphs: true });
    expect(Object.keys(bench.ignored.fastest)).toEqual(expect.arrayContaining(['cudaGraphs', 'cudnnBenchmark', 'dtype']));
    expect(bench.ablation.find((a) => a.variant === 'eager+cudaGraphs')?.skipped).toBe('cuda only');
    expect(bench.ablation.find((a) => a.variant === 'eager+sdpa')?.speedupVsEager).toBeGreaterThan(0);
    // eager batches CFG as the official sampler: the ablation turns it off instead of on
    expect(bench.variants.eager).toMatchObject({ cfgBatch: true, attention: 'math', kvCache: 'concat', refPass: 'loop', dtype: 'fp32' });
    expect(bench.ablation.find((a) => a.variant === 'eager-cfgBatch')?.switches.cfgBatch).toBe(false);
    expect(bench.ablation.some((a) => a.variant === 'eager+cfgBatch')).toBe(false);
    expect(bench.drift.map((d) => d.dtype)).toEqual(['bf16', 'fp16']);
    expect(bench.checks).toEqual([expect.objectContaining({ variant: 'fastest-fp32', vs: 'eager', ok: true }), { variant: 'fastest-fp32+compile', skipped: 'cuda only' }]);

    const r = await cli(['report', OUT]);
    expect(r.code, r.out).toBe(0);
    for (const v of ['eager', 'fastest']) expect(r.out).toContain(`== ${v}`);
    expect(r.out.match(/Table 2 \(ours at 2 refs/g)?.length).toBe(2);
    expect(r.out.match(/Table 6 \(time per image/g)?.length).toBe(2);
    // our ratio to spatial-concatenation beside the paper's (CacheKV: 0.21 time, 0.39 memory)
    const cachekv = r.out.split('\n').filter((l) => l.startsWith('CacheKV'));
    expect(cachekv).toHaveLength(2);
    for (const l of cachekv) expect(l.split(/\s+/).slice(-4)).toEqual(['12.15', '2.87', '0.21', '0.39']);
    expect(r.out).toMatch(/Spatial-concatenation +\d+\.\d{3} +\d+ +1\.00 +1\.00 +58\.36/);
    expect(r.out).toMatch(/Ablation: each switch alone on top of eager \(CacheKV, 2 refs\)\n.*\neager\+sdpa +\d/);
    expect(r.out).toMatch(/Drift against fp32 .*\n.*\nbf16 +\d/);
    expect(r.out).toMatch(/Targets \(issue 10\)\n {2}\[n\/a\] fastest vs eager fp32/);
    expect(r.out).toMatch(/Profile: fastest, cachekv, 2 refs, by self_cpu_time_total/);
    expect(r.out).toMatch(/Check: fast fp32 paths against eager on this device \(tiny model, seed 0\)\n {2}fastest-fp32 +ok: max \|Δlatent\|/);

    const csv = await cli(['report', OUT, '--format', 'csv']);
    expect(csv.out.split('\n')[0]).toBe('bench,config,device,device_name,variant,design,refs,time_s,memory_mb,memory_method,error');
    expect(csv.out.trim().split('\n')).toHaveLength(9);
  }, 900_000);

  it('a JSON that breaks the schema is refused, naming the file and the field', async () => {
    const j = JSON.parse(readFileSync(OUT, 'utf8'));
    delete j.rows[0].design;
    j.variants.fastest.dtype = 'fp8';
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify(j));
    const r = await cli(['report', bad]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${bad}: invalid refldm-torch-bench JSON`);
    expect(r.out).toMatch(/rows\.0\.design: /);
    expect(r.out).toMatch(/variants\.fastest\.dtype: /);
  });
});
