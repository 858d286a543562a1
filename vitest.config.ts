import { defineConfig } from 'vitest/config'

// Two projects: fast table-driven unit tests over pure cores, and multi-node integration tests on loopback.
export default defineConfig({
  test: {
    reporters: ['default', './test/harness/summary-reporter.ts'],
    setupFiles: ['./src/node/polyfills.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 }
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'contracts/test/**/*.test.ts'],
          globalSetup: ['./test/harness/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // multi-node tests each spawn many processes: run files one at a time on small machines
          fileParallelism: false,
          pool: 'forks'
        }
      }
    ]
  }
})
