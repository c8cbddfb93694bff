import { describe, expect, it } from 'vitest';
import { Registry, suggest, UnknownIdError } from '../../../src/lib/eval/registry.ts';

describe('Registry', () => {
  it('suggests close ids for an unknown id and lists every id', () => {
    const r = new Registry<number>('metric').register('lpips-vgg', 1).register('lpips-alex', 2).register('psnr', 3);
    expect(() => r.get('lpip-vgg')).toThrow(UnknownIdError);
    expect(() => r.get('lpip-vgg')).toThrow(/Did you mean: lpips-vgg.*Available: lpips-alex, lpips-vgg, psnr/);
    expect(r.get('psnr')).toBe(3);
  });
  it('rejects duplicates naming both origins', () => {
    const r = new Registry<number>('restorer').register('lq', 1, 'a.ts');
    expect(() => r.register('lq', 2, 'b.ts')).toThrow(/'lq'.*a\.ts.*b\.ts/);
  });
  it('ranks suggestions by distance', () => {
    expect(suggest('ssm', ['ssim', 'psnr', 'niqe'])).toEqual(['ssim']);
    expect(suggest('zzzzzz', ['ssim'])).toEqual([]);
  });
});
