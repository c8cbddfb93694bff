/**
 * @file The one rule for sample ids, applied by every dataset adapter where it makes an id (file stem, CSV
 * `gt_image`), and again by the runner for datasets registered from elsewhere.
 *
 * A sample id names files and folders downstream (outputs/<id>.png, the command restorer's work folders,
 * dashboard URLs), so it must not be able to name a path: no '.', '..', path separators, NUL or other control
 * characters, and not empty. Everything else (spaces, quotes, `;`, `$`) is allowed here and made harmless by
 * whoever turns an id into a file name or an argument (`sampleFileStem`, the command restorer).
 */

/** Why `id` is not a valid sample id, or `null` when it is. */
export function sampleIdProblem(id: string): string | null {
  if (id.length === 0) return 'empty sample id';
  if (id === '.' || id === '..') return `sample id '${id}' would name a folder (file names like '${id}.png' make it)`;
  if (/[/\\]/.test(id)) return `sample id ${JSON.stringify(id)} contains a path separator`;
  // eslint-disable-next-line no-control-regex
  const ctl = /[\u0000-\u001f\u007f-\u009f]/.exec(id);
  if (ctl) return `sample id ${JSON.stringify(id)} contains the control character U+${ctl[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  return null;
}

/** True when `id` passes `sampleIdProblem`. */
export function isValidSampleId(id: string): boolean {
  return sampleIdProblem(id) === null;
}
