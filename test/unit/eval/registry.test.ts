import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ComponentRegistry, Registry, suggest, UnknownIdError } from '../../../src/lib/eval/registry.ts';

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

describe('ComponentRegistry', () => {
  const make = () =>
    new ComponentRegistry<(o: Readonly<Record<string, unknown>>) => Promise<unknown>>('restorer').register(
      'blur',
      { options: z.object({ sigma: z.number().default(1), radius: z.number().int().optional() }).strict(), create: async (o) => o },
      'blur.ts',
    );

  it('refuses an entry whose options schema is not a strict object', () => {
    const r = new ComponentRegistry<(o: object) => Promise<unknown>>('metric');
    expect(() => r.register('loose', { options: z.object({ a: z.number() }) as never, create: async () => 1 }, 'x.ts')).toThrow(/'loose' \(x\.ts\): its options schema must be a strict z\.object/);
  });

  it('get() validates before the factory runs, naming the key, the closest valid key and every valid one', async () => {
    const r = make();
    await expect(r.get('blur')({ sigma: 2 })).resolves.toEqual({ sigma: 2 });
    await expect(r.get('blur')({ sgima: 2 })).rejects.toThrow("restorer 'blur': options.sgima: unknown key 'sgima'; did you mean 'sigma'? (valid keys: sigma, radius)");
    expect(() => r.parseOptions('blur', { radius: 1.5 }, { file: 's.yaml', path: ['restorer', 'options'] })).toThrow(/s\.yaml: restorer\.options\.radius: /);
    expect(r.optionKeys('blur')).toEqual(['sigma', 'radius']);
    expect(() => r.get('blurr')).toThrow(/Did you mean: blur/);
  });
});
