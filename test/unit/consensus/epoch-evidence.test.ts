/**
 * Evidence in the epoch chain: one offence (a voter's equivocation on one proposal) is slashed once, however many
 * pairs of its votes were built into evidence (three conflicting votes make three), and whichever reached a node first.
 */
import { describe, it, expect } from 'vitest'
import { EpochChain } from '../../../src/consensus/index.js'
import { buildEpochPayload, judgeEpoch, type EpochView } from '../../../src/consensus/service/epochs.js'

const chain = new EpochChain({ params: {}, pretrusted: [{ peerId: 'p0', score: '1000000' }], guardians: { keys: [], threshold: 0 }, startedAt: 0 })
const cid = (c: string): string => `bafyrei${c.repeat(52)}`
const [A, B, C, D] = ['a', 'b', 'c', 'd'].map(cid)

type Held = [string, { voter: string, proposalId: string, epoch: number | null }]
const view = (...held: Held[]): EpochView => ({ entries: new Map(), evidence: new Map(held) })
const ev = (voter: string, proposalId: string, epoch: number | null = null): Held[1] => ({ voter, proposalId, epoch })

describe('an epoch lists each offence once', () => {
  it.each([
    { what: 'two pairs of one offence: the smaller id', held: [[B, ev('p5', 'x')], [A, ev('p5', 'x')]] as Held[], listed: [A] },
    { what: 'two offences of one voter: both', held: [[A, ev('p5', 'x')], [B, ev('p5', 'y')]] as Held[], listed: [A, B] },
    { what: 'one offence of two voters: both', held: [[A, ev('p5', 'x')], [B, ev('p6', 'x')]] as Held[], listed: [A, B] },
    { what: 'an offence an earlier epoch listed under another id: none', held: [[A, ev('p5', 'x', 0)], [B, ev('p5', 'x')]] as Held[], listed: [] },
    { what: 'ids already listed: none; the others: once each', held: [[A, ev('p5', 'x', 0)], [C, ev('p6', 'z')], [D, ev('p6', 'z')]] as Held[], listed: [C] }
  ])('$what', ({ held, listed }) => {
    const v = view(...held)
    const built = buildEpochPayload(chain, v)
    expect(built.evidence).toEqual(listed)
    expect(judgeEpoch(built, 0, chain, v)).toBe('yes')
  })

  it('members refuse an epoch that lists an offence again under another id, and wait for evidence they lack', () => {
    const base = buildEpochPayload(chain, view())
    expect(judgeEpoch({ ...base, evidence: [B] }, 0, chain, view([A, ev('p5', 'x', 0)], [B, ev('p5', 'x')]))).toBe('no')
    expect(judgeEpoch({ ...base, evidence: [A] }, 0, chain, view([A, ev('p5', 'x', 0)]))).toBe('no')
    expect(judgeEpoch({ ...base, evidence: [B] }, 0, chain, view([A, ev('p5', 'y', 0)], [B, ev('p5', 'x')]))).toBe('yes')
    expect(judgeEpoch({ ...base, evidence: [C] }, 0, chain, view())).toBe('wait')
  })
})
