import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Production-mode server processes run the compiled build: keep dist/ current.
    globalSetup: ['test/support/build.ts', 'test/support/build-cli.ts'],
    // Each file creates its own database; two workers match the two cores of CI.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
