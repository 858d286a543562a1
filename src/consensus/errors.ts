/** The consensus subsystem's error codes and their kinds: one table, one class. */
import { defineErrors } from '../common/errors.js'

/** Every code ConsensusError carries, with its kind (the admin API derives the HTTP status from the kind). */
export const CONSENSUS_ERRORS = {
  /** A parameter set (genesis, network-param) is out of its bounds. */
  ERR_PARAMS: 'invalid',
  /** A value cannot be canonically encoded (undefined, NaN, Infinity, a non-string map key). */
  ERR_CANONICAL: 'invalid',
  /** A quorum certificate does not verify under its snapshot. */
  ERR_QC: 'invalid',
  /** An equivocation evidence pair does not prove a conflict. */
  ERR_EVIDENCE: 'invalid',
  /** The records of an epoch contradict each other (one proposal, two outcomes). */
  ERR_RECORDS: 'invalid',
  /** A snapshot of another epoch than the one a proposal or QC names. */
  ERR_EPOCH: 'conflict',
  ERR_NOT_FOUND: 'not-found',
  /** Only a configured guardian may veto. */
  ERR_NOT_GUARDIAN: 'forbidden',
  /** No kind of this name is registered. */
  ERR_KIND: 'invalid',
  /** A payload fails its kind's schema or validator. */
  ERR_PAYLOAD: 'invalid',
  /** The proposal is no longer open (accepted, rejected, expired or vetoed), or this node cannot vote on it. */
  ERR_CLOSED: 'conflict',
  /** This node is not a member of the proposal's electorate. */
  ERR_NOT_MEMBER: 'forbidden',
  /** A kind of this name is already registered. */
  ERR_KIND_EXISTS: 'conflict',
  /** The service is not running, or no peer could answer a sync request. */
  ERR_UNAVAILABLE: 'unavailable'
} as const

export type ConsensusErrorCode = keyof typeof CONSENSUS_ERRORS

/** Consensus failures: bad parameters, a QC or evidence that does not verify, a proposal that does not exist. */
export const ConsensusError = defineErrors('ConsensusError', CONSENSUS_ERRORS)
export type ConsensusError = InstanceType<typeof ConsensusError>
