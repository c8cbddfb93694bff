import { describe, expect, it } from 'vitest';
import { alphasCumprodFromBetas, makeAlphasCumprod, makeLinearBetas } from '../../../../src/lib/eval/schedulers/beta-schedules.ts';
import { cfgCombine, ddimStep, makeDdimTables, makeDdimTimesteps, needsUncond } from '../../../../src/lib/eval/schedulers/ddim.ts';

// docs/model.md §5.2, every row: [schedule, S, count, first, second, last].
const TIMESTEP_ROWS = [
  ['uniform', 100, 100, 1, 11, 991],
  ['uniform', 50, 50, 1, 21, 981],
  ['uniform', 30, 31, 1, 34, 991],
  ['uniform_trailing', 50, 50, 19, 39, 999],
  ['uniform_trailing', 100, 100, 9, 19, 999],
  ['uniform_trailing', 30, 31, 9, 42, 999],
  ['uniform_trailing', 1000, 1000, 0, 1, 999],
] as const;

describe('makeDdimTimesteps (§5.2)', () => {
  it.each(TIMESTEP_ROWS)('%s S=%i → %i steps %i, %i, …, %i', (schedule, steps, count, first, second, last) => {
    const ts = makeDdimTimesteps(schedule, steps);
    expect(ts.length).toBe(count);
    expect([ts[0], ts[1], ts[ts.length - 1]]).toEqual([first, second, last]);
    const c = Math.floor(1000 / steps);
    for (let i = 1; i < ts.length; i++) expect(ts[i] - ts[i - 1]).toBe(c);
  });
  it('rejects a bad step count, naming the field', () => {
    expect(() => makeDdimTimesteps('uniform', 0)).toThrow(/steps/);
    expect(() => makeDdimTimesteps('uniform', 1001)).toThrow(/steps/);
  });
});

describe('linear β schedule and ᾱ (§4)', () => {
  const betas = makeLinearBetas(1000, 0.0015, 0.0155);
  const ac = alphasCumprodFromBetas(betas);
  it('end points of β', () => {
    expect(betas[0]).toBeCloseTo(0.0015, 15);
    expect(betas[999]).toBeCloseTo(0.0155, 15);
    // linear in √β, not in β: the midpoint of √β squared is below the midpoint of β.
    expect(betas[500]).toBeLessThan((0.0015 + 0.0155) / 2);
  });
  it('reference ᾱ values', () => {
    expect(ac[0]).toBe(Math.fround(0.9985));
    expect(ac[1]).toBeCloseTo(0.996996, 6);
    expect(ac[991]).toBeCloseTo(7.572e-4, 6);
    expect(ac[999]).toBeCloseTo(6.687e-4, 6);
    expect(ac).toBeInstanceOf(Float32Array);
    expect(makeAlphasCumprod('linear', 1000, 0.0015, 0.0155)).toEqual(ac);
  });
});

describe('ddimStep (eta = 0, §5.3)', () => {
  const ac = makeAlphasCumprod('linear', 1000, 0.0015, 0.0155);
  const ts = makeDdimTimesteps('uniform', 100);
  const tables = makeDdimTables(ts, ac);
  it('tables: ᾱ_prev of the final step is ᾱ[0], not 1', () => {
    expect(tables.alphasPrev[0]).toBe(ac[0]);
    expect(tables.alphasPrev[0]).not.toBe(1);
    expect(tables.alphas[99]).toBe(ac[991]);
    expect(tables.alphasPrev[99]).toBe(ac[981]);
  });
  it('hand-computed step at the last position (t = 991 → 981)', () => {
    const x = Float32Array.from([1, -0.5, 0.25]);
    const eps = Float32Array.from([0.1, 0.2, -0.3]);
    const at = ac[991];
    const ap = ac[981];
    const expected = Array.from(x, (xv, j) => {
      const x0 = (xv - Math.sqrt(1 - at) * eps[j]) / Math.sqrt(at);
      return Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * eps[j];
    });
    const got = ddimStep(tables, 99, x, eps);
    for (let j = 0; j < 3; j++) expect(got[j]).toBeCloseTo(expected[j], 4);
    // x̂₀ is large at t = 991 (√ᾱ ≈ 0.0275): sanity check on magnitude.
    expect(Math.abs(got[0])).toBeGreaterThan(1);
  });
  it('the final step returns √ᾱ₀·x̂₀ + √(1−ᾱ₀)·ε, not x̂₀', () => {
    const x = Float32Array.from([0.3]);
    const eps = Float32Array.from([0.5]);
    const at = ac[1];
    const x0 = (0.3 - Math.sqrt(1 - at) * 0.5) / Math.sqrt(at);
    const got = ddimStep(tables, 0, x, eps)[0];
    expect(got).toBeCloseTo(Math.sqrt(0.9985) * x0 + Math.sqrt(0.0015) * 0.5, 6);
    expect(Math.abs(got - x0)).toBeGreaterThan(1e-3);
  });
  it('writes in place when out aliases x', () => {
    const x = Float32Array.from([1, 2]);
    const ref = ddimStep(tables, 50, x, Float32Array.from([0, 1]));
    ddimStep(tables, 50, x, Float32Array.from([0, 1]), x);
    expect(x).toEqual(ref);
  });
});

describe('cfgCombine (§6)', () => {
  it('ε_u + s(ε_c − ε_u)', () => {
    const u = Float32Array.from([1, 0, -2]);
    const c = Float32Array.from([2, 1, -2]);
    expect(Array.from(cfgCombine(u, c, 1.5))).toEqual([2.5, 1.5, -2]);
    expect(Array.from(cfgCombine(u, c, 1))).toEqual([2, 1, -2]);
  });
  it('scale 1 short-circuits the unconditional pass', () => {
    expect(needsUncond(1)).toBe(false);
    expect(needsUncond(1.5)).toBe(true);
  });
});

import { clampTimesteps } from '../../../../src/lib/eval/schedulers/ddim.ts';

describe('uniform lists that reach t = 1000', () => {
  it('S = 3 uniform (1, 334, 667, 1000) throws as the Python reference does, naming the fix', () => {
    expect(() => makeDdimTimesteps('uniform', 3)).toThrow(
      'steps: uniform with 3 steps yields t = 1000, which the official sampler cannot index; use uniform_trailing or another step count, e.g. 4',
    );
    for (const s of [9, 27, 37, 111, 333, 1000]) expect(() => makeDdimTimesteps('uniform', s)).toThrow(/yields t = 1000/);
    expect(makeDdimTimesteps('uniform', 4)).toEqual([1, 251, 501, 751]);
    expect(makeDdimTimesteps('uniform_trailing', 3)).toEqual([0, 333, 666, 999]);
  });
  it('clampTimesteps no longer clamps: in-range lists pass unchanged, t = 1000 is an error', () => {
    expect(clampTimesteps(makeDdimTimesteps('uniform', 100))).toEqual({ timesteps: makeDdimTimesteps('uniform', 100), clamped: false });
    expect(() => clampTimesteps([1, 334, 667, 1000])).toThrow('timesteps: t = 1000 is outside the ᾱ table (0 … 999)');
  });
});
