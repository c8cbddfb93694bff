/**
 * @file Loading a run spec from a YAML or JSON file, with CLI overrides, into a validated `ResolvedRunSpec`.
 * Every error names the file (and, from the schema, the field path).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { applyOverrides, parseRunSpec, SpecError, type ResolvedRunSpec, type SpecOverrides } from '../../eval/spec/run-spec.ts';

/** Reads `path` (.yaml/.yml/.json; YAML is a superset of JSON so any is parsed as YAML) and validates it. */
export function loadSpecFile(path: string, overrides: SpecOverrides = {}): ResolvedRunSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SpecError(`${path}: ${code === 'ENOENT' ? 'spec file not found' : `cannot read (${code})`}`);
  }
  let raw: unknown;
  try {
    raw = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new SpecError(`${path}: not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseRunSpec(applyOverrides(raw, overrides), basename(path));
}
