/**
 * How many fast-check runs each property test makes: 256 in CI, more when MESHNODE_PROPERTY_RUNS asks (the benchmark
 * run), and a handful under coverage (where every transaction is traced, ~25 ms each).
 */
import { coverageDir } from './coverage.js'

/** The run count of one property. */
export function propertyRuns (): number {
  if (coverageDir() !== undefined) return Number(process.env.MESHNODE_COVERAGE_RUNS ?? 24)
  return Math.max(256, Number(process.env.MESHNODE_PROPERTY_RUNS ?? 256))
}

/**
 * The least count a property's tally must exceed to show it was not vacuous: `n` is set for 256 runs and scales with
 * the run count; under coverage (a handful of runs, where the point is the trace) nothing is required.
 */
export function atLeast (n: number): number {
  if (coverageDir() !== undefined) return -1
  return Math.floor(n * propertyRuns() / 256)
}
