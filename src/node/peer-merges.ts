/**
 * Peer-store merges that would change nothing are not made again. kad-dht merges a provider's addresses into the peer
 * store on every ADD_PROVIDER it takes (in a small mesh every node is among the closest peers of every key, so each
 * artifact added anywhere is one merge on every node), libp2p merges a connection's protocol on every new stream and
 * the addresses of every peer a DHT answer names. Each merge takes the peer's write lock, decodes its record, builds
 * and encodes the merged one and writes it back, even when it equals what is stored: 4-5% of a node's CPU in a
 * 20-node mesh adding 25 artifacts a second.
 *
 * A merge of addresses and/or protocols only, equal to one this node made for the same peer within `memoryMs`, with no
 * change to that peer's record since (libp2p emits `peer:update` on every change, whoever makes it; deletes go
 * through `delete`), is answered with the peer that merge returned: merging the same addresses and protocols into an
 * unchanged record gives the same record, so nothing is skipped but the write of identical bytes. The peer store's
 * `updated` time is refreshed at the first merge and then at most once per `memoryMs` (5 minutes; a peer record
 * expires after 6 hours without one, and a merge never refreshes an address's own age).
 */
import type { PeerStore, PeerData, Peer, Libp2pEvents, TypedEventTarget } from '@libp2p/interface'

/** How long a merge is remembered. */
export const MERGE_MEMORY_MS = 300_000
/** Peers remembered at most (the oldest are forgotten first); a node keeps up to a few hundred connections. */
const MAX_PEERS = 2048
/** Different merges remembered per peer (the protocols of its streams, its addresses). */
const MAX_PER_PEER = 16

const INSTALLED = Symbol.for('meshnode.peerStore.mergesOnce')

/** What a merge writes, as a string, when it writes addresses and/or protocols only; else undefined (always made). */
export function mergeKey (data: PeerData): string | undefined {
  let key = ''
  for (const [field, value] of Object.entries(data)) {
    if (value === undefined) continue
    if (field === 'multiaddrs' && Array.isArray(value)) key += 'm:' + value.map(String).join(',') + ';'
    else if (field === 'protocols' && Array.isArray(value)) key += 'p:' + value.join(',') + ';'
    else return undefined
  }
  return key === '' ? undefined : key
}

interface Remembered { at: number, peer: Peer }
/** What this node knows of one peer's record: the last change libp2p announced, and the merges made since. */
interface PeerState { lastUpdate?: Peer | typeof DELETED, merges: Map<string, Remembered> }
/** A peer's last change when that change was its deletion. */
const DELETED = Symbol('deleted')

/**
 * Make `peerStore.merge` skip repeats (see above). `events` is the libp2p event target its `peer:update` events reach.
 * Idempotent per peer store.
 */
export function skipRepeatedMerges (peerStore: PeerStore, events: Pick<TypedEventTarget<Libp2pEvents>, 'addEventListener'>, now: () => number = Date.now, memoryMs = MERGE_MEMORY_MS): void {
  if (Reflect.get(peerStore, INSTALLED) === true) return
  Reflect.set(peerStore, INSTALLED, true)
  const peers = new Map<string, PeerState>()
  const stateOf = (peerKey: string): PeerState => {
    let state = peers.get(peerKey)
    if (state == null) {
      if (peers.size >= MAX_PEERS) peers.delete(peers.keys().next().value as string)
      state = { merges: new Map() }
      peers.set(peerKey, state)
    }
    return state
  }
  const changed = (evt: CustomEvent<{ peer: Peer }>): void => {
    const state = stateOf(evt.detail.peer.id.toString())
    state.merges.clear()
    state.lastUpdate = evt.detail.peer
  }
  events.addEventListener('peer:update', changed)
  events.addEventListener('self:peer:update', changed)
  const { merge, delete: remove } = peerStore
  peerStore.delete = async function (id, options) {
    const state = stateOf(id.toString())
    state.merges.clear()
    state.lastUpdate = DELETED
    await remove.call(this, id, options)
  }
  peerStore.merge = async function (id, data, options) {
    const key = mergeKey(data)
    if (key == null) return await merge.call(this, id, data, options)
    const peerKey = id.toString()
    const before = peers.get(peerKey)
    const lastBefore = before?.lastUpdate
    const seen = before?.merges.get(key)
    const t = now()
    if (seen != null && t - seen.at < memoryMs) return seen.peer
    const peer = await merge.call(this, id, data, options)
    // remembered only when the record is what this merge left: no change announced since it began, or its own last
    const lastAfter = peers.get(peerKey)?.lastUpdate
    if (lastAfter === lastBefore || lastAfter === peer) {
      const merges = stateOf(peerKey).merges
      merges.delete(key)
      if (merges.size >= MAX_PER_PEER) merges.delete(merges.keys().next().value as string)
      merges.set(key, { at: t, peer })
    }
    return peer
  }
}
