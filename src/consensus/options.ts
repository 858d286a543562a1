/**
 * The consensus subsystem's options: schema and defaults. `src/node/options.ts` composes them under `consensus`; the
 * network preset (`configs/networks/<network>.yaml`, its `consensus:` block) or `meshnode init --genesis <file>`
 * supplies the genesis (reputation parameters, pre-trusted peers, guardians).
 */
import { Type, type Static } from '@sinclair/typebox'

/** A kind's operator policy as configured (`manual`, `auto`, `auto-threshold` with its threshold). */
export const OperatorPolicySchema = Type.Union([
  Type.Object({ mode: Type.Literal('manual') }, { additionalProperties: false }),
  Type.Object({ mode: Type.Literal('auto') }, { additionalProperties: false }),
  Type.Object({ mode: Type.Literal('auto-threshold'), threshold: Type.Number() }, { additionalProperties: false })
])

/** An integer amount of weight units, as a decimal string (scores exceed 2^53 over long histories). */
export const WeightStringSchema = Type.String({ pattern: '^[0-9]{1,40}$', description: 'integer weight units, decimal' })

/** The genesis of a network's epoch chain. Every node of one network must hold the same genesis. */
export const GenesisSchema = Type.Object({
  /** Overrides of the reputation parameters (see src/consensus/core/params.ts), integers as numbers or decimal strings. */
  params: Type.Record(Type.String(), Type.Union([Type.Integer(), WeightStringSchema])),
  /** Peers established from epoch 0 with these scores. */
  pretrusted: Type.Array(Type.Object({ peerId: Type.String({ minLength: 1, maxLength: 128 }), score: WeightStringSchema }, { additionalProperties: false })),
  /** k-of-n guardian keys (peer ids) that may veto a proposal within its window; threshold 0 disables vetoes. */
  guardians: Type.Object({
    keys: Type.Array(Type.String({ minLength: 1, maxLength: 128 })),
    threshold: Type.Integer({ minimum: 0 })
  }, { additionalProperties: false }),
  /** The chain's start (ms since the Unix epoch): epoch slots are counted from it. */
  startedAt: Type.Integer({ minimum: 0 })
}, { additionalProperties: false })
export type Genesis = Static<typeof GenesisSchema>

export const ConsensusOptionsSchema = Type.Object({
  /** An epoch proposal is raised this long after the previous epoch's (the epoch chain's beat). */
  epochIntervalMs: Type.Integer({ minimum: 200 }),
  /** How long an epoch proposal stays open; when it expires the next slot's leader proposes again. */
  epochTtlMs: Type.Integer({ minimum: 200 }),
  /** Proposals created without a TTL stay open this long. */
  defaultTtlMs: Type.Integer({ minimum: 1000 }),
  /**
   * An accepted proposal executes this long after its veto window closed, so a guardian veto signed inside the
   * window reaches every node first (clock skew and gossip delay).
   */
  finalityDelayMs: Type.Integer({ minimum: 0 }),
  /** One sync exchange (`/meshnode/consensus-sync/1.0.0`) may take this long. */
  syncTimeoutMs: Type.Integer({ minimum: 100 }),
  /** Operator policy per kind; kinds not named use their registered default. */
  policies: Type.Record(Type.String(), OperatorPolicySchema),
  /**
   * Electorates of more members than this vote with BLS signatures too, and a QC of more voters is gossiped as one BLS
   * aggregate instead of the vote list (absent: 64; below it an Ed25519 vote list is as cheap to check).
   */
  blsQcThreshold: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
  /**
   * Records of proposals settled and listed more than this many epochs before the chain's head are pruned from the
   * state store, except what the chain and catch-up still need (absent: 64; see core/prune.ts).
   */
  retainEpochs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  /**
   * Yes votes go to the proposer alone, which gossips the QC (service/vote-routing.ts); a vote whose proposal is still
   * open this long after is gossiped too (the proposer may be gone). 0: every vote is gossiped at once. Absent: 3000.
   * Electorates above `blsQcThreshold` always gossip their votes (an aggregate QC carries no vote list).
   */
  directVoteFallbackMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
  genesis: GenesisSchema
}, { additionalProperties: false })

export type ConsensusOptions = Static<typeof ConsensusOptionsSchema>

/** Defaults: an epoch a minute, open for 30 s; a fresh mesh with no pre-trusted peers and no guardians. */
export const defaultConsensusOptions: ConsensusOptions = {
  epochIntervalMs: 60_000,
  epochTtlMs: 30_000,
  defaultTtlMs: 3600_000,
  finalityDelayMs: 2_000,
  syncTimeoutMs: 5_000,
  policies: {},
  genesis: { params: {}, pretrusted: [], guardians: { keys: [], threshold: 0 }, startedAt: 0 }
}
