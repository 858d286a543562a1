/** The consensus subsystem's entries of the node's event map (`/v1/events`). */
import { Type } from '@sinclair/typebox'
import { defineEvents, type EventsOf } from '../common/events.js'

const Id = Type.String({ description: 'proposal id (CID)' })
const Kind = Type.String({ description: 'proposal kind' })

/** Proposal lifecycle and epoch chain events. */
export const consensusEvents = defineEvents({
  /** A proposal was created here or arrived from a peer. */
  'proposal.created': Type.Object({ id: Id, kind: Kind, proposer: Type.String(), expiresAt: Type.Integer() }),
  /** A valid vote was counted. */
  'proposal.voted': Type.Object({ id: Id, voter: Type.String(), choice: Type.String() }),
  /** A proposal reached its QC (it executes once its veto window closed). */
  'proposal.accepted': Type.Object({ id: Id, kind: Kind, yes: Type.String(), quorum: Type.String() }),
  /** Yes can no longer reach 2/3. */
  'proposal.rejected': Type.Object({ id: Id, kind: Kind }),
  /** The window closed without a QC. */
  'proposal.expired': Type.Object({ id: Id, kind: Kind }),
  /** k-of-n guardians vetoed it. */
  'proposal.vetoed': Type.Object({ id: Id, kind: Kind, vetoes: Type.Integer() }),
  /** An accepted proposal's executor ran on this node. */
  'proposal.executed': Type.Object({ id: Id, kind: Kind }),
  /** An epoch of the chain was finalized: the new reputation table and its hash. */
  'epoch.finalized': Type.Object({ epoch: Type.Integer(), hash: Type.String(), proposalId: Id, records: Type.Integer() }),
  /**
   * A QC'd epoch proposal with other content than the epoch finalized here (never applied): proof that voters of at
   * least 1/3 of the weight signed yes on both; `doubleSigners` are those whose yes on both is held here.
   */
  'epoch.conflict': Type.Object({ epoch: Type.Integer(), finalized: Id, conflicting: Id, doubleSigners: Type.Array(Type.String()) })
})

export type ConsensusEvents = EventsOf<typeof consensusEvents>
