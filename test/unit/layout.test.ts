/**
 * The test tree's layout rule (docs/testing.md): a unit test of src/lib/<a>/<b>.ts lives at
 * test/unit/<a>/<b>.test.ts; every test file lies in one tier folder (test/helpers/tiers.ts, one vitest project
 * each); a helper outside test/helpers/ serves one test file only (shared ones live in test/helpers/).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_TIERS } from '../helpers/tiers.ts';

const REPO = join(import.meta.dirname, '../..');
const TEST = join(REPO, 'test');

/**
 * Unit tests that do not test one src/lib module, each with what it tests instead (paths from the repository
 * root; each must exist). Keep this list short: a test of one module goes at that module's path.
 */
const EXCEPTIONS: Record<string, readonly string[]> = {
  // This file: the test tree itself.
  'layout.test.ts': ['test/helpers/tiers.ts', 'vite.config.ts'],
  // The speed-comparison scripts' round statistics: bench/ is outside src/lib.
  'bench/rounds.test.ts': ['bench/rounds.ts'],
  // The docs link checker: scripts/ is outside src/lib.
  'scripts/check-doc-links.test.ts': ['scripts/check-doc-links.ts'],
  // The runtime import-cycle check over src/: scripts/ is outside src/lib.
  'scripts/import-cycles.test.ts': ['scripts/import-cycles.ts'],
  // The function-length check over src/lib/server (issue 18): scripts/ is outside src/lib.
  'scripts/function-lengths.test.ts': ['scripts/function-lengths.ts'],
  // A test helper's own test (codebook snapping used by the ReF-LDM parity tests).
  'helpers/vq.test.ts': ['test/helpers/vq.ts'],
  // The degradation chain, one describe per module: seeded RNG, kernels and filtering, INTER_LINEAR, presets.
  'eval/degradation/degradation.test.ts': [
    'src/lib/eval/datasets/seeded-rng.ts',
    'src/lib/eval/degradation/kernels.ts',
    'src/lib/eval/degradation/filter2d.ts',
    'src/lib/eval/degradation/resize-linear.ts',
    'src/lib/eval/degradation/presets.ts',
  ],
  // The dashboard's import graph (no module that writes results/), over its modules and routes.
  'server/dashboard/read-only.test.ts': ['src/lib/server/dashboard', 'src/routes'],
  // benchmarks/*.yaml, the user config and protocol versions in reports.
  'server/experiments/benchmarks-config.test.ts': [
    'src/lib/server/experiments/benchmarks.ts',
    'src/lib/server/experiments/user-config.ts',
    'src/lib/server/experiments/experiments.ts',
    'src/lib/server/runner/report.ts',
  ],
};

/** Files under `dir` (recursive), as paths relative to `dir`. */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** src/lib files a unit test at `rel` (relative to test/unit) may test: <b>.ts, or a Svelte module/component. */
const srcCandidates = (rel: string) => ['.ts', '.svelte.ts', '.svelte'].map((ext) => join('src/lib', rel.replace(/\.test\.ts$/, ext)));

describe('test tree layout', () => {
  const unitTests = files(join(TEST, 'unit')).filter((f) => f.endsWith('.test.ts'));

  it('every test/unit/**/X.test.ts has a matching src/lib/**/X.ts (or is a listed exception)', () => {
    expect(unitTests.length).toBeGreaterThan(0);
    const missing = unitTests.filter((t) => !(t in EXCEPTIONS) && !srcCandidates(t).some((s) => existsSync(join(REPO, s))));
    expect(missing, 'move each to test/unit/<path of its module under src/lib>.test.ts, or list it in EXCEPTIONS with why').toEqual([]);
  });

  it('each exception names an existing test and existing files it tests, and has no src/lib module of its own name', () => {
    for (const [t, targets] of Object.entries(EXCEPTIONS)) {
      expect(unitTests, `EXCEPTIONS lists test/unit/${t}, which does not exist`).toContain(t);
      expect(srcCandidates(t).filter((s) => existsSync(join(REPO, s))), `test/unit/${t} matches a module: drop it from EXCEPTIONS`).toEqual([]);
      for (const p of targets) expect(existsSync(join(REPO, p)), `EXCEPTIONS['${t}'] names ${p}, which does not exist`).toBe(true);
    }
  });

  it('every test file lies in a tier folder (one vitest project each)', () => {
    const outside = files(TEST).filter((f) => f.endsWith('.test.ts') && !TEST_TIERS.some((tier) => f.startsWith(`${tier}/`)));
    expect(outside, `test files outside test/{${TEST_TIERS.join(',')}}/ belong to no vitest project and never run`).toEqual([]);
  });

  it('a helper outside test/helpers/ is named by one test file at most (shared helpers live in test/helpers/)', () => {
    const all = files(TEST).filter((f) => /\.(ts|mjs)$/.test(f) && !f.startsWith('fixtures/'));
    const texts = new Map(all.map((f) => [f, readFileSync(join(TEST, f), 'utf8')]));
    const helpers = all.filter((f) => !f.endsWith('.test.ts') && !f.startsWith('helpers/'));
    const shared = helpers
      .map((h) => ({ h, users: all.filter((f) => f !== h && texts.get(f)!.includes(basename(h))) }))
      .filter(({ users }) => users.length > 1);
    expect(shared, 'move these to test/helpers/').toEqual([]);
  });
});
