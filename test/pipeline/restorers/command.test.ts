import { describe, expect, it } from 'vitest';
import { createCommandRestorer, expandArgs } from '../../../src/lib/server/restorers/command.ts';
import { SampleFailure } from '../../../src/lib/eval/restorers/restorer.ts';

// The "external program": node copying {in} to {out} unless the sample id says "fail" (like DMDNet's
// landmark failures), checking that it received every reference path.
const SCRIPT = [
  "const fs = require('fs');",
  'const [inp, out, id, ...refs] = process.argv.slice(1);',
  "if (id.includes('fail')) { console.error('no landmarks found'); process.exit(3); }",
  "if (!refs.every((r) => fs.existsSync(r))) process.exit(4);",
  "if (id.includes('silent')) process.exit(0);",
  'fs.copyFileSync(inp, out);',
].join('\n');

const img = (v: number) => ({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(v) });

describe('command restorer (execFile, no shell)', () => {
  it('expands placeholders; {refs} as a whole argument becomes one argument per reference', () => {
    const a = expandArgs(['-i', '{in}', '--refs={refs}', '{refs}', '{outDir}/x'], { in: '/a/in.png', out: '/b/out.png', refs: ['/r0', '/r1'], refDir: '/r', id: 's' });
    expect(a).toEqual(['-i', '/a/in.png', '--refs=/r0,/r1', '/r0', '/r1', '/b/x']);
  });

  it('runs the program per sample and records failures as SampleFailure', async () => {
    const r = await createCommandRestorer({ program: process.execPath, args: ['-e', SCRIPT, '{in}', '{out}', '{id}', '{refs}'], maxRefs: 2 });
    try {
      const ok = await r.restore({ sampleId: 'ok', lq: img(77), refs: [img(1), img(2), img(3)] });
      expect(ok.image.data[0]).toBe(77);
      expect(ok.info?.refsUsed).toBe(2);
      const failed = r.restore({ sampleId: 'will-fail', lq: img(5), refs: [] });
      await expect(failed).rejects.toBeInstanceOf(SampleFailure);
      await expect(r.restore({ sampleId: 'will-fail', lq: img(5), refs: [] })).rejects.toThrow(/exited with 3.*no landmarks/);
      await expect(r.restore({ sampleId: 'silent', lq: img(5), refs: [] })).rejects.toThrow(/no readable output/);
    } finally {
      await r.dispose();
    }
  });

  it('a timeout is a per-sample failure', async () => {
    const r = await createCommandRestorer({ program: process.execPath, args: ['-e', 'setTimeout(() => {}, 10000)'], timeoutS: 0.5 });
    try {
      await expect(r.restore({ sampleId: 'slow', lq: img(1), refs: [] })).rejects.toThrow(/timeout/);
    } finally {
      await r.dispose();
    }
  });
});
