/**
 * @file Metric columns as the ReF-LDM paper orders and names them (Tables 3-7: IDS, fLPIPS, LPIPS, FID, NIQE,
 * then PSNR, SSIM; time last), shared by the dashboard and the CLI (runtime-neutral). Metric ids stay the
 * registry's (`lpips-vgg`); labels are the paper's (`LPIPS`), with the variant when it is not the paper's default.
 */

interface Family {
  readonly test: RegExp;
  readonly label: string;
  /** The variant the paper reports (shown without a suffix). */
  readonly paperVariant?: string;
}

/** Metric families in the paper's column order; anything else follows, alphabetically. */
const FAMILIES: readonly Family[] = Object.freeze([
  { test: /^ids-(?!refs-)/, label: 'IDS', paperVariant: 'arcface-r50' },
  { test: /^ids-refs-/, label: 'IDS to refs', paperVariant: 'arcface-r50' },
  { test: /^flpips-/, label: 'fLPIPS', paperVariant: 'vgg' },
  { test: /^lpips-/, label: 'LPIPS', paperVariant: 'vgg' },
  { test: /^fid-/, label: 'FID', paperVariant: 'clean' },
  { test: /^kid-/, label: 'KID', paperVariant: 'clean' },
  { test: /^niqe/, label: 'NIQE' },
  { test: /^psnr/, label: 'PSNR' },
  { test: /^ssim/, label: 'SSIM' },
  { test: /^time-ms$/, label: 'time (ms)' },
]);

function familyIndex(id: string): number {
  const i = FAMILIES.findIndex((f) => f.test.test(id));
  return i < 0 ? FAMILIES.length : i;
}

/** Orders metric ids as the paper's columns (unknown metrics after the known ones, by id). */
export function compareMetricIds(a: string, b: string): number {
  return familyIndex(a) - familyIndex(b) || a.localeCompare(b);
}

/** The ids sorted into the paper's column order. */
export function paperOrder(ids: Iterable<string>): string[] {
  return [...new Set(ids)].sort(compareMetricIds);
}

/** The paper's name of a metric: `IDS`, `LPIPS`, `LPIPS (alex)`, `FID (legacy-pytorch)`; unknown ids as they are. */
export function metricLabel(id: string): string {
  const f = FAMILIES[familyIndex(id)];
  if (!f) return id;
  const variant = id.replace(/^[a-z]+(?:-refs)?-?/, '');
  return variant && f.paperVariant !== undefined && variant !== f.paperVariant ? `${f.label} (${variant})` : f.label;
}
