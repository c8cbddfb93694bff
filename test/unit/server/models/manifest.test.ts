/**
 * @file The committed model manifest validates and covers every model the metrics and restorers name; the schema
 * rejects bad entries with the field path.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getEntry, loadManifest, parseManifest } from '../../../../src/lib/server/models/manifest.ts';
import { ModelMissingError, requireModelFile } from '../../../../src/lib/server/models/paths.ts';

describe('models/manifest.json', () => {
  it('validates and lists the required entries with their published hashes', async () => {
    const m = await loadManifest('models');
    expect(m.models.map((e) => e.id)).toEqual(
      expect.arrayContaining(['lpips-vgg', 'lpips-alex', 'arcface-r50-webface', 'fid-inception', 'ffhq-512-fid-stats', 'niqe-params', 'refldm']),
    );
    const vgg = getEntry(m, 'lpips-vgg');
    expect(vgg.files.find((f) => f.name === 'vgg.pth')!.sha256).toBe('a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868');
    expect(getEntry(m, 'lpips-alex').files.find((f) => f.name === 'alex.pth')!.sha256).toBe('df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0');
    expect(vgg.outputs).toContain('weights/lpips-vgg/lpips-vgg.onnx');
    expect(getEntry(m, 'arcface-r50-webface').files[0].urls[0]).toContain('1N0GL-8ehw_bz2eZQWz2b0A5XBdXdxZhg');
    expect(() => getEntry(m, 'lpips-vg')).toThrow(/Did you mean: lpips-vgg/);
  });

  it('rejects a bad entry naming the field', () => {
    const j = JSON.parse(readFileSync('models/manifest.json', 'utf8'));
    j.models[0].files[0].sha256 = 'xyz';
    expect(() => parseManifest(j, 'm.json')).toThrow(/m\.json: invalid model manifest: models\.0\.files\.0\.sha256/);
    const dup = JSON.parse(readFileSync('models/manifest.json', 'utf8'));
    dup.models.push(dup.models[0]);
    expect(() => parseManifest(dup, 'm.json')).toThrow(/duplicate id 'lpips-vgg'/);
  });

  it('a missing model file names the exact fetch + convert command', () => {
    expect(() => requireModelFile('/nonexistent', 'lpips-vgg', 'lpips-vgg.onnx', 'lpips-vgg')).toThrow(ModelMissingError);
    expect(() => requireModelFile('/nonexistent', 'lpips-vgg', 'lpips-vgg.onnx', 'lpips-vgg')).toThrow(
      'lpips-vgg: model file /nonexistent/weights/lpips-vgg/lpips-vgg.onnx not found. Run: refbench models fetch lpips-vgg && refbench models convert lpips-vgg',
    );
  });
});
