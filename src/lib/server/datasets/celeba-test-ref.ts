/**
 * @file The CelebA-Test-Ref adapter (`celeba-test-ref`, protocol.md §1.4): 2,533 CelebA-Test targets with
 * same-identity references. The CSV has the FFHQ-Ref columns `gt_image,lq_image,ref_image` (Python-list refs).
 * Where the release puts its folders is uncertain (ref-ldm issue #7), so every path is an option:
 *   root (required), csv (default <root>/test_references.csv), lqDir (<root>/celeba_test_images/lq),
 *   hqDir (<root>/celeba_test_images/hq), refDir (default hqDir; the paper draws refs from all of CelebA-HQ).
 * LQ images are 512×512; HQ/references 512 or 1024 (CelebA-HQ), resized with PIL bicubic at load time.
 */
import { join, resolve } from 'node:path';
import type { Dataset } from '../../eval/datasets/types.ts';
import { refCsvDataset, stringOption } from './ffhq-ref.ts';

/** `celeba-test-ref` factory (see the file header for options). */
export async function createCelebaTestRef(options: Readonly<Record<string, unknown>>): Promise<Dataset> {
  const root = resolve(stringOption(options, 'root', 'celeba-test-ref'));
  const opt = (name: string, fallback: string): string => resolve(stringOption(options, name, 'celeba-test-ref', fallback));
  const hqDir = opt('hqDir', join(root, 'celeba_test_images', 'hq'));
  return refCsvDataset(
    { adapter: 'celeba-test-ref', id: 'celeba-test-ref', version: '1', root, split: 'test' },
    {
      csv: opt('csv', join(root, 'test_references.csv')),
      gtDir: hqDir,
      lqDir: opt('lqDir', join(root, 'celeba_test_images', 'lq')),
      refDir: opt('refDir', hqDir),
      lqSizes: [512],
      hqSizes: [512, 1024],
    },
  );
}
