/**
 * @file The CelebA-Test-Ref adapter (`celeba-test-ref`, docs/protocol.md §1.4): 2,533 CelebA-Test targets with
 * same-identity references. The CSV has the FFHQ-Ref columns `gt_image,lq_image,ref_image` (Python-list refs).
 * Where the release puts its folders is uncertain (ref-ldm issue #7), so every path is an option:
 *   root (required), csv (default <root>/test_references.csv), lqDir (<root>/celeba_test_images/lq),
 *   hqDir (<root>/celeba_test_images/hq), refDir (default hqDir; the paper draws refs from all of CelebA-HQ).
 * LQ images are 512×512; HQ/references 512 or 1024 (CelebA-HQ), resized with PIL bicubic at load time.
 */
import { join, resolve } from 'node:path';
import type { Dataset } from '../../eval/datasets/types.ts';
import { parseOptions } from '../../eval/spec/run-spec.ts';
import { refCsvDataset } from './ffhq-ref.ts';
import { CelebaTestRefOptionsSchema } from './options.ts';

/** `celeba-test-ref` factory (see the file header for options). */
export async function createCelebaTestRef(options: Readonly<Record<string, unknown>>): Promise<Dataset> {
  const o = parseOptions(CelebaTestRefOptionsSchema, options, { file: "dataset adapter 'celeba-test-ref'", path: ['options'] });
  const root = resolve(o.root);
  const hqDir = resolve(o.hqDir ?? join(root, 'celeba_test_images', 'hq'));
  return refCsvDataset(
    { adapter: 'celeba-test-ref', id: 'celeba-test-ref', version: '1', root, split: 'test' },
    {
      csv: resolve(o.csv ?? join(root, 'test_references.csv')),
      gtDir: hqDir,
      lqDir: resolve(o.lqDir ?? join(root, 'celeba_test_images', 'lq')),
      refDir: resolve(o.refDir ?? hqDir),
    },
  );
}
