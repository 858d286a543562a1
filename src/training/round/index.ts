/** The serverless federated round protocol as a pure state machine (one JobMachine per job and node). */
export { JobMachine } from './machine.js'
export * from './types.js'
export { sealMetrics } from './rules.js'
