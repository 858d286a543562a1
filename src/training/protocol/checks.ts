/**
 * The rules of a schema-valid training message that its schema cannot state: a job's id and creator, the job
 * contract's cross-field rules (job-check.ts), CIDs in canonical form, a seal's ordering, and a promise's lock.
 * Pure; throws GossipValidationError('reject', code, ...) with codes ERR_BOUNDS, ERR_CID, ERR_ORDER, ERR_DUPLICATE,
 * ERR_JOB_ID, ERR_SIGNER.
 */
import { CID } from 'multiformats/cid'
import { GossipValidationError } from '../../common/errors.js'
import { compareIds } from '../core/aggregate.js'
import { jobSpecIssue } from './job-check.js'
import { jobIdOf } from './job-id.js'
import type { JobSpec, JobStop, TrainingMessage } from './messages.js'

function reject (code: string, message: string): never {
  throw new GossipValidationError('reject', code, message)
}

/** Throws ERR_CID unless `s` parses as a CID in its canonical CIDv1 base32 form. */
export function checkCid (s: string, what: string): void {
  let cid: CID
  try {
    cid = CID.parse(s)
  } catch {
    reject('ERR_CID', `${what} does not parse as a CID`)
  }
  if (cid.version !== 1 || cid.toString() !== s) reject('ERR_CID', `${what} is not a canonical CIDv1 base32 string`)
}

/**
 * Check a schema-valid message signed by `signer`. A job's id must be the hash of its spec and its creator the signer
 * (nobody announces jobs in someone else's name); a seal's deltas must be strictly ascending by cid, one per peer; a
 * promise reports a lock from an earlier attempt.
 */
export function checkTrainingMessage (msg: TrainingMessage, signer: string): void {
  switch (msg.type) {
    case 'job': {
      if (jobIdOf(msg.job) !== msg.job.id) reject('ERR_JOB_ID', 'job id is not the hash of the job spec')
      if (msg.job.creator !== signer) reject('ERR_SIGNER', 'job creator is not the record signer')
      const issue = jobSpecIssue(msg.job)
      if (issue !== undefined) reject('ERR_BOUNDS', issue.message)
      checkCid(msg.job.initialModelCid, 'initialModelCid')
      return
    }
    case 'join':
    case 'leave':
    case 'stop':
    case 'payee': // the signer names its own address
    case 'voucher': // its EIP-712 signature is checked by the receiver's ledger
      return
    case 'delta':
      checkCid(msg.baseModelCid, 'baseModelCid')
      checkCid(msg.cid, 'cid')
      return
    case 'seal': {
      checkCid(msg.baseModelCid, 'baseModelCid')
      checkCid(msg.aggregateCid, 'aggregateCid')
      const peers = new Set<string>()
      msg.deltas.forEach((d, i) => {
        checkCid(d.cid, `deltas[${i}].cid`)
        if (i > 0 && compareIds(msg.deltas[i - 1].cid, d.cid) >= 0) reject('ERR_ORDER', 'seal deltas are not strictly ascending by cid')
        if (peers.has(d.peerId)) reject('ERR_DUPLICATE', 'seal lists two deltas from one peer')
        peers.add(d.peerId)
      })
      return
    }
    case 'vote':
      checkCid(msg.aggregateCid, 'aggregateCid')
      return
    case 'eval':
      checkCid(msg.modelCid, 'modelCid')
      return
    case 'electorate':
      msg.electorate.forEach((p, i) => {
        if (i > 0 && compareIds(msg.electorate[i - 1], p) >= 0) reject('ERR_ORDER', 'electorate is not strictly ascending')
      })
      return
    case 'promise':
      if (msg.locked !== undefined) {
        if (msg.locked.attempt >= msg.attempt) reject('ERR_BOUNDS', 'locked.attempt is not before attempt')
        checkCid(msg.locked.aggregateCid, 'locked.aggregateCid')
      }
  }
}

/**
 * Why a stop record does not stop `job`, or undefined: it must name the job and be signed by the job's creator (the
 * creator is known only once the job is, so this is checked on delivery rather than in the gossip validator).
 */
export function stopIssue (job: Pick<JobSpec, 'id' | 'creator'>, msg: JobStop, signer: string): string | undefined {
  if (msg.jobId !== job.id) return 'the stop names another job'
  if (signer !== job.creator) return 'only the job\'s creator may stop it'
  return undefined
}
