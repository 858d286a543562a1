/** The training wire protocol: message schemas and types, job ids, checks, and envelope encoding. */
export * from './messages.js'
export * from './job-id.js'
export { checkCid, checkJobSpec, checkTrainingMessage } from './checks.js'
export { encodeTrainingMessage, decodeTrainingMessage, checkTrainingPayload } from './codec.js'
