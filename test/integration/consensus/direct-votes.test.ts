/**
 * Yes votes go to the proposer over `/meshnode/consensus-vote/1.0.0`, and the proposer's QC carries them to everyone
 * (src/consensus/service/direct-votes.ts). Five in-process nodes of equal weight (a QC needs 4 of 5): a proposal
 * passes everywhere with no yes vote on gossip and every node takes the proposer's voters as its own; a vote that is
 * not the sender's own, or not a vote, is refused on that stream; a node that missed the QC, voter or not, asks the
 * proposer for it; and when the proposer goes away before its QC, the votes it took are gossiped by their voters
 * after the fallback delay, so the others still finalize.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { Counter } from 'prom-client'
import { CONSENSUS_TOPIC } from '../../../src/consensus/index.js'
import { CONSENSUS_VOTE_PROTOCOL } from '../../../src/consensus/protocol/topic.js'
import { openConsensusRecord } from '../../../src/consensus/protocol/verify.js'
import { DIRECT_VOTE_TIMEOUT_MS, sendDirectVote } from '../../../src/consensus/service/direct-votes.js'
import { GossipValidationError } from '../../../src/common/errors.js'
import { waitFor } from '../../harness/index.js'
import { startConsensusMesh, type ConsensusMesh } from './helpers.js'

const T = 1_000_000_000_000n
const ALL = [0, 1, 2, 3, 4]
const FALLBACK_MS = 5000

/** Node i's `meshnode_consensus_votes_total{result}`. */
async function votesCounted (cm: ConsensusMesh, i: number, result: string): Promise<number> {
  const c = cm.node(i).metrics.registry.getSingleMetric('meshnode_consensus_votes_total') as Counter | undefined
  return (await c?.get())?.values.find(v => v.labels.result === result)?.value ?? 0
}

describe('votes straight to the proposer', () => {
  let cm: ConsensusMesh
  /** Consensus records each node gossiped: [type, proposal id, signer]. */
  const gossiped: Array<[string, string, string]> = []
  beforeAll(async () => {
    cm = await startConsensusMesh([T, T, T, T, T], {
      // no epoch for an hour: the proposals below are the only votes in flight
      startedAt: Date.now(),
      consensus: { epochIntervalMs: 3_600_000, directVoteFallbackMs: FALLBACK_MS, policies: { 'network-param': { mode: 'auto' }, 'ban-peer': { mode: 'manual' } } }
    })
    // a quiet mesh: every node connected to every other and subscribed, no catch-up sync running (a new connection's
    // identify starts one, and a sync would bring the votes the tests below expect only the QC to carry)
    await waitFor(() => ALL.every(i => cm.node(i).libp2p.getPeers().length === ALL.length - 1 &&
      cm.node(i).libp2p.services.pubsub.getSubscribers(CONSENSUS_TOPIC).length === ALL.length - 1 && cm.service(i)['ingest'].catchUp.syncing == null),
    { timeoutMs: 45_000, what: 'every node connected to the others, subscribed, and no sync running' })
    for (const i of ALL) {
      const gossip = cm.node(i).gossip
      const publish = gossip.publish.bind(gossip)
      gossip.publish = async (topic, bytes) => {
        if (topic === CONSENSUS_TOPIC) {
          const o = await openConsensusRecord(bytes, 'local')
          const pid = o.type === 'proposal' ? '' : (o.record.payload as { proposalId?: string }).proposalId ?? ''
          gossiped.push([o.type === 'vote' ? `vote:${o.record.payload.choice}` : o.type, pid, o.record.signer])
        }
        return await publish(topic, bytes)
      }
    }
  }, 180_000)
  afterAll(async () => { await cm?.mesh.close() })

  let passed: string | undefined

  /** Makes node i ignore every QC it is gossiped (the one message that carries a proposal's votes to it) until restored. */
  const dropQcs = (i: number): { count: number, restore: () => void } => {
    const ingest = cm.service(i)['ingest']
    const validate = ingest.validateGossip.bind(ingest)
    const dropped = { count: 0, restore: () => { ingest.validateGossip = validate } }
    ingest.validateGossip = async (data, ctx) => {
      if ((await openConsensusRecord(data, 'local')).type === 'qc') { dropped.count++; throw new GossipValidationError('ignore', 'ERR_TEST', 'dropped by the test') }
      return await validate(data, ctx)
    }
    return dropped
  }

  it('a proposal passes on every node with no yes vote on gossip; each node lists the proposer\'s QC voters', async () => {
    const { id } = await cm.service(0).create({ kind: 'network-param', payload: { name: 'test.direct', value: 1 }, ttlSeconds: 60 })
    // accepted on every node through the proposer's QC (taken as each node's own)
    await waitFor(() => ALL.every(i => cm.service(i).get(id).status === 'accepted' && cm.service(i).entry(id).qcPublic === true), { timeoutMs: 45_000, what: 'the proposal accepted on every node with the proposer\'s QC' })
    // the four other voters' votes all reached the proposer (not on gossip, as checked below: on the stream)
    await waitFor(() => cm.service(0).entry(id).votes.size === 5, { timeoutMs: 15_000, what: 'every vote at the proposer' })
    const voters = cm.service(0).entry(id).qcVoters
    expect(voters?.length).toBeGreaterThanOrEqual(4)
    for (const i of ALL) {
      expect(cm.service(i).entry(id).qcVoters, `node ${i}`).toEqual(voters)
      expect(cm.service(i).get(id).certificate?.voters).toEqual(voters)
    }
    // past the fallback delay: the votes stayed off gossip (the proposer's QC made them public); one QC, the proposer's
    await new Promise(resolve => setTimeout(resolve, FALLBACK_MS + 1500))
    const mine = gossiped.filter(([, pid]) => pid === id)
    expect(mine.filter(([t]) => t === 'vote:yes')).toEqual([])
    expect(mine.filter(([t]) => t === 'qc')).toEqual([['qc', id, cm.ids[0]]])
    passed = id
  })

  it('the vote stream takes only the sender\'s own vote: another\'s vote or garbage is refused', async () => {
    expect(passed).toBeDefined()
    const id = passed as string
    const proposer = peerIdFromString(cm.ids[0])
    const votesOf = (i: number): Uint8Array => (cm.service(0).entry(id).votes.get(cm.ids[i]) ?? [])[0].bytes
    const refusedBefore = await votesCounted(cm, 0, 'refused')
    // node 1 relaying node 2's vote, and bytes that are no record
    expect(await sendDirectVote(cm.node(1).libp2p, proposer, CONSENSUS_VOTE_PROTOCOL, votesOf(2))).toBe(false)
    expect(await sendDirectVote(cm.node(1).libp2p, proposer, CONSENSUS_VOTE_PROTOCOL, Uint8Array.of(1, 2, 3))).toBe(false)
    expect(await votesCounted(cm, 0, 'refused') - refusedBefore).toBe(2)
    expect(cm.node(0).penalties.current(cm.ids[1])).toBeGreaterThan(0)
    // the voter sending its own vote again: taken, counted once
    expect(await sendDirectVote(cm.node(2).libp2p, proposer, CONSENSUS_VOTE_PROTOCOL, votesOf(2))).toBe(true)
    expect(cm.service(0).entry(id).votes.get(cm.ids[2])).toHaveLength(1)
  })

  it('a voter that missed the proposer\'s QC asks the proposer for it after the fallback delay', async () => {
    // node 4 drops every QC it is gossiped: the one message that carries the votes to it
    const dropped = dropQcs(4)
    try {
      const { id } = await cm.service(0).create({ kind: 'network-param', payload: { name: 'test.missed', value: 1 }, ttlSeconds: 60 })
      await waitFor(() => [0, 1, 2, 3].every(i => cm.service(i).get(id).status === 'accepted') && dropped.count > 0, { timeoutMs: 45_000, what: 'nodes 0-3 accepting while node 4 drops the QC' })
      expect(cm.service(4).get(id).status).toBe('pending')
      // nothing else brings it the votes (the others hold none back, epochs are an hour apart): its sync with node 0 does
      await waitFor(() => cm.service(4).get(id).status === 'accepted', { timeoutMs: FALLBACK_MS + 20_000, what: 'node 4 to accept after asking the proposer' })
      // it was still waiting when its fallback fired: it gossiped its own vote then
      expect(gossiped.filter(([t, pid, signer]) => t === 'vote:yes' && pid === id && signer === cm.ids[4])).toHaveLength(1)
    } finally {
      dropped.restore()
    }
  })

  it('a node that casts no vote (its operator has not voted) and missed the QC asks the proposer for it too', async () => {
    // ban-peer is manual here: nodes 0-3 vote as operators (a QC needs 4 of 5), node 4's operator never does, and
    // node 4 drops every QC it is gossiped
    const dropped = dropQcs(4)
    try {
      const target = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
      const { id } = await cm.service(0).create({ kind: 'ban-peer', payload: { peerId: target, reason: 'non-voter test' }, ttlSeconds: 120 })
      await waitFor(() => ALL.every(i => { try { return cm.service(i).get(id) != null } catch { return false } }), { timeoutMs: 30_000, what: 'the proposal on every node' })
      for (const i of [1, 2, 3]) await cm.service(i).vote(id, 'yes')
      await waitFor(() => [0, 1, 2, 3].every(i => cm.service(i).get(id).status === 'accepted') && dropped.count > 0, { timeoutMs: 45_000, what: 'nodes 0-3 accepting while node 4 drops the QC' })
      expect(cm.service(4).entry(id).votes.has(cm.ids[4])).toBe(false)
      // no vote of its own to fall back on, epochs an hour apart, the proposal open for two minutes: only asking the
      // proposer brings node 4 the votes before the proposal would expire here
      await waitFor(() => cm.service(4).get(id).status === 'accepted', { timeoutMs: FALLBACK_MS + 20_000, what: 'node 4 to accept after asking the proposer' })
      expect(cm.service(4).entry(id).qcVoters).toEqual(cm.service(0).entry(id).qcVoters)
    } finally {
      dropped.restore()
    }
  })

  it('a proposer gone before its QC: the votes it took are gossiped after the fallback delay, and the others finalize', async () => {
    const target = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const { id } = await cm.service(0).create({ kind: 'ban-peer', payload: { peerId: target, reason: 'fallback test' }, ttlSeconds: 120 })
    await waitFor(() => ALL.every(i => { try { return cm.service(i).get(id) != null } catch { return false } }), { timeoutMs: 30_000, what: 'the proposal on every node' })
    // nodes 1 and 2 vote: straight to node 0, which then holds 3 of the 4 yes votes a QC needs
    for (const i of [1, 2]) await cm.service(i).vote(id, 'yes')
    await waitFor(() => (cm.service(0).entry(id).votes.size) === 3, { timeoutMs: 15_000, what: 'node 0 to hold three yes votes' })
    expect(gossiped.filter(([t, pid]) => t === 'vote:yes' && pid === id)).toEqual([])
    await cm.handle(0).stop()
    // nodes 3 and 4 vote: node 0 is gone, so theirs are gossiped at once; 1 and 2 gossip theirs after the delay
    for (const i of [3, 4]) await cm.service(i).vote(id, 'yes')
    await waitFor(() => [1, 2, 3, 4].every(i => cm.service(i).get(id).status === 'accepted'), { timeoutMs: FALLBACK_MS + 30_000, what: 'the proposal accepted on nodes 1-4' })
    const signers = gossiped.filter(([t, pid]) => t === 'vote:yes' && pid === id).map(([, , s]) => s).sort()
    expect(signers).toEqual([1, 2, 3, 4].map(i => cm.ids[i]).sort())
    for (const i of [1, 2, 3, 4]) expect(cm.service(i).entry(id).qcVoters).toEqual([1, 2, 3, 4].map(k => cm.ids[k]).sort())
  })

  // last: the protocol change is pushed to the peers (identify), whose catch-up then syncs from the node
  it('a node that does not speak the vote protocol (an older version) answers `na`: refused at once, not at the timeout', async () => {
    const vote = (cm.service(2).entry(passed as string).votes.get(cm.ids[2]) ?? [])[0]?.bytes
    expect(vote).toBeDefined()
    await cm.node(3).libp2p.unhandle(CONSENSUS_VOTE_PROTOCOL)
    const t0 = Date.now()
    expect(await sendDirectVote(cm.node(2).libp2p, peerIdFromString(cm.ids[3]), CONSENSUS_VOTE_PROTOCOL, vote as Uint8Array)).toBe(false)
    expect(Date.now() - t0).toBeLessThan(DIRECT_VOTE_TIMEOUT_MS)
  })
})
