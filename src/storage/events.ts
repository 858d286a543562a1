/** The storage subsystem's entries of the node's event map (`/v1/events`). */
import { Type } from '@sinclair/typebox'
import { defineEvents, type EventsOf } from '../common/events.js'

const Cid = Type.String({ description: 'UnixFS root CID' })
const Job = Type.Optional(Type.String())
const Round = Type.Optional(Type.Integer())

/** The storage events and their payload schemas. */
export const storageEvents = defineEvents({
  /** An artifact was added on this node. */
  'artifact.added': Type.Object({ cid: Cid, name: Type.String(), kind: Type.String(), size: Type.Integer(), job: Job, round: Round }),
  /** An artifact was fetched and pinned here. */
  'artifact.pinned': Type.Object({ cid: Cid, name: Type.String(), size: Type.Integer() }),
  /** An artifact was unpinned and forgotten here. */
  'artifact.removed': Type.Object({ cid: Cid }),
  /** A peer announced an artifact (verified). */
  'artifact.announced': Type.Object({ cid: Cid, name: Type.String(), kind: Type.String(), size: Type.Integer(), producer: Type.String(), job: Job, round: Round })
})

/** The storage events' payload types (what `EventSink<StorageEvents>` accepts). */
export type StorageEvents = EventsOf<typeof storageEvents>
