/**
 * The storage subsystem's public face: the Level state store, the node's stores and Helia on the node's libp2p, and
 * the artifact store (UnixFS artifacts with signed provenance, pins, GC, quota, gossip announcements), with its wire
 * record, its request/response schemas, options, errors, events and metrics.
 */
export { StateStore, openState, type StateOp, type StateSublevel, type Migration, type OpenStateOptions, type JsonValue } from './level.js'
export { openStorage, startHelia, type Storage, type OpenStorageInit, type StartHeliaInit, type MeshHelia } from './helia.js'
export { MeteredBlockstore } from './metered-blockstore.js'
export { ArtifactStore, artifactStore } from './artifacts.js'
export { parseCid } from './util.js'
export { pinBlocks } from './pins.js'
export { artifactAnnounceHandler, type AnnounceHandlerInit } from './announcements.js'
export * from './protocol/artifact-record.js'
export * from './protocol/topic.js'
export * from './api-schemas.js'
export { createStorageMetrics, type StorageMetrics } from './metrics.js'
export * from './types.js'
export * from './constants.js'
export { StorageOptionsSchema, defaultStorageOptions, type StorageOptions } from './options.js'
export { StorageError, STORAGE_ERRORS, type StorageErrorCode } from './errors.js'
export { storageEvents, type StorageEvents } from './events.js'
