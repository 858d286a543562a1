/**
 * Finding who has an artifact: the root (only the root, never each block) is provided on the mesh DHT after an add,
 * and looked up when connected peers do not deliver it to a read or pin. Found providers are dialled; bitswap sends its
 * wantlist to every newly connected peer, so blocks start flowing from them without any per-block lookup.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { CID } from 'multiformats/cid'
import type { Logger } from '../common/logger.js'
import { HINTED_PROVIDER_LOOKUP_DELAY_MS, PROVIDER_LOOKUP_DELAY_MS } from './constants.js'
import type { ArtifactBlockstore, ArtifactNetwork } from './types.js'

/** Providers dialled per lookup at most. */
const MAX_PROVIDERS = 3

/**
 * In the background: look the root up on the DHT and connect to up to three providers we are not connected to. Ends
 * when `signal` aborts (the read finished or gave up); errors are logged, never thrown.
 */
export function connectToProviders (libp2p: ArtifactNetwork, root: CID, signal: AbortSignal, log: Logger): void {
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
export function connectToPeers (libp2p: ArtifactNetwork, peers: string[], signal: AbortSignal, log: Logger): void {
  for (const id of peers.slice(0, MAX_PROVIDERS)) {
    let peer
    try { peer = peerIdFromString(id) } catch { continue }
    if (peer.equals(libp2p.peerId) || libp2p.getConnections(peer).length > 0) continue
    libp2p.dial(peer, { signal }).catch(err => { log.debug({ peer: id, err: (err as Error).message }, 'cannot dial an artifact holder') })
  }
}

/** Provide a root on the DHT in the background; gives up when `signal` aborts. */
export function provideRoot (libp2p: ArtifactNetwork, root: CID, signal: AbortSignal, log: Logger): void {
  libp2p.contentRouting.provide(root, { signal }).catch(err => {
    log.debug({ cid: root.toString(), err: (err as Error).message }, 'DHT provide failed')
  })
}

/** What a provider lookup uses. */
export interface ProviderLookupComponents {
  libp2p: ArtifactNetwork
  /** Where the root lands once a peer delivered it. */
  blockstore: Pick<ArtifactBlockstore, 'has'>
  log: Logger
}

/** Options of a lookup: the read's own. */
export interface ProviderLookupOptions {
  offline?: boolean
  signal?: AbortSignal
  /** Peers known to hold it: dialled at once. */
  providers?: string[]
}

/**
 * Find the root's providers in the background, until the returned controller, `background` or the caller's signal
 * aborts. Connected peers get our wants at once; only when none of them has delivered the root after a short delay
 * does the DHT get asked (in a well-connected mesh it never is). Undefined when offline (nothing to look up).
 */
export function lookUpProviders (c: ProviderLookupComponents, root: CID, opts: ProviderLookupOptions, background: AbortSignal): AbortController | undefined {
  if (opts.offline === true) return undefined
  const ac = new AbortController()
  const signal = AbortSignal.any([ac.signal, background, ...(opts.signal != null ? [opts.signal] : [])])
  const hinted = opts.providers ?? []
  if (hinted.length > 0) connectToPeers(c.libp2p, hinted, signal, c.log)
  const timer = setTimeout(() => {
    c.blockstore.has(root).then(has => {
      if (!has && !signal.aborted) connectToProviders(c.libp2p, root, signal, c.log)
    }, () => {})
  }, hinted.length > 0 ? HINTED_PROVIDER_LOOKUP_DELAY_MS : PROVIDER_LOOKUP_DELAY_MS)
  timer.unref?.()
  signal.addEventListener('abort', () => { clearTimeout(timer) }, { once: true })
  return ac
}
