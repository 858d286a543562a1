/**
 * The consensus store's I/O around the pure rules, on real stores in a temp dir: pruning deletes exactly what the rule
 * picks from a real Level state store (and the entries in memory), and decided proposals, their decisions and evidence
 * land in a real Level blockstore, pinned, under their CIDs, as bytes that hash to them and decode (as dag-cbor) to
 * the record.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { decode } from 'cborg'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { ManualClock } from '../../../src/common/clock.js'
import { silentLogger } from '../../../src/common/logger.js'
import { openState, openStorage, parseCid, pinBlocks, type StateStore, type Storage } from '../../../src/storage/index.js'
import { hasPin } from '../../../src/storage/pins.js'
import { EpochChain } from '../../../src/consensus/index.js'
import { cidOf } from '../../../src/consensus/protocol/canonical.js'
import { proposalId } from '../../../src/consensus/protocol/records.js'
import type { Proposal } from '../../../src/consensus/protocol/schemas.js'
import { ConsensusArchive, decisionBlock, type ConsensusBlocks } from '../../../src/consensus/service/archive.js'
import { newEntry, type Entry } from '../../../src/consensus/service/entry.js'
import { Pruner, type PruneHost } from '../../../src/consensus/service/prune.js'
import { loadState, ops, type ConsensusOp } from '../../../src/consensus/service/store.js'

const dirs: string[] = []
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of closers.splice(0)) await c()
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})
async function tempDir (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'consensus-store-'))
  dirs.push(d)
  return d
}

const proposal = (kind: string, createdAt: number, snapshot = 0): Proposal =>
  ({ kind, payload: { name: 'x', value: createdAt }, proposer: 'p0', createdAt, expiresAt: createdAt + 1000, snapshot })

function entry (p: Proposal, over: Partial<Entry>, votes: Array<[string, 'yes' | 'no']> = []): Entry {
  const e = { ...newEntry(proposalId(p), new Uint8Array([7, 7]), p), ...over }
  for (const [voter, choice] of votes) e.votes.set(voter, [{ voter, choice, seq: p.createdAt + 1, bytes: new Uint8Array([1, voter.length]) }])
  return e
}

/** A chain at `head`: empty epochs applied one by one. */
function chainAt (head: number): EpochChain {
  const chain = new EpochChain({ params: {}, pretrusted: [{ peerId: 'p0', score: '1000' }], guardians: { keys: [], threshold: 0 }, startedAt: 0 })
  for (let epoch = 1; epoch <= head; epoch++) chain.apply({ epoch, proposalId: `e${epoch}`, createdAt: epoch, accepted: [], evidence: [] }, { seals: [], outcomes: [], evidence: [] })
  return chain
}

describe('Pruner on a real Level state store', () => {
  it('deletes what the rule picks in one batch and keeps what the chain and catch-up need', async () => {
    const state: StateStore = await openState(join(await tempDir(), 'state'))
    closers.push(async () => { await state.close() })
    const expired = entry(proposal('network-param', 100), { status: 'expired' }, [['a', 'yes'], ['b', 'no']])
    expired.vetoes.set('g', { guardian: 'g', reason: 'r', at: 101, bytes: new Uint8Array([9]) })
    const listed = entry(proposal('network-param', 200), { status: 'accepted', executed: true, epoch: 1, qcVoters: ['a'] }, [['a', 'yes'], ['b', 'no']])
    listed.qc = { proposalId: listed.id, epoch: 0, votes: [new Uint8Array([1, 1])] }
    const chainEpoch = entry(proposal('epoch', 300), { status: 'accepted', executed: true, epoch: 1 }, [['a', 'yes'], ['b', 'yes']])
    chainEpoch.qc = { proposalId: chainEpoch.id, epoch: 0, votes: [new Uint8Array([1, 1]), new Uint8Array([1, 2])] }
    const pending = entry(proposal('network-param', 400), {}, [['a', 'yes']])
    const all = [expired, listed, chainEpoch, pending]
    const batch: ConsensusOp[] = []
    for (const e of all) {
      batch.push(ops.entry(e))
      if (e.qc != null) batch.push(ops.qc(e.qc))
      for (const v of [...e.votes.values()].flat()) batch.push(ops.vote(e.id, v.voter, v.seq, v.bytes))
      for (const x of e.vetoes.values()) batch.push(ops.veto(e.id, x.guardian, x.bytes))
    }
    await state.atomic(batch)

    const entries = new Map(all.map(e => [e.id, e]))
    const clock = new ManualClock(10_000)
    const host: PruneHost = {
      chain: chainAt(3),
      init: { retainEpochs: 1, recordMaxAgeMs: 1000, recordMaxSkewMs: 0 },
      write: async (b) => { await state.atomic(b) },
      c: { clock, logger: silentLogger }
    }
    const pruner = new Pruner(host, entries)
    const plan = await pruner.maybePrune()
    expect(plan?.proposals).toEqual([expired.id])
    // head unchanged: no second run
    expect(await pruner.maybePrune()).toBeUndefined()

    const st = await loadState(state)
    expect([...st.proposals.keys()].sort()).toEqual([listed.id, chainEpoch.id, pending.id].sort())
    expect([...st.qcs.keys()].sort()).toEqual([listed.id, chainEpoch.id].sort())
    expect(st.votes.get(expired.id)).toBeUndefined()
    expect(st.vetoes.size).toBe(0)
    expect(st.votes.get(listed.id)).toHaveLength(1) // the listed voter's yes (catch-up rebuilds the QC from it)
    expect(st.votes.get(chainEpoch.id)).toBeUndefined() // its stored QC carries the yes votes
    expect(st.votes.get(pending.id)).toHaveLength(1)
    // memory matches the store
    expect([...entries.keys()].sort()).toEqual([listed.id, chainEpoch.id, pending.id].sort())
    expect([...listed.votes.keys()]).toEqual(['a'])
    expect(chainEpoch.votes.size).toBe(0)
  })
})

describe('ConsensusArchive on a real Level blockstore', () => {
  async function storage (): Promise<Storage> {
    const s = await openStorage({ dataDir: await tempDir() })
    closers.push(async () => { await s.close() })
    return s
  }
  /** The node's wiring (node.ts), on the storage blockstore instead of Helia's (the same Level store beneath). */
  const port = (s: Storage): ConsensusBlocks => ({
    put: async (cid, bytes) => { const c = parseCid(cid); await pinBlocks(s.datastore, c, [c]); await s.blockstore.put(c, bytes) },
    has: async (cid) => await s.blockstore.has(parseCid(cid))
  })

  it('puts an accepted proposal under its id, pinned; the bytes hash to the id and decode to the proposal', async () => {
    const s = await storage()
    const archive = new ConsensusArchive(port(s), silentLogger)
    const p = proposal('network-param', 5000)
    const e = entry(p, { status: 'accepted' })
    archive.keep(entry(proposal('network-param', 6000), {})) // pending: not archived
    archive.keep(e)
    archive.keep(e) // once
    await archive.idle()
    const cid = parseCid(e.id)
    const chunks: Uint8Array[] = []
    for await (const c of s.blockstore.get(cid)) chunks.push(c)
    const bytes = new Uint8Array(Buffer.concat(chunks))
    expect(cidOf(decode(bytes))).toBe(e.id)
    expect(decode(bytes)).toEqual({ kind: p.kind, payload: p.payload, proposer: p.proposer, createdAt: p.createdAt, expiresAt: p.expiresAt, snapshot: p.snapshot })
    expect(await hasPin(s.datastore, cid)).toBe(true)
    expect(await s.blockstore.has(parseCid(proposalId(proposal('network-param', 6000))))).toBe(false)
    expect(archive.failures).toBe(0)
  })

  /** A block's bytes from the blockstore. */
  async function read (s: Storage, cid: string): Promise<Uint8Array> {
    const chunks: Uint8Array[] = []
    for await (const c of s.blockstore.get(parseCid(cid))) chunks.push(c)
    return new Uint8Array(Buffer.concat(chunks))
  }

  it('a final decision is put beside its proposal: the QC (or the vetoes, by guardian) linked to the proposal by CID', async () => {
    const s = await storage()
    const archive = new ConsensusArchive(port(s), silentLogger)
    const accepted = entry(proposal('network-param', 8000), { status: 'accepted', qcVoters: ['a'] })
    accepted.qc = { proposalId: accepted.id, epoch: 0, votes: [new Uint8Array([1, 1]), new Uint8Array([2, 2])] }
    archive.keep(accepted) // accepted, not executed: inside the veto window, the decision is not final
    await archive.idle()
    expect(await s.blockstore.has(parseCid(accepted.id))).toBe(true)
    expect(accepted.decision).toBeUndefined()
    accepted.executed = true
    archive.keep(accepted)
    await archive.idle()
    const decision = accepted.decision as string
    expect(decision).toBe(decisionBlock(accepted)?.cid)
    const got = dagCbor.decode<{ proposal: CID, qc: unknown }>(await read(s, decision))
    expect(got.proposal.toString()).toBe(accepted.id)
    expect(got.qc).toEqual({ proposalId: accepted.id, epoch: 0, votes: [new Uint8Array([1, 1]), new Uint8Array([2, 2])] })
    expect(CID.parse(decision).code).toBe(dagCbor.code)
    expect(await hasPin(s.datastore, parseCid(decision))).toBe(true)

    const vetoed = entry(proposal('network-param', 9000), { status: 'vetoed' })
    vetoed.vetoes.set('g2', { guardian: 'g2', reason: 'no', at: 9001, bytes: new Uint8Array([2]) })
    vetoed.vetoes.set('g1', { guardian: 'g1', reason: 'no', at: 9002, bytes: new Uint8Array([1]) })
    archive.keep(vetoed)
    await archive.idle()
    expect(await s.blockstore.has(parseCid(vetoed.id))).toBe(true)
    expect(dagCbor.decode(await read(s, vetoed.decision as string))).toEqual({ proposal: CID.parse(vetoed.id), vetoes: [new Uint8Array([1]), new Uint8Array([2])] })
    // pending, rejected and expired proposals put nothing
    for (const status of ['pending', 'rejected', 'expired'] as const) {
      const e = entry(proposal('network-param', 10_000), { status })
      archive.keep(e)
      await archive.idle()
      expect(await s.blockstore.has(parseCid(e.id))).toBe(false)
    }
    expect(archive.failures).toBe(0)
  })

  it('evidence is put under its id; bytes that do not hash to the id are refused and counted', async () => {
    const s = await storage()
    const archive = new ConsensusArchive(port(s), silentLogger)
    const pair = { first: new Uint8Array([1, 2, 3]), second: new Uint8Array([4, 5, 6]) }
    const id = cidOf(pair)
    archive.keepEvidence(id, pair)
    archive.keepEvidence(cidOf({ first: pair.second, second: pair.first }), pair)
    await archive.idle()
    expect(dagCbor.decode(await read(s, id))).toEqual(pair)
    expect(await hasPin(s.datastore, parseCid(id))).toBe(true)
    expect(archive.failures).toBe(1)
  })

  it('a failing put is counted, not thrown, and retried by the next sweep', async () => {
    const s = await storage()
    let fail = true
    const real = port(s)
    const archive = new ConsensusArchive({ put: async (cid, bytes) => { if (fail) throw new Error('quota'); await real.put(cid, bytes) } }, silentLogger)
    const e = entry(proposal('epoch', 7000), { status: 'accepted' })
    archive.keep(e)
    await archive.idle()
    expect(archive.failures).toBe(1)
    expect(await s.blockstore.has(parseCid(e.id))).toBe(false)
    fail = false
    archive.sweep([e])
    await archive.idle()
    expect(await s.blockstore.has(parseCid(e.id))).toBe(true)
  })
})
