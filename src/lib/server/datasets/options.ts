/**
 * @file The options schema of every dataset adapter (`dataset.options` in a run spec, `--opt` of `data inspect`).
 * Strict: an unknown key is an error with a "did you mean" (the registry checks them before anything runs).
 * Zod only, so the registry can validate a spec without loading an adapter.
 */
import { z } from 'zod';

const path = z.string().min(1);

/** `ffhq-ref`: the official FFHQ-Ref release plus the user's FFHQ images. */
export const FfhqRefOptionsSchema = z
  .object({
    /** The unzipped FFHQ-Ref folder. */
    root: path,
    /** FFHQ images (images1024x1024 or images512x512; flat or in 1000-image subfolders). Default `<root>/images512x512`. */
    hqDir: path.optional(),
    split: z.enum(['test', 'val']).default('test'),
    /** Degradation level of the released test LQ images. */
    level: z.enum(['severe', 'moderate']).default('severe'),
    /** LQ folder; required for `split: val` (the release has no val LQ images). */
    lqDir: path.optional(),
  })
  .strict();

/** `celeba-test-ref`: every folder is an option (where the release puts them is uncertain, ref-ldm issue #7). */
export const CelebaTestRefOptionsSchema = z
  .object({
    root: path,
    /** Default `<root>/test_references.csv`. */
    csv: path.optional(),
    /** Default `<root>/celeba_test_images/lq`. */
    lqDir: path.optional(),
    /** Default `<root>/celeba_test_images/hq`. */
    hqDir: path.optional(),
    /** Default `hqDir`. */
    refDir: path.optional(),
  })
  .strict();

/** `folder`: `<root>/lq`, optional `gt/`, `refs/<id>/`, `masks/`. */
export const FolderOptionsSchema = z
  .object({
    root: path,
    /** Dataset id (default `folder-<basename of root>`). */
    id: z.string().min(1).optional(),
  })
  .strict();

/** `synthfaces-ref`: the embedded synthetic benchmark. */
export const SynthfacesRefOptionsSchema = z
  .object({
    /** Default `./.cache/synthfaces-ref`. */
    root: path.optional(),
    level: z.enum(['severe', 'moderate']).default('severe'),
  })
  .strict();
