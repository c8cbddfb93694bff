/**
 * @file The test tiers, one folder each under test/ (docs/testing.md). vite.config.ts makes one vitest project per
 * tier from this list (`npm test -- --project <tier>`); test/unit/layout.test.ts checks that every test file lies
 * in one of these folders, so none falls outside every project and silently stops running.
 */
export const TEST_TIERS = ['unit', 'parity', 'pipeline', 'e2e', 'fuzz'] as const;
