import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

// Test tiers (STYLE.md 2.5): unit | parity | pipeline | e2e. `npm test` runs them all; none needs a GPU. The ref-ldm
// torch-engine tests need python/.venv (python/setup.sh; CI makes it) and skip, saying why, without it, unless
// REFBENCH_REQUIRE_TORCH=1 (CI), under which they fail instead (test/helpers/python-venv.ts).
export default defineConfig(({ mode }) => ({
  plugins: mode === 'test' ? [] : [sveltekit()],
  test: {
    environment: 'node',
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    include: ['test/**/*.test.ts'],
    // ORT sessions are memory-hungry and the machine has 2 cores: keep the parallelism modest.
    maxWorkers: 2,
  },
}));
