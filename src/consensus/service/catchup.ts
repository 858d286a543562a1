/**
 * Catching up: the sync stream's server side (`SyncSource`: finalized epochs with everything needed to check them,
 * open proposals with their votes) and its client side, which checks every QC itself (under the snapshot each names)
 * before applying an epoch, so a node that was away reaches the same tables as everyone else.
 */
import type { PeerId } from '@libp2p/interface'
import { ConsensusError } from '../errors.js'
import { verifyQc, type OpenedVote, type QcVerdict, type VoteVerifier } from '../core/qc.js'
import { cidOf } from '../protocol/canonical.js'
import { proposalId } from '../protocol/records.js'
import type { Qc } from '../protocol/schemas.js'
import { CONSENSUS_SYNC_PROTOCOL } from '../protocol/topic.js'
import { checkVoteBls, openConsensusRecord, openVote } from '../protocol/verify.js'
import { heldVotes, qcOf, type Entry } from './entry.js'
import { OpenedVotes, openedVote, peekVoter } from './opened-votes.js'
import { EPOCH_KIND, type EpochPayload } from './epochs.js'
import type { Ingest } from './ingest.js'
import { ServiceEvidence } from './evidence.js'
import type { ConsensusService } from './service.js'
import { ops } from './store.js'
import { requestSync, type EpochBundle, type OpenBundle, type SyncSource } from './sync.js'

/** The signature check of a QC's votes on `network`. */
export function voteVerifier (network: string): VoteVerifier {
  return async (bytes: Uint8Array): Promise<OpenedVote> => openedVote(await openVote(bytes, network))
}

/**
 * The distinct voters of a QC's valid yes votes on `id`, sorted (`verify`: a verifier that opened them already); of an
 * aggregate QC (verified when it was taken), its voters.
 */
export async function qcVoters (qc: Qc, id: string, network: string, verify = voteVerifier(network)): Promise<string[]> {
  if (qc.aggregate != null) return [...qc.aggregate.voters].sort()
  const voters = new Set<string>()
  for (const v of qc.votes) {
    const r = await Promise.resolve(verify(v)).catch(() => undefined)
    if (r != null && r.proposalId === id && r.choice === 'yes' && r.prevote !== true) voters.add(r.voter)
  }
  return [...voters].sort()
}

/** The entry holding exactly these proposal bytes, if any (indexed by the envelope's last 32 bytes, its signature's). */
export function heldProposals (entries: Iterable<Entry>): (bytes: Uint8Array) => Entry | undefined {
  const tail = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset + Math.max(0, b.byteLength - 32), Math.min(32, b.byteLength)).toString('latin1')
  const index = new Map<string, Entry[]>()
  for (const e of entries) index.set(tail(e.bytes), [...(index.get(tail(e.bytes)) ?? []), e])
  return bytes => index.get(tail(bytes))?.find(e => Buffer.compare(e.bytes, bytes) === 0)
}

/**
 * A sync from one peer still running after this many exchanges' time is reported with the step it is in: each exchange
 * is bounded (sync.ts), and a step that never returned would hold every later sync (`syncAll` joins the one in flight).
 */
const SLOW_SYNC_EXCHANGES = 6

/** The longest wait between stalled-chain syncs that bring nothing, in beats (see `CatchUp.stalledBeats`). */
const MAX_STALLED_BEATS = 8

/** Serving and fetching what a node missed. */
export class CatchUp implements SyncSource {
  syncing?: Promise<void>
  /** The last failed exchange's error (for the logs and tests). */
  lastFailure?: string
  private lastRound = 0
  /**
   * Beats between stalled-chain syncs. A round in which every peer answered and nothing was new doubles it (up to
   * MAX_STALLED_BEATS): a mesh whose electorate is away is stalled until it comes back, and each of its idle nodes
   * synced from every peer every minute. A failed sync, anything new, a new peer or a moving chain bring it back to
   * one beat.
   */
  private stalledBeats = 1
  private failures = 0

  constructor (private readonly s: ConsensusService, private readonly i: Ingest) {}

  async epochBundle (epoch: number): Promise<EpochBundle | undefined> {
    const entry = this.s.chain.entries[epoch - 1]
    const ep = entry != null ? this.i.entries.get(entry.proposalId) : undefined
    if (entry == null || ep?.qc == null) return undefined
    const p = ep.proposal.payload as EpochPayload
    const keyed = new Set<string>()
    const items: EpochBundle['items'] = []
    for (const { id, voters } of p.accepted) {
      const x = this.i.entries.get(id)
      if (x != null) items.push({ proposal: x.bytes, qc: await this.certificate(x, voters, keyed) ?? qcOf(x, voters) })
    }
    const evidence = p.evidence.flatMap(id => { const ev = this.i.evidence.get(id); return ev == null ? [] : [ev.pair] })
    const qc = await this.certificate(ep, ep.qcVoters ?? [], keyed) ?? ep.qc
    const bindings = [...keyed].sort().flatMap(v => this.i.bls.bindingVote(v) ?? [])
    return { t: 'epoch', proposal: ep.bytes, qc, items, evidence, ...(bindings.length > 0 ? { bindings } : {}) }
  }

  /**
   * The aggregate QC to sync for an entry (one check for the asker, once it knows the voters' keys): the one held, or
   * built here from the voters' BLS votes (above the threshold, checked once and kept), when this node holds a binding
   * vote of every voter or holds no vote list; undefined: sync the vote list. The voters are added to `keyed` (their
   * binding votes go with the bundle).
   */
  private async certificate (x: Entry, voters: readonly string[], keyed: Set<string>): Promise<Qc | undefined> {
    const aggregate = this.i.bls.get(x.id) ?? x.qc?.aggregate ??
      await this.i.bls.aggregate(x.id, voters, this.s.chain.snapshot(x.proposal.snapshot), this.s.electorateOf(x.proposal).weights.keys()).catch(() => undefined)
    if (aggregate == null) return undefined
    if (x.qc?.aggregate == null && aggregate.voters.some(v => this.i.bls.bindingVote(v) == null)) return undefined
    for (const v of aggregate.voters) keyed.add(v)
    return { proposalId: x.id, epoch: x.proposal.snapshot, votes: [], aggregate: { voters: [...aggregate.voters], signature: aggregate.signature } }
  }

  openBundles (): OpenBundle[] {
    return [...this.i.entries.values()].filter(e => e.epoch == null && (e.status === 'pending' || e.status === 'accepted')).map(e => ({
      t: 'open',
      proposal: e.bytes,
      votes: [...[...e.votes.values()].flat(), ...e.prevotes.values()].map(v => v.bytes),
      vetoes: [...e.vetoes.values()].map(v => v.bytes)
    }))
  }

  readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    if (!evt.detail.protocols.includes(CONSENSUS_SYNC_PROTOCOL)) return
    this.stalledBeats = 1
    void this.syncFrom(evt.detail.peerId)
  }

  /** Sync from every connected peer in turn (one sync at a time; a call while one runs joins it). */
  async syncAll (): Promise<void> {
    this.lastRound = this.s.c.clock.now()
    // cleared in a `.finally` callback, which always runs after this assignment: an async body that cleared it itself
    // ran to its end synchronously when there was no peer (every node's first sync, at start), then the assignment
    // kept that settled promise for good and every later sync joined it and did nothing
    this.syncing ??= this.syncEachPeer().finally(() => { this.syncing = undefined })
    await this.syncing
  }

  /**
   * A sync asked for by a record that arrived (a proposal naming an epoch this chain has not reached, an accepted epoch
   * listing records not held here): joins a round in flight, else starts one unless one started within a sync timeout
   * (such records come once per vote and per beat; the next one asks again).
   */
  async syncSoon (): Promise<void> {
    if (this.syncing == null && this.s.c.clock.now() - this.lastRound < this.s.init.syncTimeoutMs) return
    await this.syncAll()
  }

  private async syncEachPeer (): Promise<void> {
    for (const peer of this.s.c.libp2p.getPeers()) await this.syncFrom(peer)
  }

  /**
   * Sync again when the chain has not moved for three beats (a sync that failed, an epoch this node missed while its
   * peers moved on), at most once per beat. A chain whose electorate is empty (the default genesis names nobody) has
   * no leader and never moves, here or at any peer: it is not behind, and its rounds were up to 13 syncs a minute
   * (two streams each) per idle node of a 20-node mesh (`bench/soak.ts`).
   */
  async syncIfStalled (): Promise<void> {
    if (this.s.chain.leader(0) == null) return
    const now = this.s.c.clock.now()
    const beat = this.s.init.epochIntervalMs
    if (now - this.s.chain.lastAt < 3 * beat) { this.stalledBeats = 1; return }
    if (now - this.lastRound < this.stalledBeats * beat) return
    const before = `${this.s.chain.epoch}/${this.i.entries.size}/${this.failures}`
    await this.syncAll()
    const quiet = before === `${this.s.chain.epoch}/${this.i.entries.size}/${this.failures}`
    this.stalledBeats = quiet ? Math.min(MAX_STALLED_BEATS, this.stalledBeats * 2) : 1
  }

  /** Fetch finalized epochs (checking every QC) and then open proposals from one peer. */
  async syncFrom (peer: PeerId): Promise<void> {
    const { syncTimeoutMs } = this.s.init
    let step = 'asking for epochs'
    const slow = setTimeout(() => {
      this.s.c.logger.warn({ peer: peer.toString(), step, afterMs: SLOW_SYNC_EXCHANGES * syncTimeoutMs }, 'consensus sync from a peer is still running')
    }, SLOW_SYNC_EXCHANGES * syncTimeoutMs)
    try {
      for (;;) {
        const from = this.s.chain.epoch + 1
        step = `asking for epochs from ${from}`
        const frames = await requestSync(this.s.c.libp2p, peer, CONSENSUS_SYNC_PROTOCOL, { op: 'epochs', from }, syncTimeoutMs)
        step = `applying epochs from ${from}`
        for (const f of frames) if (f.t === 'epoch') await this.adoptEpoch(f)
        if (frames.length === 0 || this.s.chain.epoch < from) break
      }
      step = 'asking for open proposals'
      const open = await requestSync(this.s.c.libp2p, peer, CONSENSUS_SYNC_PROTOCOL, { op: 'open' }, syncTimeoutMs)
      step = `taking in ${open.length} open proposals`
      const held = heldProposals(this.i.entries.values())
      let fresh = 0
      for (const f of open) {
        if (f.t !== 'open') continue
        // the answer repeats every open proposal with all its votes (accepted ones stay open until an epoch lists
        // them): what this node holds byte for byte was verified when it arrived, so only the rest is opened
        const e = held(f.proposal)
        const hasVote = e != null ? heldVotes(e, true) : () => false
        const records = [...(e == null ? [f.proposal] : []), ...f.votes.filter(v => !hasVote(v)), ...f.vetoes]
        fresh += records.length
        for (const bytes of records) await this.i.ingestBytes(bytes).catch(() => {})
      }
      this.s.c.logger.debug({ peer: peer.toString(), open: open.length, fresh }, 'consensus sync done')
      this.s.c.metrics?.syncs.inc({ result: 'ok' })
    } catch (err) {
      this.failures++
      this.s.c.metrics?.syncs.inc({ result: 'failed' })
      this.lastFailure = (err as Error).message
      this.s.c.logger.debug({ err: (err as Error).message, peer: peer.toString() }, 'consensus sync failed')
    } finally {
      clearTimeout(slow)
    }
  }

  /** Check one synced epoch bundle (its QC and every listed proposal's QC, under their snapshots) and apply it. */
  private async adoptEpoch (b: EpochBundle): Promise<void> {
    const opened = await openConsensusRecord(b.proposal, this.s.network)
    if (opened.type !== 'proposal' || opened.record.payload.kind !== EPOCH_KIND) throw new ConsensusError('ERR_RECORDS', 'sync sent a non-epoch proposal as an epoch')
    const p = opened.record.payload.payload as EpochPayload
    const snapshot = opened.record.payload.snapshot
    // each vote is verified once, for the QC check, its voters and the ingest (opened-votes.ts)
    const votes = new OpenedVotes(this.s.network)
    if (p.epoch <= this.s.chain.epoch && snapshot === p.epoch - 1) {
      // an epoch final here: never re-applied; one with a valid QC and other content is reported (core/epoch-lock.ts)
      const id = proposalId(opened.record.payload)
      if (b.qc.aggregate != null) await this.learnKeys(b.bindings ?? [], votes)
      if (!await this.assertQc(id, b.qc, { snapshot, votes }).then(() => true, () => false)) return
      // the same epoch (one this node applied as it came, from votes gossiped to it): its verified aggregate is kept
      if (this.s.chain.entries[p.epoch - 1]?.proposalId === id) { if (b.qc.aggregate != null) this.i.bls.adopt(id, b.qc.aggregate) } else this.s.epochConflict(p.epoch, id, p)
      return
    }
    if (p.epoch !== this.s.chain.epoch + 1 || snapshot !== this.s.chain.epoch) return
    await this.learnKeys(b.bindings ?? [], votes)
    const epochQc = await this.assertQc(proposalId(opened.record.payload), b.qc, { votes })
    for (const item of b.items) {
      const o = await openConsensusRecord(item.proposal, this.s.network)
      if (o.type !== 'proposal') throw new ConsensusError('ERR_RECORDS', 'sync sent a non-proposal item')
      const id = proposalId(o.record.payload)
      if (!p.accepted.some(a => a.id === id)) continue
      if (o.record.payload.snapshot > this.s.chain.epoch) throw new ConsensusError('ERR_RECORDS', `proposal ${id} names a future snapshot`)
      const verdict = await this.assertQc(id, item.qc, { snapshot: o.record.payload.snapshot, restricted: this.s.kinds.electorate(o.record.payload), votes })
      if (!this.i.entries.has(id)) await this.i.ingestBytes(item.proposal)
      await this.takeQcVotes(id, item.qc, votes)
      await this.adoptQc(id, item.qc, verdict, votes)
    }
    for (const pair of b.evidence) {
      const id = cidOf(ServiceEvidence.of(pair))
      if (!this.i.evidence.has(id)) { await this.i.keepEvidence(id, ServiceEvidence.of(pair)); await this.s.write([ops.evidence(id, ServiceEvidence.of(pair))]) }
    }
    await this.i.ingestBytes(b.proposal)
    await this.takeQcVotes(proposalId(opened.record.payload), b.qc, votes)
    const e = this.i.entries.get(proposalId(opened.record.payload))
    if (e != null) {
      await this.adoptQc(e.id, b.qc, epochQc, votes)
      await this.i.applyEpoch(e)
    }
  }

  /**
   * A verified QC settles its proposal here too: a proposal first seen after its window closed (this node was away)
   * was tallied as expired before its votes arrived, but 2/3 of its snapshot's weight signed it in time. An acceptance
   * learned here is reported like one tallied here (event and metric), so `/v1/events` watchers see it too.
   */
  private async adoptQc (id: string, qc: Qc, verdict: QcVerdict, votes: OpenedVotes): Promise<void> {
    const e = this.i.entries.get(id)
    if (e == null) return
    // verified: kept even beside a vote list this node tallied itself (votes that reached it by gossip as it came back),
    // so the QC it serves in its turn is the aggregate
    if (qc.aggregate != null) this.i.bls.adopt(id, qc.aggregate)
    if (e.qc != null) return
    const before = e.status
    e.qc = qc
    e.qcVoters = await qcVoters(qc, id, this.s.network, votes.verify)
    e.status = 'accepted'
    await this.s.write([ops.qc(qc), ops.entry(e)])
    this.s.archive.keep(e)
    if (before === 'accepted') return
    this.s.c.metrics?.proposals.inc({ status: 'accepted' })
    this.s.c.events.emit('proposal.accepted', { id, kind: e.proposal.kind, yes: String(verdict.yes), quorum: String(verdict.quorum) })
  }

  /**
   * Learn the BLS keys of a bundle's aggregate QCs: the binding vote of each voter whose key is not known here is
   * verified (its Ed25519 signature binds the key to the voter, `checkVoteBls` its proof of possession) and taken in.
   */
  private async learnKeys (bindings: readonly Uint8Array[], votes: OpenedVotes): Promise<void> {
    for (const bytes of bindings) {
      const voter = peekVoter(bytes)
      if (voter != null && this.i.bls.ring.get(voter) != null) continue
      const record = await votes.open(bytes)
      if (record?.payload.bls == null) continue
      try { checkVoteBls(record.payload, this.i.bls.ring) } catch { continue }
      this.i.seed({ type: 'vote', record })
      await this.i.ingest({ type: 'vote', record })
    }
  }

  /** A synced QC's votes, taken in as one batch on its (known) proposal, each opened once (`votes`). */
  private async takeQcVotes (id: string, qc: Qc, votes: OpenedVotes): Promise<void> {
    const e = this.i.entries.get(id)
    if (e == null) return
    const records = await votes.records(qc.votes)
    for (const r of records) this.i.seed(r)
    await this.i.takeVotes(e, records)
  }

  /**
   * Verify a QC this node did not assemble, under the snapshot it names (default: the head; `restricted`: a kind's
   * electorate; `votes`: the envelopes opened so far), ERR_QC when it falls short.
   */
  private async assertQc (id: string, qc: Qc, opts: { snapshot?: number, restricted?: readonly string[], votes?: OpenedVotes } = {}): Promise<QcVerdict> {
    const snapshot = opts.snapshot ?? this.s.chain.epoch
    if (qc.proposalId !== id || qc.epoch !== snapshot) throw new ConsensusError('ERR_QC', `QC does not belong to ${id} at epoch ${snapshot}`)
    // a kind's restricted electorate (a round's, for model-update) is the QC's denominator, as in the tally
    const electorate = opts.restricted ?? this.s.chain.electorate(snapshot).weights.keys()
    const verdict = await verifyQc(qc, this.s.chain.snapshot(snapshot), {
      verify: opts.votes?.verify ?? voteVerifier(this.s.network),
      electorate,
      bls: { network: this.s.network, keys: id => this.i.bls.ring.get(id) }
    })
    if (!verdict.ok) throw new ConsensusError('ERR_QC', `QC for ${id} counts ${verdict.yes} of the ${verdict.quorum} needed`)
    return verdict
  }
}
