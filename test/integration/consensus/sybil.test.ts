/**
 * Sybils: 6 established honest nodes (pre-trusted at genesis) against 14 fresh identities. The sybils are lightweight
 * in-process libp2p peers (the node's own libp2p stack, no meshnode services) that speak the consensus gossip with
 * their own keys and records signed exactly as the service signs them, so every record goes through the real gossip
 * validation, tally and epoch chain of the 6 real nodes.
 *
 * Worst case for the cap: each sybil holds a genesis score just below the probation threshold (as if it had earned
 * a little), together ~13% of the raw scores. The probation pool keeps their share of every epoch's voting weight at
 * <= 10% on every honest node; their proposals (yes from all 14) never pass; an honest proposal they all vote against
 * still passes with a QC; and every honest node ends with the same reputation hash.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/node/libp2p.js'
import { CONSENSUS_TOPIC, defaultReputationParams, proposalId, signConsensusRecord, type Proposal, type VoteChoice } from '../../../src/consensus/index.js'
import { waitFor } from '../../harness/index.js'
import { commonHashes, startConsensusMesh, waitEpoch, type ConsensusMesh } from './helpers.js'

const HONEST = [0, 1, 2, 3, 4, 5]
const SYBILS = 14
const THETA = defaultReputationParams.probationThreshold
const HONEST_SCORE = 15n * THETA
const SYBIL_SCORE = THETA - THETA / 20n // below the threshold: on probation whatever its age

interface Sybil { key: PrivateKey, id: string, p2p?: MeshLibp2p, seq: number }

/** Sign a consensus record with the sybil's key (the service's own signing) and publish it from the sybil's peer. */
async function send (s: Sybil, type: 'proposal' | 'vote', payload: Proposal | { proposalId: string, choice: VoteChoice, voter: string, network: string }): Promise<void> {
  s.seq = Math.max(s.seq + 1, Date.now())
  const bytes = type === 'proposal'
    ? await signConsensusRecord(s.key, 'local', 'proposal', s.seq, payload as Proposal)
    : await signConsensusRecord(s.key, 'local', 'vote', s.seq, payload as { proposalId: string, choice: VoteChoice, voter: string, network: string })
  await s.p2p?.services.pubsub.publish(CONSENSUS_TOPIC, bytes)
}

/** The sybils' share of epoch e's voting weight on node i, in basis points. */
function sybilShareBps (cm: ConsensusMesh, i: number, e: number, sybils: Set<string>): bigint {
  const w = cm.service(i).chain.electorate(e)
  let mine = 0n
  for (const [peer, weight] of w.weights) if (sybils.has(peer)) mine += weight
  return w.total === 0n ? 0n : mine * 10_000n / w.total
}

/** Honest node h dials the sybil, a few times if a loaded machine drops the opening. */
async function dialRetrying (cm: ConsensusMesh, h: number, p2p: MeshLibp2p): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await cm.node(h).libp2p.dial(multiaddr(p2p.getMultiaddrs()[0]))
      return
    } catch {
      await new Promise(resolve => setTimeout(resolve, 500 * (attempt + 1)))
    }
  }
}

describe('6 established honest nodes against 14 fresh identities', () => {
  let cm: ConsensusMesh
  const sybils: Sybil[] = []
  beforeAll(async () => {
    for (let k = 0; k < SYBILS; k++) {
      const key = await generateKeyPair('Ed25519')
      sybils.push({ key, id: peerIdFromPrivateKey(key).toString(), seq: 0 })
    }
    cm = await startConsensusMesh(HONEST.map(() => HONEST_SCORE), {
      extraPretrusted: sybils.map(s => ({ peerId: s.id, score: SYBIL_SCORE })),
      consensus: { policies: { 'network-param': { mode: 'auto' } } }
    })
    await waitEpoch(cm, HONEST, 1)
    // each sybil is dialled by two honest nodes (dialling out keeps clear of the 5-per-second inbound guard)
    for (const [k, s] of sybils.entries()) {
      const p2p = s.p2p = await createMeshLibp2p({ privateKey: s.key, listen: ['/ip4/127.0.0.1/tcp/0'], ipColocationThreshold: 1000 })
      cm.mesh.defer(async () => { await p2p.stop() })
      p2p.services.pubsub.subscribe(CONSENSUS_TOPIC)
      for (const h of [k % 6, (k + 3) % 6]) void dialRetrying(cm, h, p2p)
    }
    // gossip carries a sybil's records to every honest node from the first honest peer it has
    await waitFor(() => sybils.every(s => (s.p2p?.services.pubsub.getSubscribers(CONSENSUS_TOPIC).length ?? 0) >= 1), { timeoutMs: 60_000, what: 'every sybil to see an honest subscriber' })
  }, 180_000)
  afterAll(async () => { await cm?.mesh.close() })

  it('their share stays <= 10% in every epoch, none of their proposals passes, an honest one they oppose passes', async () => {
    const ids = new Set(sybils.map(s => s.id))
    // the cap binds: raw, the sybils hold more than 10% of the genesis scores
    const genesis = cm.service(0).chain.table(0)
    let raw = 0n; let all = 0n
    for (const [peer, entry] of genesis.peers) { all += entry.score; if (ids.has(peer)) raw += entry.score }
    expect(raw * 10_000n / all).toBeGreaterThan(1000n)

    // three sybil proposals: ban an honest node; all 14 sybils vote yes on each
    const epoch = cm.service(0).chain.epoch
    const now = Date.now()
    const theirs = await Promise.all([0, 1, 2].map(async k => {
      const p: Proposal = { kind: 'ban-peer', payload: { peerId: cm.ids[k], reason: 'sybil attack' }, proposer: sybils[k].id, createdAt: now, expiresAt: now + 8000, snapshot: epoch }
      await send(sybils[k], 'proposal', p)
      return proposalId(p)
    }))
    // an honest proposal (ban-peer is `manual`: the honest operators vote by hand, after the sybils voted against it)
    const { id: honest } = await cm.service(0).create({ kind: 'ban-peer', payload: { peerId: sybils[13].id, reason: 'sybil' }, ttlSeconds: 20 })
    const known = (id: string): boolean => HONEST.every(i => { try { cm.service(i).get(id); return true } catch { return false } })
    await waitFor(() => [...theirs, honest].every(known), { timeoutMs: 30_000, what: 'every proposal on every honest node' })
    for (const s of sybils) {
      for (const id of theirs) await send(s, 'vote', { proposalId: id, choice: 'yes', voter: s.id, network: 'local' })
      await send(s, 'vote', { proposalId: honest, choice: 'no', voter: s.id, network: 'local' })
    }
    // every honest node counted the sybils' votes (they passed the real validation)...
    const sybilVotes = (i: number, id: string): number => [...cm.service(i).entry(id).votes.keys()].filter(v => ids.has(v)).length
    await waitFor(() => HONEST.every(i => [...theirs, honest].every(id => sybilVotes(i, id) === SYBILS)), { timeoutMs: 30_000, what: 'the sybils\' votes on every honest node' })
    // 5 of the 6 honest operators: 75% of the weight with the sybils' 10% against (4 of 6 would be 60%, short of 2/3)
    for (const i of [1, 2, 3, 4]) await cm.service(i).vote(honest, 'yes')
    // ...and still: the honest proposal passes with a QC, theirs expire everywhere
    await waitFor(() => HONEST.every(i => cm.service(i).get(honest).status === 'accepted'), { timeoutMs: 30_000, what: 'the honest proposal accepted everywhere' })
    await waitFor(() => HONEST.every(i => theirs.every(id => cm.service(i).get(id).status === 'expired')), { timeoutMs: 30_000, what: 'the sybil proposals expired everywhere' })
    for (const i of HONEST) {
      const v = cm.service(i).get(honest)
      expect(BigInt(v.tally.no)).toBeGreaterThan(0n)
      expect(v.certificate?.voters.every(p => !ids.has(p))).toBe(true)
      for (const id of theirs) {
        const t = cm.service(i).get(id).tally
        expect(BigInt(t.yes)).toBeGreaterThan(0n)
        expect(BigInt(t.yes) * 10n).toBeLessThanOrEqual(BigInt(t.weightTotal))
        expect(cm.service(i).get(id).executed).toBe(false)
      }
    }
    // an epoch that lists the outcome, then: <= 10% in every epoch, on every honest node, and one hash
    await waitFor(() => HONEST.every(i => cm.service(i).get(honest).epoch != null), { timeoutMs: 45_000, what: 'an epoch listing the honest proposal' })
    await waitEpoch(cm, HONEST, cm.service(0).get(honest).epoch ?? 0)
    const { epoch: top, hashes } = commonHashes(cm, HONEST)
    expect(new Set(hashes).size).toBe(1)
    expect(top).toBeGreaterThanOrEqual(2)
    for (const i of HONEST) {
      for (let e = 0; e <= top; e++) {
        const share = sybilShareBps(cm, i, e, ids)
        expect(share, `node ${i} epoch ${e}`).toBeLessThanOrEqual(1000n)
        expect(share, `node ${i} epoch ${e}`).toBeGreaterThan(0n) // still there, still capped
      }
    }
  })
})
