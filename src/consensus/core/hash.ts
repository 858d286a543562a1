/**
 * The reputation hash: lowercase hex SHA-256 of the canonical CBOR of the table, `[epoch, [[peerId, score, since],
 * ...]]` sorted by peer id, scores as decimal strings (any size, one spelling). Equal tables hash equal on every node,
 * whatever order their maps were filled in; nodes compare it to prove they agree.
 */
import { canonicalBytes, sha256 } from '../protocol/canonical.js'
import type { ReputationTable } from './weights.js'

/** The canonical bytes the hash is taken over. */
export function reputationTableBytes (table: ReputationTable): Uint8Array {
  const rows = [...table.peers.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([peer, e]) => [peer, e.score.toString(), e.since])
  return canonicalBytes([table.epoch, rows])
}

/** The table's hash, lowercase hex. */
export function reputationHash (table: ReputationTable): string {
  return Buffer.from(sha256(reputationTableBytes(table))).toString('hex')
}
