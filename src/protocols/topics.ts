/**
 * Gossip topic names, stream protocol ids and signing domains: the wire contract in one place.
 * Topics are `meshnode/<name>/<major>`; stream protocols `/meshnode/<name>/<semver>`.
 */
export const TOPICS = {
  hardware: 'meshnode/hardware/1',
  artifacts: 'meshnode/artifacts/1',
  training: 'meshnode/training/1'
} as const

export type TopicName = typeof TOPICS[keyof typeof TOPICS]

/** Signing domains: a signature made for one of these never verifies under another. */
export const DOMAINS = {
  hardware: 'meshnode/hardware-record',
  artifact: 'meshnode/artifact-announce',
  training: 'meshnode/training-message'
} as const

export const PROTOCOLS = {
  hardware: '/meshnode/hardware/1.0.0',
  bandwidth: '/meshnode/bandwidth/1.0.0',
  kad: '/meshnode/kad/1.0.0'
} as const
