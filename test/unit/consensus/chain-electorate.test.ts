/**
 * EpochChain.electorate() keeps its last result (gossipsub's app score asks it per peer per heartbeat through
 * reputationBonus): the same epoch answers the same weights without recomputing, and a new epoch, or another epoch
 * asked for, is computed afresh from its own table.
 */
import { describe, expect, it } from 'vitest'
import { EpochChain } from '../../../src/consensus/index.js'
import { electorateWeights } from '../../../src/consensus/core/index.js'

const chain = (): EpochChain => new EpochChain({
  params: {},
  pretrusted: [{ peerId: 'a', score: String(3e12) }, { peerId: 'b', score: String(1e12) }],
  guardians: { keys: [], threshold: 0 },
  startedAt: 0
})
const fresh = (c: EpochChain, epoch: number): ReturnType<EpochChain['electorate']> => {
  const snap = c.snapshot(epoch)
  return snap.headCount ? electorateWeights(snap, ['a', 'b']) : electorateWeights(snap)
}
const none = { seals: [], outcomes: [], evidence: [] }

describe('EpochChain.electorate', () => {
  it('answers the same epoch from its last result, and recomputes for a new epoch or another one', () => {
    const c = chain()
    const e0 = c.electorate()
    expect(c.electorate()).toBe(e0)
    expect(e0).toEqual(fresh(c, 0))
    c.apply({ epoch: 1, proposalId: 'p1', createdAt: 1, accepted: [], evidence: [] }, none)
    const e1 = c.electorate()
    expect(e1).not.toBe(e0)
    expect(e1).toEqual(fresh(c, 1))
    expect(c.electorate(0)).toEqual(e0)
    expect(c.electorate(1)).toEqual(e1)
    expect(c.electorate()).toEqual(fresh(c, 1))
  })
})
