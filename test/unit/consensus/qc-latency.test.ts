/**
 * The pieces that cut proposal -> QC latency without weakening a check (bench/consensus.ts --only latency):
 * - `heldVotes`: a QC's votes that this node already holds (byte for byte) are not opened and verified again; any
 *   other bytes (another signature, a re-sign, a vote for another proposal, a tampered copy) still are;
 * - `GroupCommit`: batches handed in while a write is in flight are written as one, in order, each caller resolving
 *   once its own ops are written; a failing merged batch fails only the caller whose ops fail. On a real Level store.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { openState, type StateStore } from '../../../src/storage/index.js'
import { signConsensusRecord } from '../../../src/consensus/index.js'
import { addVoteRec, heldVotes, newEntry } from '../../../src/consensus/service/entry.js'
import { GroupCommit, loadState, ops, type ConsensusOp } from '../../../src/consensus/service/store.js'
import type { Proposal, VoteChoice } from '../../../src/consensus/protocol/schemas.js'

const NET = 'qc-latency-test'
const proposal: Proposal = { kind: 'network-param', payload: { name: 'x', value: 1 }, proposer: 'p0', createdAt: 1, expiresAt: 10_000, snapshot: 0 }

describe('heldVotes', async () => {
  const keys = await Promise.all([0, 1, 2].map(async () => await generateKeyPair('Ed25519')))
  const ids = keys.map(k => peerIdFromPrivateKey(k).toString())
  const vote = async (i: number, proposalId: string, choice: VoteChoice, seq: number): Promise<Uint8Array> =>
    await signConsensusRecord(keys[i], NET, 'vote', seq, { proposalId, choice, voter: ids[i], network: NET })
  const e = newEntry('P', new Uint8Array(), proposal)
  const held = [await vote(0, 'P', 'yes', 100), await vote(1, 'P', 'yes', 101)]
  held.forEach((bytes, i) => addVoteRec(e, { voter: ids[i], choice: 'yes', seq: 100 + i, bytes }))
  const tampered = Uint8Array.from(held[0])
  tampered[tampered.length - 1] ^= 1
  const cases: Array<[string, Uint8Array, boolean]> = [
    ['a held vote, the same bytes', held[0], true],
    ['another held vote', held[1], true],
    ['a copy of held bytes (another buffer)', Uint8Array.from(held[1]), true],
    ['a held vote inside a larger buffer (a subarray)', (() => { const b = new Uint8Array(held[0].length + 8); b.set(held[0], 4); return b.subarray(4, 4 + held[0].length) })(), true],
    ['the held voter re-signed (new seq)', await vote(0, 'P', 'yes', 102), false],
    ['the held voter, other choice', await vote(0, 'P', 'no', 103), false],
    ['a voter not held', await vote(2, 'P', 'yes', 100), false],
    ['a held voter on another proposal', await vote(0, 'Q', 'yes', 100), false],
    ['held bytes with one signature bit flipped', tampered, false],
    ['held bytes truncated', held[0].subarray(0, held[0].length - 1), false],
    ['empty bytes', new Uint8Array(), false]
  ]
  const test = heldVotes(e)
  it.each(cases)('%s -> %s', (_name, bytes, expected) => {
    expect(test(bytes)).toBe(expected)
  })

  it('an entry with no votes holds nothing', () => {
    expect(heldVotes(newEntry('P', new Uint8Array(), proposal))(held[0])).toBe(false)
  })
})

describe('GroupCommit on a real Level store', () => {
  const dirs: string[] = []
  const stores: StateStore[] = []
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close()
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })
  async function store (): Promise<StateStore> {
    const d = await mkdtemp(join(tmpdir(), 'consensus-group-commit-'))
    dirs.push(d)
    const s = await openState(d)
    stores.push(s)
    return s
  }
  const param = (name: string, value: unknown): ConsensusOp => ops.param(name, value)

  it('writes batches handed in during a write as one batch, in order, and resolves each caller', async () => {
    const s = await store()
    const calls: number[] = []
    const g = new GroupCommit(async batch => { calls.push(batch.length); await s.atomic(batch) })
    // one in flight, then 20 more queued behind it (a later put of a key wins)
    const all = [g.write([param('a', 0)]), ...Array.from({ length: 20 }, async (_, i) => { await g.write([param('a', i + 1), param(`k${i}`, i)]) })]
    await Promise.all(all)
    expect(calls).toEqual([1, 40])
    const st = await loadState(s)
    expect(st.params.get('a')).toBe(20)
    for (let i = 0; i < 20; i++) expect(st.params.get(`k${i}`)).toBe(i)
  })

  it('resolves a caller only once its ops are written', async () => {
    const s = await store()
    const g = new GroupCommit(async batch => { await s.atomic(batch) })
    void g.write([param('first', 1)])
    await g.write([param('second', 2)])
    const st = await loadState(s)
    expect([st.params.get('first'), st.params.get('second')]).toEqual([1, 2])
  })

  it('an empty batch writes nothing', async () => {
    let calls = 0
    const g = new GroupCommit(async () => { calls++ })
    await g.write([])
    expect(calls).toBe(0)
  })

  it('a failing merged batch fails only the caller whose ops fail; the others are written', async () => {
    const s = await store()
    const bad: ConsensusOp = { type: 'put', sublevel: 'Not A Sublevel!', key: 'x', value: 'y' }
    const g = new GroupCommit(async batch => { await s.atomic(batch) })
    const first = g.write([param('a', 1)])
    const results = await Promise.allSettled([first, g.write([param('b', 2)]), g.write([bad]), g.write([param('c', 3)])])
    expect(results.map(r => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    const st = await loadState(s)
    expect([st.params.get('a'), st.params.get('b'), st.params.get('c')]).toEqual([1, 2, 3])
    // and the queue keeps working after a failure
    await g.write([param('d', 4)])
    expect((await loadState(s)).params.get('d')).toBe(4)
  })
})
