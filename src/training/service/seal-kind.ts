/**
 * The `model-update` proposal kind, which training registers with consensus (consensus imports nothing of training):
 * a round seal as a proposal whose electorate is the round's electorate (ARCHITECTURE.md, "Training's seam").
 *
 * - payload: the seal (job, round, attempt, base model, the sorted deltas with their contributors, the aggregate and
 *   its hash) and the round's electorate, sorted;
 * - electorate: the payload's; the snapshot's weights restricted to it form the quorum's denominator;
 * - automatic verdict: training's recomputation, as the round machine voted it (`SealVoting.assess`): yes only for
 *   the very seal it approved, under the electorate it holds for that round;
 * - executor: adopt the seal (the round machine's acceptance sees the QC and adopts it at its next step);
 * - work: the seal's contributors, which the epoch that lists it credits (`weights(e+1)` counts them).
 */
import { Type, type Static } from '@sinclair/typebox'
import { ConsensusError, type ProposalKind, type WorkRecord } from '../../consensus/index.js'
import { CidSchema, ModelHashSchema, PeerIdSchema, JobSpecSchema, closed as obj } from '../protocol/job-schema.js'
import { TRAINING_LIMITS as L } from '../protocol/limits.js'
import type { RoundSeal } from '../protocol/messages.js'

/** The proposal kind's name. */
export const MODEL_UPDATE_KIND = 'model-update'

/** A `model-update` payload: the seal and the electorate that votes on it. */
export const ModelUpdatePayloadSchema = obj({
  jobId: JobSpecSchema.properties.id,
  round: Type.Integer({ minimum: 0, maximum: L.maxRounds - 1 }),
  attempt: Type.Integer({ minimum: 0, maximum: L.maxAttempts - 1 }),
  baseModelCid: CidSchema,
  aggregateCid: CidSchema,
  modelHash: ModelHashSchema,
  /** As the seal lists them: sorted by cid. */
  deltas: Type.Array(obj({ cid: CidSchema, peerId: PeerIdSchema, samples: Type.Integer({ minimum: 1 }) }), { minItems: 1, maxItems: L.maxParticipants }),
  /** The round's electorate, sorted (code-unit order), distinct. */
  electorate: Type.Array(PeerIdSchema, { minItems: 1, maxItems: L.maxParticipants })
})
export type ModelUpdatePayload = Static<typeof ModelUpdatePayloadSchema>

/** The reference a payload and a seal share: one (job, round, attempt, aggregate). */
export const refKey = (r: { jobId: string, round: number, attempt: number, aggregateCid: string }): string =>
  `${r.jobId}\n${r.round}\n${r.attempt}\n${r.aggregateCid}`

const sortedIds = (xs: Iterable<string>): string[] => [...new Set(xs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
const isSortedDistinct = (xs: readonly string[]): boolean => xs.every((x, i) => i === 0 || xs[i - 1] < x)

/** The payload proposing `seal` to `electorate`. */
export function sealPayload (seal: RoundSeal, electorate: readonly string[]): ModelUpdatePayload {
  return {
    jobId: seal.jobId,
    round: seal.round,
    attempt: seal.attempt,
    baseModelCid: seal.baseModelCid,
    aggregateCid: seal.aggregateCid,
    modelHash: seal.modelHash,
    deltas: seal.deltas.map(d => ({ cid: d.cid, peerId: d.peerId, samples: d.samples })),
    electorate: sortedIds(electorate)
  }
}

/** Whether a payload proposes exactly `seal` (everything but its metrics, which the recomputation checked). */
export function proposesSeal (p: ModelUpdatePayload, seal: RoundSeal): boolean {
  return p.jobId === seal.jobId && p.round === seal.round && p.attempt === seal.attempt && p.baseModelCid === seal.baseModelCid &&
    p.aggregateCid === seal.aggregateCid && p.modelHash === seal.modelHash && p.deltas.length === seal.deltas.length &&
    p.deltas.every((d, i) => d.cid === seal.deltas[i].cid && d.peerId === seal.deltas[i].peerId && d.samples === seal.deltas[i].samples)
}

/** Whether a payload names exactly this electorate. */
export function sameElectorate (p: Pick<ModelUpdatePayload, 'electorate'>, electorate: readonly string[]): boolean {
  const want = sortedIds(electorate)
  return p.electorate.length === want.length && p.electorate.every((x, i) => x === want[i])
}

/** A payload's shape rule beyond its schema: the electorate sorted and distinct. Undefined when it holds. */
export function modelUpdateIssue (p: ModelUpdatePayload): string | undefined {
  if (!isSortedDistinct(p.electorate)) return 'the electorate must be sorted and distinct'
  for (let i = 1; i < p.deltas.length; i++) if (!(p.deltas[i - 1].cid < p.deltas[i].cid)) return 'the deltas must be sorted by cid and distinct'
  return undefined
}

/** The work an accepted seal credits: its contributors, one each, for its job round. */
export function sealWork (p: ModelUpdatePayload): WorkRecord | undefined {
  // read before the schema check in places (a proposal from the store): a malformed payload credits nothing
  if (!Array.isArray(p?.deltas) || typeof p.jobId !== 'string' || !Number.isSafeInteger(p.round)) return undefined
  const contributors = sortedIds(p.deltas.map(d => d.peerId).filter(x => typeof x === 'string'))
  if (contributors.length === 0) return undefined
  // the electorate too: consensus credits round r only if it lies within round r-1's credited contributors
  const electorate = Array.isArray(p.electorate) ? sortedIds(p.electorate.filter(x => typeof x === 'string')) : []
  return { jobId: p.jobId, round: p.round, contributors, ...(electorate.length > 0 ? { electorate } : {}) }
}

/** What the kind asks of training's seal voting (service/seal-voting.ts). */
export interface SealKindHost {
  /** Remember a proposal (by id) under its seal's reference. */
  index: (id: string, p: ModelUpdatePayload) => void
  /** This node's verdict: the round machine's vote on that very seal, or pending while it has not voted. */
  assess: (p: ModelUpdatePayload) => { valid: boolean, pending?: boolean }
  /** A QC accepted it: the round machine adopts it at its next step. */
  adopt: (id: string, p: ModelUpdatePayload) => void
}

/** The `model-update` kind (default policy `auto`; not vetoable: a round cannot wait for a veto window). */
export function modelUpdateKind (host: SealKindHost): ProposalKind<typeof ModelUpdatePayloadSchema> {
  return {
    kind: MODEL_UPDATE_KIND,
    schema: ModelUpdatePayloadSchema,
    validate (p, ctx) {
      const issue = modelUpdateIssue(p)
      if (issue !== undefined) throw new ConsensusError('ERR_PAYLOAD', `${MODEL_UPDATE_KIND} payload: ${issue}`)
      // the gossip validator checks with an empty id; the ingest (and this node's own proposing) with the real one
      if (ctx.id !== '') host.index(ctx.id, p)
    },
    electorate: p => Array.isArray(p?.electorate) ? p.electorate : [],
    work: sealWork,
    assess: p => host.assess(p),
    execute (p, ctx) { host.adopt(ctx.id, p) },
    defaultPolicy: { mode: 'auto' },
    vetoable: false
  }
}
