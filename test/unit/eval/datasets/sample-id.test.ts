import { describe, expect, it } from 'vitest';
import { isValidSampleId, sampleIdProblem } from '../../../../src/lib/eval/datasets/sample-id.ts';

describe('sample id rule', () => {
  it('accepts ordinary ids, including ones a shell would interpret (they are neutralised downstream)', () => {
    for (const id of ['00001', 'a.b', '.hidden', 'x..y', 'with space', 'a;rm -rf', '$(x)', '`x`', 'é']) expect(isValidSampleId(id)).toBe(true);
  });

  it('rejects ids that could name a path or break a line-based format, saying why', () => {
    expect(sampleIdProblem('')).toMatch(/empty/);
    expect(sampleIdProblem('.')).toMatch(/would name a folder/);
    expect(sampleIdProblem('..')).toMatch(/would name a folder/);
    expect(sampleIdProblem('a/b')).toMatch(/path separator/);
    expect(sampleIdProblem('a\\b')).toMatch(/path separator/);
    expect(sampleIdProblem('a\u0000b')).toMatch(/U\+0000/);
    expect(sampleIdProblem('a\nb')).toMatch(/U\+000A/);
    expect(sampleIdProblem('a\u007fb')).toMatch(/U\+007F/);
  });
});
