/** The serverless federated round protocol as a pure state machine (one JobMachine per job and node). */
export { JobMachine } from './machine.js'
export * from './types.js'
export { ROUND_LIMITS, initialState } from './state.js'
export { median, sealMetrics, usableDeltas, sealedDeltas, roundDeadline, closeDue, checkSeal, sealDigest, type SealCheck } from './rules.js'
