import { defineConfig } from 'vitest/config';

// Test kinds live in the file name (docs/style.md §10): unit tests touch no I/O, integration tests
// talk to the real local Postgres and NATS, e2e tests run several real processes.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'packages/*/src/**/*.unit.test.ts',
            'services/*/src/**/*.unit.test.ts',
            'test/deploy/**/*.unit.test.ts',
          ],
        },
      },
      {
        test: {
          name: 'int',
          include: ['packages/*/src/**/*.int.test.ts', 'services/*/src/**/*.int.test.ts'],
          // Bounds for a failing test only: waits inside tests are 30 s at least (wait-for.ts),
          // and a test waits for several things in turn on two busy cores.
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/chaos/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
