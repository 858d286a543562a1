import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'
import { LongestFirst } from './test/harness/sequencer.js'

/**
 * Integration files that must run alone: many processes busy at once (training meshes, 10-20 nodes) or assertions on
 * time and delivery that a second file's load would make flaky. Every other integration file mostly waits on sockets,
 * child processes and anvil, so two of them share the 2-core machine well.
 */
const ALONE = [
  'test/integration/training/federated.test.ts',
  'test/integration/training/faults.test.ts',
  'test/integration/training/heavy-create.test.ts',
  'test/integration/node/soak.test.ts',
  'test/integration/node/mesh.test.ts',
  'test/integration/consensus/sybil.test.ts',
  'test/integration/consensus/proposals.test.ts',
  'test/integration/consensus/partition.test.ts',
  'test/integration/ledger/market-nodes.test.ts'
]

const integration = {
  globalSetup: ['./test/harness/global-setup.ts'],
  testTimeout: 120_000,
  hookTimeout: 120_000,
  pool: 'forks' as const
}

// Three projects, run one after the other (sequence.groupOrder): fast table-driven unit tests over pure cores (at least
// two files at a time: vitest's default, cores - 1, is one on a 2-core machine), then multi-node integration tests on
// loopback two files at a time, then the heavy ones alone.
export default defineConfig({
  test: {
    reporters: ['default', './test/harness/summary-reporter.ts'],
    setupFiles: ['./src/node/polyfills.ts'],
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
          maxWorkers: Math.max(2, availableParallelism() - 1)
        }
      },
      {
        extends: true,
        test: {
          ...integration,
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'contracts/test/**/*.test.ts'],
          exclude: ALONE,
          maxWorkers: 2,
          sequence: { groupOrder: 1 }
        }
      },
      {
        extends: true,
        test: {
          ...integration,
          name: 'integration-alone',
          include: ALONE,
          fileParallelism: false,
          sequence: { groupOrder: 2 }
        }
      }
    ]
  }
})
