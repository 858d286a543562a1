/**
 * Announcements: the gossip side of the artifact registry. Our own artifacts are signed (the record that is both
 * their provenance in the registry and their announcement) and published on `ARTIFACT_TOPIC`; peers' announcements
 * are validated by the record's spec and remembered as known remote artifacts (never fetched), up to
 * `maxRemoteEntries` of them.
 */
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Clock } from '../common/clock.js'
import type { EventSink } from '../common/events.js'
import type { Logger } from '../common/logger.js'
import type { SignedRecord } from '../protocols/envelope.js'
import type { GossipProcessor, GossipTopicHandler } from '../protocols/gossip.js'
import { ReplayGuard, SeqSource } from '../protocols/replay.js'
import { signArtifactRecord, validateArtifactGossip, type ArtifactMeta } from './protocol/artifact-record.js'
import { ARTIFACT_TOPIC } from './protocol/topic.js'
import type { StorageEvents } from './events.js'
import type { StorageMetrics } from './metrics.js'
import type { ArtifactRegistry, RegistryEntry } from './registry.js'
import type { ArtifactTally } from './tally.js'
import type { ArtifactStoreInit } from './types.js'

/** What `artifactAnnounceHandler` needs. */
export interface AnnounceHandlerInit {
  guard: ReplayGuard
  /** Consume a verified announcement from another peer. */
  remember: (rec: SignedRecord<ArtifactMeta>) => Promise<void>
}

/** The gossip handler for `ARTIFACT_TOPIC`: validation by the record's spec, delivery to `remember`. */
export function artifactAnnounceHandler (init: AnnounceHandlerInit): GossipTopicHandler<SignedRecord<ArtifactMeta>> {
  return {
    topic: ARTIFACT_TOPIC,
    validate: async (data, ctx) => await validateArtifactGossip(data, ctx.propagationSource, init.guard),
    deliver: async rec => { await init.remember(rec) }
  }
}

/** What the announcements use. */
export interface AnnouncementsComponents {
  privateKey: PrivateKey
  registry: Pick<ArtifactRegistry, 'putEntry' | 'commit'>
  tally: ArtifactTally
  clock: Clock
  log: Logger
  gossip?: Pick<GossipProcessor, 'register' | 'publish'>
  events?: EventSink<StorageEvents>
  metrics?: StorageMetrics
}

/** The replay window and the bound on remembered remote entries. */
export type AnnouncementsInit = Pick<Required<ArtifactStoreInit>, 'recordMaxAgeMs' | 'recordMaxSkewMs' | 'maxRemoteEntries'>

/** A registry entry for one of our artifacts, and its signed record (to publish). */
export interface SignedEntry { entry: RegistryEntry, record: Uint8Array }

/** Signing and publishing our artifact records; validating and remembering peers'. */
export class Announcements {
  /** Our peer id: the producer of every record we sign. */
  readonly self: string
  private readonly seq: SeqSource
  private readonly guard: ReplayGuard
  /** Per CID, the tail of its announcements being remembered: one at a time, so two never both count as new. */
  private readonly remembering = new Map<string, Promise<void>>()

  constructor (private readonly c: AnnouncementsComponents, private readonly init: AnnouncementsInit) {
    this.self = peerIdFromPrivateKey(c.privateKey).toString()
    this.seq = new SeqSource(c.clock)
    this.guard = new ReplayGuard(c.clock, { maxAgeMs: init.recordMaxAgeMs, maxSkewMs: init.recordMaxSkewMs })
  }

  /** Listen for peers' announcements (no-op without a gossip processor; the node unregisters by stopping it). */
  listen (): void {
    this.c.gossip?.register(artifactAnnounceHandler({ guard: this.guard, remember: async rec => { await this.remember(rec) } }))
  }

  /** Sign `meta` (produced by us) and build its local registry entry; nothing is written or published yet. */
  async sign (meta: ArtifactMeta): Promise<SignedEntry> {
    const seq = this.seq.next()
    const record = await signArtifactRecord(this.c.privateKey, seq, meta)
    return { record, entry: { meta, record: Buffer.from(record).toString('base64'), seq, local: true, receivedAt: this.c.clock.now() } }
  }

  /** Publish one of our records in the background: an add never waits for the network. */
  publish (record: Uint8Array): void {
    const gossip = this.c.gossip
    if (gossip == null) return
    gossip.publish(ARTIFACT_TOPIC, record).then(
      () => { this.c.metrics?.announcements.inc({ result: 'published' }) },
      err => { this.c.metrics?.announcements.inc({ result: 'publish_failed' }); this.c.log.debug({ err: (err as Error).message }, 'artifact announcement not published') })
  }

  /** Remember a verified announcement from a peer as a known remote artifact. */
  async remember (rec: SignedRecord<ArtifactMeta>): Promise<void> {
    if (rec.signer === this.self) return
    const cid = rec.payload.cid
    const run = (this.remembering.get(cid) ?? Promise.resolve()).then(async () => { await this.rememberNow(rec) })
    const tail = run.catch(() => {})
    this.remembering.set(cid, tail)
    try {
      await run
    } finally {
      if (this.remembering.get(cid) === tail) this.remembering.delete(cid)
    }
  }

  private async rememberNow (rec: SignedRecord<ArtifactMeta>): Promise<void> {
    const { registry, tally, metrics } = this.c
    const meta = rec.payload
    // the tally mirrors the registry's entries (loaded at start, updated at every commit): no Level read per receipt
    const existing = tally.entry(meta.cid)
    // a local copy keeps its entry; among remote ones the newest record wins
    if (existing?.local === true || (existing != null && existing.seq >= rec.seq)) {
      metrics?.announcements.inc({ result: 'duplicate' })
      return
    }
    if (existing == null && tally.remote >= this.init.maxRemoteEntries) {
      metrics?.announcements.inc({ result: 'dropped' })
      this.c.log.debug({ cid: meta.cid }, 'known-artifact table full: announcement dropped')
      return
    }
    const entry: RegistryEntry = { meta, record: Buffer.from(rec.bytes).toString('base64'), seq: rec.seq, local: false, receivedAt: this.c.clock.now() }
    await registry.commit([registry.putEntry(entry)])
    tally.replace(existing, entry)
    metrics?.announcements.inc({ result: 'remembered' })
    this.c.events?.emit('artifact.announced', { cid: meta.cid, name: meta.name, kind: meta.kind, size: meta.size, producer: meta.producer, job: meta.job, round: meta.round })
    tally.refresh()
  }
}
