/**
 * The kind registry: each proposal kind registers its payload schema, validator, automatic verdict, executor and
 * (where it makes sense) rollback. Consensus imports none of the registering subsystems: training, the ledger and the
 * node register their kinds through this interface at start.
 */
import type { TSchema, Static } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { ConsensusError } from '../errors.js'
import type { Assessment, OperatorPolicy } from '../core/policy.js'
import type { Proposal } from '../protocol/schemas.js'

/** What a kind's hooks learn about the proposal they act on. */
export interface KindContext {
  id: string
  proposal: Proposal
}

/**
 * One proposal kind. The hooks are method signatures on purpose: the registry holds kinds of many payload types and
 * calls a hook only with a payload that passed that kind's schema.
 */
export interface ProposalKind<S extends TSchema = TSchema> {
  kind: string
  /** The payload's schema (checked before anything else; also in the OpenAPI description). */
  schema: S
  /** Cross-field rules of the payload; throw ConsensusError ERR_PAYLOAD. Pure: every node must agree. */
  validate?(payload: Static<S>, ctx: KindContext): void
  /** This node's own verification (a recomputation, a measurement): its automatic verdict under the kind's policy. */
  assess?(payload: Static<S>, ctx: KindContext): Promise<Assessment> | Assessment
  /**
   * Complete a payload on the proposing node before it is signed (training's `hyperparams` pins its first round to the
   * round after the one in progress there), so what every node executes is in the signed payload, not read from each
   * node's own state. Called only with a payload that passed the schema.
   */
  prepare?(payload: Static<S>): Static<S>
  /** Carry out an accepted proposal (once its veto window closed), on every node. Must be idempotent. */
  execute(payload: Static<S>, ctx: KindContext): Promise<void> | void
  /** Undo an executed proposal (a kind's rollback proposal calls it); absent where nothing can be undone. */
  rollback?(payload: Static<S>, ctx: KindContext): Promise<void> | void
  /** The policy when the operator configured none; default `manual`. */
  defaultPolicy?: OperatorPolicy
  /** Whether guardians may veto it (default true; the epoch chain itself is not vetoable). */
  vetoable?: boolean
  /**
   * Restrict who votes (training's `model-update`: the round's electorate). The snapshot's weights restricted to these
   * peers are the quorum's denominator (`electorateWeights`: the probation pool capped again inside it; by head while
   * nobody has earned weight); anyone else's vote does not count. Absent: every member of the snapshot. Pure: read
   * from the payload alone, so every node holding the proposal tallies it alike.
   */
  electorate?(payload: Static<S>): readonly string[]
  /**
   * The verified work an accepted proposal credits (training's seals: the peers whose deltas it includes). The epoch
   * that lists the proposal lists this record too, and `weights(e+1)` counts it (one per peer per job round).
   */
  work?(payload: Static<S>): WorkRecord | undefined
}

/** Work an accepted proposal credits in the epoch that lists it (see `ProposalKind.work`). */
export interface WorkRecord {
  jobId: string
  round: number
  /** Sorted, distinct. */
  contributors: string[]
  /**
   * The electorate whose QC accepted it (sorted, distinct), where the kind restricts one: the credit rule checks it
   * against the previous round's credited contributors (core/credit.ts). Absent: not checked.
   */
  electorate?: string[]
}

interface Registered {
  spec: ProposalKind
  check: TypeCheck<TSchema>
}

/** The registered kinds of one node. */
export class KindRegistry {
  private readonly kinds = new Map<string, Registered>()

  /** Register a kind (ERR_KIND_EXISTS when its name is taken); returns a function that unregisters it. */
  register<S extends TSchema> (spec: ProposalKind<S>): () => void {
    if (this.kinds.has(spec.kind)) throw new ConsensusError('ERR_KIND_EXISTS', `proposal kind ${spec.kind} is already registered`)
    this.kinds.set(spec.kind, { spec, check: TypeCompiler.Compile(spec.schema) })
    return () => { this.kinds.delete(spec.kind) }
  }

  has (kind: string): boolean { return this.kinds.has(kind) }

  /** The names of the registered kinds, sorted. */
  names (): string[] { return [...this.kinds.keys()].sort() }

  /** The kind's spec (ERR_KIND when none). */
  get (kind: string): ProposalKind {
    const k = this.kinds.get(kind)
    if (k == null) throw new ConsensusError('ERR_KIND', `no proposal kind ${JSON.stringify(kind).slice(0, 40)} is registered here`)
    return k.spec
  }

  /** The kind's electorate restriction of a proposal (undefined: unrestricted, or the kind is not registered here). */
  electorate (p: Proposal): readonly string[] | undefined {
    return this.kinds.get(p.kind)?.spec.electorate?.(p.payload)
  }

  /** The work an accepted proposal credits (undefined: none, or the kind is not registered here). */
  work (p: Proposal): WorkRecord | undefined {
    return this.kinds.get(p.kind)?.spec.work?.(p.payload)
  }

  /** A new proposal's payload as its kind completes it (`ProposalKind.prepare`); unchanged where nothing applies. */
  prepare (kind: string, payload: unknown): unknown {
    const k = this.kinds.get(kind)
    // a payload that fails the schema is left for `check` to refuse with its reason
    return k?.spec.prepare != null && k.check.Check(payload) ? k.spec.prepare(payload) : payload
  }

  /** Check a payload against its kind's schema and validator; throws ERR_KIND or ERR_PAYLOAD. */
  check (ctx: KindContext): void {
    const k = this.kinds.get(ctx.proposal.kind)
    if (k == null) throw new ConsensusError('ERR_KIND', `no proposal kind ${JSON.stringify(ctx.proposal.kind).slice(0, 40)} is registered here`)
    if (!k.check.Check(ctx.proposal.payload)) {
      const first = k.check.Errors(ctx.proposal.payload).First()
      throw new ConsensusError('ERR_PAYLOAD', `${ctx.proposal.kind} payload: ${first?.path ?? ''} ${first?.message ?? 'does not match its schema'}`)
    }
    k.spec.validate?.(ctx.proposal.payload, ctx)
  }
}
