/**
 * Reads that name the peers holding an artifact (a delta's producer) ask those peers alone first, through a bitswap
 * session, instead of broadcasting the want to every connected peer (read.ts says why and how long).
 */
import { unixfs, type UnixFS } from '@helia/unixfs'
import type { CID } from 'multiformats/cid'
import { namedPeers } from './providers.js'
import type { ArtifactHelia } from './types.js'

/** A UnixFS view over a session with the named peers; `close` ends the session and what it still asks. */
export interface HintedSession {
  fs: UnixFS
  close: () => void
}

/** A session with the peers in `providers` (as `namedPeers` reads them), or undefined when none is usable. */
export function hintedSession (helia: Pick<ArtifactHelia, 'blockstore'>, root: CID, providers: readonly string[] | undefined): HintedSession | undefined {
  const createSession = helia.blockstore.createSession?.bind(helia.blockstore)
  if (createSession == null || providers == null) return undefined
  const peers = namedPeers(providers).map(p => p.toCID())
  if (peers.length === 0) return undefined
  const blockstore = createSession(root, { providers: peers })
  return { fs: unixfs({ blockstore }), close: () => { blockstore.close() } }
}
