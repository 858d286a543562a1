/**
 * The order test files start in: vitest's own (the longest first by the durations it cached from earlier runs), except
 * that the files known to run longest in their group start first even without that cache, as on CI's clean clone. A
 * group running two files at a time otherwise ended on one of them alone (vault-invariants, ~150 s, started last).
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/** The longest files of each group, longest first (measured in CI runs). */
const LONGEST = [
  'contracts/test/vault-invariants.test.ts',
  'test/integration/training/lost-voter.test.ts',
  'test/integration/ledger/market-compute.test.ts',
  'test/integration/ledger/node-wallet.test.ts',
  'test/integration/training/federated.test.ts',
  'test/integration/training/faults.test.ts'
]

export class LongestFirst extends BaseSequencer {
  override async sort (files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification): number => {
      const i = LONGEST.findIndex(p => f.moduleId.endsWith(p))
      return i < 0 ? LONGEST.length : i
    }
    // a stable sort: every other file keeps vitest's order
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b))
  }
}
