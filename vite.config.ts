import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';
import { TEST_TIERS } from './test/helpers/tiers.ts';

// Test tiers (docs/testing.md): unit | parity | pipeline | e2e | fuzz, one vitest project each over test/<tier>/;
// `npm test` runs them all, `npm test -- --project <tier>` one. None needs a GPU. The ref-ldm torch-engine tests need
// python/.venv (python/setup.sh; CI makes it) and skip, saying why, without it, unless REFBENCH_REQUIRE_TORCH=1 (CI),
// under which they fail instead (test/helpers/python-venv.ts).
export default defineConfig(({ mode }) => ({
  plugins: mode === 'test' ? [] : [sveltekit()],
  // The dev server (used by the browser tests) watches the checkout: never python/.venv (~1.5 GB, tens of thousands
  // of files: crawling it delayed the first page by 15-25 s), nor caches, results or builds.
  server: { watch: { ignored: ['**/python/.venv/**', '**/.cache/**', '**/results/**', '**/build/**', '**/test-results/**'] } },
  test: {
    environment: 'node',
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // ORT sessions are memory-hungry and the machine has 2 cores: keep the parallelism modest (across all projects).
    maxWorkers: 2,
    // Every tier inherits the settings above (extends: true); only the files differ.
    projects: TEST_TIERS.map((tier) => ({ extends: true as const, test: { name: tier, include: [`test/${tier}/**/*.test.ts`] } })),
  },
}));
