/**
 * @file Whole-run errors of the runner: the cause's message behind a prefix naming where it came from (the spec
 * file and field, the flag), keeping the cause's error name (DatasetError, SpecError, ...).
 */

/** `prefix + err.message`, as an Error of the same name. */
export function prefixError(err: unknown, prefix: string): Error {
  const msg = err instanceof Error ? err.message : String(err);
  const e = new Error(`${prefix}${msg}`);
  e.name = err instanceof Error ? err.name : 'Error';
  return e;
}
