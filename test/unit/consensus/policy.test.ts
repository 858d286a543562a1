import { describe, it, expect } from 'vitest'
import { policyVerdict, type Assessment, type OperatorPolicy, type PolicyVerdict } from '../../../src/consensus/core/index.js'

describe('policyVerdict', () => {
  const at: OperatorPolicy = { mode: 'auto-threshold', threshold: 0.01 }
  it.each<[string, OperatorPolicy, Assessment, PolicyVerdict]>([
    ['manual waits for the operator', { mode: 'manual' }, { valid: true, improvement: 0.5 }, 'wait'],
    ['manual still refuses what fails verification', { mode: 'manual' }, { valid: false }, 'no'],
    ['auto approves what verifies', { mode: 'auto' }, { valid: true }, 'yes'],
    ['auto refuses what does not', { mode: 'auto' }, { valid: false, improvement: 1 }, 'no'],
    ['auto-threshold approves an improvement that clears the threshold', at, { valid: true, improvement: 0.02 }, 'yes'],
    ['auto-threshold: exactly the threshold clears it', at, { valid: true, improvement: 0.01 }, 'yes'],
    ['auto-threshold refuses one that falls short', at, { valid: true, improvement: 0.005 }, 'no'],
    ['auto-threshold waits when nothing was measured', at, { valid: true }, 'wait'],
    ['auto-threshold waits on a non-finite measure', at, { valid: true, improvement: Number.NaN }, 'wait'],
    ['auto-threshold refuses what fails verification', at, { valid: false, improvement: 1 }, 'no'],
    ['auto waits while it cannot judge yet', { mode: 'auto' }, { valid: false, pending: true }, 'wait'],
    ['manual waits too while it cannot judge yet', { mode: 'manual' }, { valid: false, pending: true }, 'wait']
  ])('%s', (_name, policy, assessment, want) => {
    expect(policyVerdict(policy, assessment)).toBe(want)
  })
})
