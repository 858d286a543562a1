/**
 * Seals through consensus, the training side: the `model-update` payload and kind, the bridge's verdicts (the round
 * machine's vote on exactly that seal and electorate), and the acceptance the machine uses (a QC for a full
 * electorate, the counted votes for one voter).
 */
import { describe, it, expect } from 'vitest'
import { KindRegistry } from '../../../../src/consensus/index.js'
import type { RoundSeal, SealVote } from '../../../../src/training/protocol/messages.js'
import { MODEL_UPDATE_KIND, modelUpdateIssue, proposesSeal, sealPayload, sealWork, type ModelUpdatePayload } from '../../../../src/training/service/seal-kind.js'
import { ConsensusSealAcceptance, SealVoting, type SealProposals } from '../../../../src/training/service/seal-voting.js'

const cid = (c: string): string => `bafyrei${c.repeat(52)}`
const HASH = 'a'.repeat(64)
const JOB = '1'.repeat(64)
const seal: RoundSeal = {
  type: 'seal',
  jobId: JOB,
  round: 2,
  attempt: 0,
  baseModelCid: cid('b'),
  deltas: [{ cid: cid('c'), peerId: 'p2', samples: 10 }, { cid: cid('d'), peerId: 'p1', samples: 12 }],
  aggregateCid: cid('e'),
  modelHash: HASH,
  metrics: { loss: 0.5, accuracy: 0.8 }
}
const ELECTORATE = ['p3', 'p1', 'p2']
const at = { round: 2, electorate: ELECTORATE, sealTimeoutMs: 1000 }
const vote = (approve: boolean, over: Partial<SealVote> = {}): SealVote => ({ type: 'vote', jobId: JOB, round: 2, attempt: 0, aggregateCid: seal.aggregateCid, approve, ...over })

describe('the model-update payload', () => {
  const p = sealPayload(seal, ELECTORATE)
  it('carries the seal and the sorted electorate; credits the distinct contributors', () => {
    expect(p.electorate).toEqual(['p1', 'p2', 'p3'])
    expect(proposesSeal(p, seal)).toBe(true)
    expect(modelUpdateIssue(p)).toBeUndefined()
    // the electorate too: consensus credits round r only when it lies within round r-1's credited contributors
    expect(sealWork(p)).toEqual({ jobId: JOB, round: 2, contributors: ['p1', 'p2'], electorate: ['p1', 'p2', 'p3'] })
  })
  it.each<[string, Partial<ModelUpdatePayload>]>([
    ['another contributor', { deltas: [{ ...seal.deltas[0], peerId: 'p9' }, seal.deltas[1]] }],
    ['other samples', { deltas: [{ ...seal.deltas[0], samples: 99 }, seal.deltas[1]] }],
    ['a delta left out', { deltas: [seal.deltas[0]] }],
    ['another model hash', { modelHash: 'b'.repeat(64) }],
    ['another base model', { baseModelCid: cid('f') }]
  ])('does not propose the seal with %s', (_name, over) => {
    expect(proposesSeal({ ...p, ...over }, seal)).toBe(false)
  })
  it('registers as a kind whose payload rules hold', () => {
    const r = new KindRegistry()
    const v = new SealVoting({ proposals: port().proposals, poke: () => {}, logger: silent })
    r.register(v.kind())
    const check = (payload: unknown): void => { r.check({ id: '', proposal: { kind: MODEL_UPDATE_KIND, payload, proposer: 'p1', createdAt: 0, expiresAt: 1, snapshot: 0 } }) }
    expect(() => { check(p) }).not.toThrow()
    expect(() => { check({ ...p, electorate: ['p2', 'p1'] }) }).toThrow(/sorted/)
    expect(() => { check({ ...p, deltas: [...p.deltas].reverse() }) }).toThrow(/sorted/)
    expect(() => { check({ ...p, extra: 1 }) }).toThrow(expect.objectContaining({ code: 'ERR_PAYLOAD' }))
    expect(r.electorate({ kind: MODEL_UPDATE_KIND, payload: p, proposer: 'p1', createdAt: 0, expiresAt: 1, snapshot: 0 })).toEqual(['p1', 'p2', 'p3'])
  })
})

const silent = { debug () {}, info () {}, warn () {}, error () {} } as unknown as ConstructorParameters<typeof SealVoting>[0]['logger']

/** An in-memory port recording what the bridge asks of consensus. */
function port (): { proposals: SealProposals, created: Array<{ kind: string, payload: unknown }>, votes: Array<[string, string]> } {
  const created: Array<{ kind: string, payload: unknown }> = []
  const votes: Array<[string, string]> = []
  return {
    created,
    votes,
    proposals: {
      create: async req => { created.push(req); return { id: `prop${created.length}` } },
      list: () => [],
      vote: async (id, choice) => { votes.push([id, choice]) }
    }
  }
}

describe('the bridge', () => {
  it('proposes its own seal of the round in progress once, to the round\'s electorate', async () => {
    const io = port()
    const v = new SealVoting({ proposals: io.proposals, poke: () => {}, logger: silent })
    await v.onOwnSeal(seal, at)
    expect(io.created).toEqual([{ kind: MODEL_UPDATE_KIND, payload: sealPayload(seal, ELECTORATE), ttlSeconds: 30 }])
    v.kind().validate?.(sealPayload(seal, ELECTORATE), { id: 'prop1', proposal: { kind: MODEL_UPDATE_KIND, payload: sealPayload(seal, ELECTORATE), proposer: 'me', createdAt: 0, expiresAt: 1, snapshot: 0 } })
    await v.onOwnSeal(seal, at)
    // a seal of an earlier round re-sent to a straggler is not proposed again
    await v.onOwnSeal({ ...seal, round: 1 }, at)
    expect(io.created.length).toBe(1)
  })

  it('votes in consensus as the machine voted, on exactly the seal and electorate it approved', async () => {
    const io = port()
    const v = new SealVoting({ proposals: io.proposals, poke: () => {}, logger: silent })
    const kind = v.kind()
    const good = sealPayload(seal, ELECTORATE)
    const forged = { ...good, deltas: [{ ...good.deltas[0], peerId: 'p9' }, good.deltas[1]] }
    const packed = { ...good, electorate: ['p1', 'p2', 'p3', 'p8'] }
    const ctx = (id: string, payload: ModelUpdatePayload): Parameters<NonNullable<typeof kind.validate>>[1] => ({ id, proposal: { kind: MODEL_UPDATE_KIND, payload, proposer: 'p2', createdAt: 0, expiresAt: 1, snapshot: 0 } })
    kind.validate?.(good, ctx('good', good))
    kind.validate?.(forged, ctx('forged', forged))
    kind.validate?.(packed, ctx('packed', packed))
    // before the machine voted: every verdict waits
    expect(v.assess(good)).toEqual({ valid: false, pending: true })
    v.noteSeal(seal)
    await v.onOwnVote(vote(true), at)
    expect(io.votes.sort()).toEqual([['forged', 'no'], ['good', 'yes'], ['packed', 'no']])
    // a rejection is a no on every proposal of the seal
    const io2 = port()
    const v2 = new SealVoting({ proposals: io2.proposals, poke: () => {}, logger: silent })
    v2.kind().validate?.(good, ctx('good', good))
    v2.noteSeal(seal)
    await v2.onOwnVote(vote(false), at)
    expect(io2.votes).toEqual([['good', 'no']])
  })

  it('votes no when the aggregator showed two seals under one reference', async () => {
    const io = port()
    const v = new SealVoting({ proposals: io.proposals, poke: () => {}, logger: silent })
    const good = sealPayload(seal, ELECTORATE)
    v.kind().validate?.(good, { id: 'good', proposal: { kind: MODEL_UPDATE_KIND, payload: good, proposer: 'p2', createdAt: 0, expiresAt: 1, snapshot: 0 } })
    v.noteSeal(seal)
    v.noteSeal({ ...seal, deltas: [{ ...seal.deltas[0], peerId: 'p9' }, seal.deltas[1]] })
    await v.onOwnVote(vote(true), at)
    expect(io.votes).toEqual([['good', 'no']])
  })

  it('accepts for the machine once a QC accepted the seal for that electorate, and wakes its job', async () => {
    const pokes: string[] = []
    const v = new SealVoting({ proposals: port().proposals, poke: id => pokes.push(id), logger: silent })
    const acceptance = v.acceptance()
    const ref = { jobId: JOB, round: 2, attempt: 0, aggregateCid: seal.aggregateCid }
    const good = sealPayload(seal, ELECTORATE)
    // two of three electors approved on the training topic: a majority, but no QC yet
    acceptance.onVote({ ...ref, approve: true }, 'p1')
    acceptance.onVote({ ...ref, approve: true }, 'p2')
    expect(acceptance.outcome(ref, ELECTORATE)).toBe('pending')
    // one voter's outcome is its counted vote (the machine's per-voter questions)
    expect(acceptance.outcome(ref, ['p1'])).toBe('accepted')
    expect(acceptance.outcome(ref, ['p3'])).toBe('pending')
    v.kind().execute(good, { id: 'good', proposal: { kind: MODEL_UPDATE_KIND, payload: good, proposer: 'p2', createdAt: 0, expiresAt: 1, snapshot: 0 } })
    expect(pokes).toEqual([JOB])
    expect(acceptance.outcome(ref, ELECTORATE)).toBe('accepted')
    // not for another electorate, nor another attempt
    expect(acceptance.outcome(ref, ['p1', 'p2'])).toBe('pending')
    expect(acceptance.outcome({ ...ref, attempt: 1 }, ELECTORATE)).toBe('pending')
  })

  it('rejects for the machine when a majority of the electorate voted against; reads accepted QCs back at start', () => {
    const acceptance = new ConsensusSealAcceptance(() => false)
    const ref = { jobId: JOB, round: 2, attempt: 0, aggregateCid: seal.aggregateCid }
    acceptance.onVote({ ...ref, approve: false }, 'p1')
    expect(acceptance.outcome(ref, ELECTORATE)).toBe('pending')
    acceptance.onVote({ ...ref, approve: false }, 'p2')
    expect(acceptance.outcome(ref, ELECTORATE)).toBe('rejected')
    const restored = new ConsensusSealAcceptance(() => false)
    restored.restore(acceptance.snapshot())
    expect(restored.outcome(ref, ELECTORATE)).toBe('rejected')

    const io = port()
    const good = sealPayload(seal, ELECTORATE)
    io.proposals.list = () => [{ id: 'good', payload: good, status: 'accepted' }, { id: 'old', payload: { ...good, attempt: 1 }, status: 'rejected' }]
    const v = new SealVoting({ proposals: io.proposals, poke: () => {}, logger: silent })
    v.load()
    expect(v.acceptance().outcome(ref, ELECTORATE)).toBe('accepted')
    expect(v.acceptance().outcome({ ...ref, attempt: 1 }, ELECTORATE)).toBe('pending')
    expect(v.counts()).toEqual({ proposals: 2, accepted: 1 })
  })
})

describe('the bridge asks consensus to sync', () => {
  it('when a round of ours stalls, at most once per 5 s (the QC that decided it may exist where we were not listening)', () => {
    const io = port()
    let syncs = 0
    let now = 1_000_000
    const v = new SealVoting({ proposals: { ...io.proposals, catchUp: async () => { syncs++ } }, poke: () => {}, logger: silent, now: () => now })
    v.stalled(JOB, 2)
    v.stalled(JOB, 2)
    expect(syncs).toBe(1)
    now += 5000
    v.stalled(JOB, 2)
    expect(syncs).toBe(2)
  })
})
