/**
 * The artifact announcement's wire names. They are part of the wire format: changing either string splits the mesh
 * (a topic nobody else listens to, signatures nobody else verifies).
 */
import { topicName } from '../../protocols/topics.js'

/** The gossip topic artifact announcements travel on: `meshnode/artifacts/1`. */
export const ARTIFACT_TOPIC = topicName('artifacts', 1)

/** The signing domain of artifact announcements: a signature made for another record never verifies as one. */
export const ARTIFACT_DOMAIN = 'meshnode/artifact-announce'
