/**
 * Finding who has an artifact: the root (only the root, never each block) is provided on the mesh DHT after an add,
 * and looked up when connected peers do not deliver it to a read or pin. Found providers are dialled; bitswap sends its
 * wantlist to every newly connected peer, so blocks start flowing from them without any per-block lookup.
 */
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { CID } from 'multiformats/cid'
import type { Logger } from '../common/logger.js'

/** Providers dialled per lookup at most. */
const MAX_PROVIDERS = 3

/**
 * In the background: look the root up on the DHT and connect to up to three providers we are not connected to. Ends
 * when `signal` aborts (the read finished or gave up); errors are logged, never thrown.
 */
export function connectToProviders (libp2p: Libp2p, root: CID, signal: AbortSignal, log: Logger): void {
  void (async () => {
    let dialled = 0
    for await (const p of libp2p.contentRouting.findProviders(root, { signal })) {
      if (p.id.equals(libp2p.peerId) || libp2p.getConnections(p.id).length > 0) continue
      try {
        await libp2p.dial(p.multiaddrs.length > 0 ? p.multiaddrs : p.id, { signal })
        if (++dialled >= MAX_PROVIDERS) return
      } catch (err) {
        log.debug({ peer: p.id.toString(), err: (err as Error).message }, 'cannot dial an artifact provider')
      }
    }
  })().catch(err => {
    if (!signal.aborted) log.debug({ cid: root.toString(), err: (err as Error).message }, 'provider lookup failed')
  })
}

/** In the background: dial the named peers we are not connected to (peers known to hold an artifact). */
export function connectToPeers (libp2p: Libp2p, peers: string[], signal: AbortSignal, log: Logger): void {
  for (const id of peers.slice(0, MAX_PROVIDERS)) {
    let peer
    try { peer = peerIdFromString(id) } catch { continue }
    if (peer.equals(libp2p.peerId) || libp2p.getConnections(peer).length > 0) continue
    libp2p.dial(peer, { signal }).catch(err => { log.debug({ peer: id, err: (err as Error).message }, 'cannot dial an artifact holder') })
  }
}

/** Provide a root on the DHT in the background; gives up when `signal` aborts. */
export function provideRoot (libp2p: Libp2p, root: CID, signal: AbortSignal, log: Logger): void {
  libp2p.contentRouting.provide(root, { signal }).catch(err => {
    log.debug({ cid: root.toString(), err: (err as Error).message }, 'DHT provide failed')
  })
}
