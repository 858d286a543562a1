/**
 * The training protocol: the job contract (schemas, limits, cross-field rules), the requests the service takes, the
 * wire messages, job ids, and the signed-record spec the gossip validator opens messages with.
 */
export * from './limits.js'
export * from './job-schema.js'
export * from './requests.js'
export * from './job-check.js'
export * from './hyperparams.js'
export * from './reward-payout.js'
export * from './messages.js'
export * from './job-id.js'
export * from './topic.js'
export { checkCid, checkTrainingMessage, stopIssue } from './checks.js'
export { TRAINING_RECORD, parseTrainingMessage, encodeTrainingMessage, decodeTrainingMessage, validateTrainingGossip } from './record.js'
