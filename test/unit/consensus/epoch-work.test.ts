/**
 * Work in the epoch chain: an epoch lists the work its accepted proposals credit (training's seals, by the kind's
 * `work` hook), members judge that list against their own records, and the transition credits exactly what the epoch
 * lists; a kind's restricted electorate is the denominator of the listed voters' quorum.
 */
import { describe, it, expect } from 'vitest'
import { EpochChain, type EpochPayload, type Proposal } from '../../../src/consensus/index.js'
import { buildEpochPayload, epochRecords, judgeEpoch, type EpochView } from '../../../src/consensus/service/epochs.js'
import { newEntry, type Entry } from '../../../src/consensus/service/entry.js'
import { electorateWeights, nextWeights } from '../../../src/consensus/core/index.js'

const genesis = (scores: number[]): ConstructorParameters<typeof EpochChain>[0] => ({
  params: {},
  pretrusted: scores.map((s, i) => ({ peerId: `p${i}`, score: String(s) })),
  guardians: { keys: [], threshold: 0 },
  startedAt: 0
})

const SEAL = 'bafyreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const PARAM = 'bafyreibbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'

function accepted (id: string, kind: string, payload: unknown, voters: string[]): Entry {
  const e = newEntry(id, new Uint8Array([1]), { kind, payload, proposer: 'p0', createdAt: 0, expiresAt: 1000, snapshot: 0 })
  e.status = 'accepted'
  e.executed = true
  e.qcVoters = voters
  for (const v of voters) e.votes.set(v, [{ voter: v, choice: 'yes', seq: 10, bytes: new Uint8Array([2]) }])
  return e
}

// a seal-like kind: its electorate and its work come from the payload, as training's model-update
const sealPayload = { jobId: 'job', round: 3, contributors: ['p1', 'p2', 'p9'], electorate: ['p1', 'p2'] }
const chain = new EpochChain(genesis([3e12, 1e12, 1e12]))
const entries = new Map([
  [SEAL, accepted(SEAL, 'model-update', sealPayload, ['p1', 'p2'])],
  [PARAM, accepted(PARAM, 'network-param', { name: 'a', value: 1 }, ['p0', 'p1'])]
])
const view: EpochView = {
  entries,
  evidence: new Map(),
  electorateOf: (p: Proposal) => p.kind === 'model-update' ? electorateWeights(chain.snapshot(p.snapshot), (p.payload as typeof sealPayload).electorate) : chain.electorate(p.snapshot),
  workOf: (p: Proposal) => p.kind === 'model-update' ? { jobId: 'job', round: 3, contributors: (p.payload as typeof sealPayload).contributors } : undefined
}

describe('an epoch lists the electorate a kind names with its work', () => {
  const withElectorate: EpochView = { ...view, workOf: (p: Proposal) => p.kind === 'model-update' ? { jobId: 'job', round: 3, contributors: ['p1', 'p2', 'p9'], electorate: (p.payload as typeof sealPayload).electorate } : undefined }
  const built = buildEpochPayload(chain, withElectorate)
  const listed = built.seals?.[0] as NonNullable<EpochPayload['seals']>[number]
  it('lists it, and members refuse an epoch that drops or alters it', () => {
    expect(listed.electorate).toEqual(['p1', 'p2'])
    expect(judgeEpoch(built, 0, chain, withElectorate)).toBe('yes')
    const { electorate: _dropped, ...bare } = listed
    expect(judgeEpoch({ ...built, seals: [bare] }, 0, chain, withElectorate)).toBe('no')
    expect(judgeEpoch({ ...built, seals: [{ ...listed, electorate: ['p1'] }] }, 0, chain, withElectorate)).toBe('no')
    // and a kind that names none refuses a listed one
    expect(judgeEpoch(built, 0, chain, view)).toBe('no')
  })

  it('passes it to the transition, whose credit rule reads it', () => {
    expect(epochRecords(built, { entries: new Map(), evidence: new Map() }).seals).toEqual([{ jobId: 'job', round: 3, contributors: ['p1', 'p2', 'p9'], electorate: ['p1', 'p2'] }])
  })
})

describe('an epoch lists the work of its accepted proposals', () => {
  const built = buildEpochPayload(chain, view)
  it('builds the list from the kinds\' work, sorted by proposal id', () => {
    expect(built.accepted.map(a => a.id)).toEqual([SEAL, PARAM])
    expect(built.seals).toEqual([{ id: SEAL, jobId: 'job', round: 3, contributors: ['p1', 'p2', 'p9'] }])
    // the seal's QC counts 2 of its 2 electors: a quorum only under its restricted electorate (p0 holds 3/5 overall)
    expect(judgeEpoch(built, 0, chain, view)).toBe('yes')
    expect(judgeEpoch(built, 0, chain, { entries, evidence: new Map(), workOf: view.workOf })).toBe('no')
  })

  it('leaves the field out when no listed proposal credits work', () => {
    const none = buildEpochPayload(chain, { ...view, workOf: () => undefined })
    expect('seals' in none).toBe(false)
  })

  const seal = built.seals?.[0] as NonNullable<EpochPayload['seals']>[number]
  it.each<[string, Partial<EpochPayload>, string]>([
    ['the work left out', { seals: undefined }, 'no'],
    ['a contributor added', { seals: [{ ...seal, contributors: ['p0', 'p1', 'p2', 'p9'] }] }, 'no'],
    ['another round', { seals: [{ ...seal, round: 4 }] }, 'no'],
    ['work for a proposal that credits none', { seals: [seal, { ...seal, id: PARAM }] }, 'no'],
    ['work for a proposal the epoch does not list', { accepted: built.accepted.filter(a => a.id !== SEAL), seals: [seal] }, 'no']
  ])('refuses %s', (_name, over, want) => {
    expect(judgeEpoch({ ...built, ...over }, 0, chain, view)).toBe(want)
  })

  it('credits exactly the listed work, one per peer per job round, whatever this node registered', () => {
    const records = epochRecords(built, { entries: new Map(), evidence: new Map() })
    expect(records.seals).toEqual([{ jobId: 'job', round: 3, contributors: ['p1', 'p2', 'p9'] }])
    const twice = epochRecords({ ...built, seals: [seal, { ...seal, id: PARAM }] }, { entries: new Map(), evidence: new Map() })
    const params = chain.params()
    const once = nextWeights(chain.table(), records, params).table
    const again = nextWeights(chain.table(), twice, params).table
    const without = nextWeights(chain.table(), { ...records, seals: [] }, params).table
    for (const p of ['p1', 'p2']) {
      expect((once.peers.get(p)?.score ?? 0n) - (without.peers.get(p)?.score ?? 0n)).toBe(params.workUnit)
      expect(again.peers.get(p)?.score).toBe(once.peers.get(p)?.score)
    }
    // a newcomer enters the table by its work alone
    expect(once.peers.get('p9')?.score).toBe(params.workUnit)
    expect(without.peers.has('p9')).toBe(false)
  })
})
