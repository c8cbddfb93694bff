import { describe, expect, it } from 'vitest';
import { applyOverrides, canonicalJson, identityOfSpec, parseKeyValues, parseRunSpec, SpecError } from '../../../../src/lib/eval/spec/run-spec.ts';

const base = { name: 'demo', dataset: { adapter: 'folder', options: { root: 'x' } }, restorer: { id: 'lq' }, metrics: ['psnr', { id: 'ssim', options: { a: 1 } }] };

describe('parseRunSpec', () => {
  it('applies defaults and normalises metrics', () => {
    const s = parseRunSpec(base, 'spec.yaml');
    expect(s.seed).toBe(2024);
    expect(s.device).toBe('cpu');
    expect(s.outputs.saveImages).toBe(true);
    expect(s.metrics).toEqual([{ id: 'psnr', options: {} }, { id: 'ssim', options: { a: 1 } }]);
  });

  it('names the file, the field path and the bad value', () => {
    const bad = { ...base, dataset: { adapter: 'folder', limit: 'ten' }, seed: -1, extra: 1 };
    try {
      parseRunSpec(bad, 'spec.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SpecError);
      const msg = (err as Error).message;
      expect(msg).toContain('spec.yaml: dataset.limit: expected number, got "ten"');
      expect(msg).toContain('spec.yaml: seed:');
      expect(msg).toContain("spec.yaml: extra: unknown key 'extra' (valid keys: name, dataset, restorer, metrics, seed, outputs, device, threads, tags, benchmark)");
    }
  });

  it('reports a missing field and array indices', () => {
    expect(() => parseRunSpec({ ...base, restorer: undefined }, 'r.json')).toThrow('r.json: restorer: expected object, got nothing (missing)');
    expect(() => parseRunSpec({ ...base, metrics: ['psnr', 3] }, 's.yaml')).toThrow(/s\.yaml: metrics\[1\]/);
    expect(() => parseRunSpec({ ...base, metrics: ['psnr', 'psnr'] }, 's.yaml')).toThrow("s.yaml: metrics[1]: metric 'psnr' is listed twice");
  });

  it('CLI overrides beat the file and go through the same validation', () => {
    const s = parseRunSpec(applyOverrides(base, { limit: 3, seed: 5, metrics: ['niqe'], restorerOptions: parseKeyValues(['steps=10', 'x=abc'], '-r') }), 'f');
    expect(s.dataset.limit).toBe(3);
    expect(s.seed).toBe(5);
    expect(s.metrics.map((m) => m.id)).toEqual(['niqe']);
    expect(s.restorer.options).toEqual({ steps: 10, x: 'abc' });
    expect(() => parseRunSpec(applyOverrides(base, { device: 'tpu' as 'cpu' }), 'f')).toThrow('f: device: expected one of "cpu", "cuda", got "tpu"');
  });

  it('canonical identity ignores key order, limit and threads', () => {
    const a = parseRunSpec({ ...base, threads: 2, dataset: { ...base.dataset, limit: 3 } });
    const b = parseRunSpec({ metrics: base.metrics, restorer: base.restorer, dataset: { options: { root: 'x' }, adapter: 'folder' }, name: 'demo' });
    expect(canonicalJson(identityOfSpec(a))).toBe(canonicalJson(identityOfSpec(b)));
    const c = parseRunSpec({ ...base, seed: 1 });
    expect(canonicalJson(identityOfSpec(c))).not.toBe(canonicalJson(identityOfSpec(b)));
  });

  it('tags are labels: recorded, deduplicated, checked, and not part of the identity', () => {
    const t = parseRunSpec({ ...base, tags: ['baseline', 'refs:3', 'baseline'] });
    expect(t.tags).toEqual(['baseline', 'refs:3']);
    expect(canonicalJson(identityOfSpec(t))).toBe(canonicalJson(identityOfSpec(parseRunSpec(base))));
    expect(() => parseRunSpec({ ...base, tags: ['two words'] }, 'spec.yaml')).toThrow(/spec\.yaml: tags\[0\]: a tag is 1-64 letters/);
  });
});
