/**
 * Every metric declares its exact mode where it is registered (issue 17, item 4): implementation and version, input
 * range, and resize/crop for each value of its `resize` option (or one `default` when it has none); `modeOf` joins
 * them with what a run recorded (version, resize option, weight files → label and sha256 prefix) and `columnMode`
 * keeps runs with different modes apart.
 */
import { describe, expect, it } from 'vitest';
import { columnMode, columnModeText, modeLines, modeOf } from '../../../../src/lib/eval/metrics/conventions.ts';
import { TIME_METRIC } from '../../../../src/lib/eval/results/schema.ts';
import { METRICS, metricConventions } from '../../../../src/lib/server/metrics/index.ts';

describe('metric conventions', () => {
  it('every registered metric (and time-ms) declares implementation, input and resize/crop for each resize mode', () => {
    for (const id of [...METRICS.ids(), TIME_METRIC.id]) {
      const c = metricConventions(id);
      expect(c, id).toBeDefined();
      expect(c!.implementation.length, id).toBeGreaterThan(0);
      expect(c!.input.length, id).toBeGreaterThan(0);
      const keys = Object.keys(c!.resize).sort();
      if (id !== TIME_METRIC.id && METRICS.optionKeys(id).includes('resize')) expect(keys, id).toEqual(['none', 'pil-bicubic-512']);
      else expect(keys, id).toEqual(['default']);
    }
    expect(metricConventions('lpips-vgg')!.implementation).toMatch(/lpips 0\.1\.4 LPIPS v0\.1, VGG16/);
    expect(metricConventions('ids-arcface-r50')!.resize.none).toMatch(/crop \[32:480\].*112×112/);
  });

  it('modeOf: the recorded resize option, version and files; columnMode separates runs that differ', () => {
    const conv = metricConventions('lpips-vgg');
    const files = [
      { name: 'vgg.onnx', sha256: 'a'.repeat(64), model: 'lpips-vgg-v0.1' },
      { name: 'linear weights', path: '/abs/dir/vgg.lin.json', sha256: 'b'.repeat(64) },
    ];
    const a = modeOf('lpips-vgg', { version: '1', weights: 'real', options: {}, files }, conv);
    const b = modeOf('lpips-vgg', { version: '1', weights: 'real', options: { resize: 'pil-bicubic-512' }, files }, conv);
    expect(a.resize).toMatch(/^none: 512×512 required/);
    expect(b.resize).toMatch(/^PIL bicubic to 512×512/);
    expect(a.files).toEqual([
      { label: 'lpips-vgg-v0.1: vgg.onnx', sha256: 'aaaaaaaaaaaa' },
      { label: 'linear weights (vgg.lin.json)', sha256: 'bbbbbbbbbbbb' }, // a path is cut to its file name
    ]);
    const lines = Object.fromEntries(modeLines(a));
    expect(lines.weights).toBe('lpips-vgg-v0.1: vgg.onnx (sha256 aaaaaaaaaaaa…); linear weights (vgg.lin.json) (sha256 bbbbbbbbbbbb…)');
    expect(lines.metric).toBe('lpips-vgg v1');
    const col = columnMode([
      { runId: 'r1', mode: a },
      { runId: 'r2', mode: b },
      { runId: 'r3', mode: a },
    ]);
    expect(col.variants.map((v) => v.runIds)).toEqual([['r1', 'r3'], ['r2']]);
    expect(columnModeText(col)).toMatch(/^2 run\(s\): r1, r3\nmetric: lpips-vgg v1\n.*\n\n1 run\(s\): r2\n/s);
    const test = modeOf('lpips-vgg', { version: '1', weights: 'test-random-init', files }, conv);
    expect(Object.fromEntries(modeLines(test)).weights).toMatch(/TEST NETWORK \(random-init\)/);
    expect(Object.fromEntries(modeLines(modeOf('psnr', { version: '1', weights: 'none' }, metricConventions('psnr')))).weights).toBe('none (no network or statistics file)');
  });
});
