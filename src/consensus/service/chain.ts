/**
 * The epoch chain as a node holds it: the genesis, the reputation table at the end of every epoch (epoch 0 is the
 * genesis table), the parameters in force, and the last transition's parts. Applying a finalized epoch runs the pure
 * transition (`epochStep`: the credit rule, then `nextWeights`), so every node that applies the same epochs holds the
 * same tables (same hash) and the same credit ledger.
 */
import { ConsensusError } from '../errors.js'
import { genesisTable, type EpochRecords, type ScoreParts } from '../core/epoch.js'
import { creditLedgerHash, emptyCreditLedger, epochStep, type CreditLedger, type CreditVerdict } from '../core/credit.js'
import { reputationHash } from '../core/hash.js'
import { checkReputationParams, defaultReputationParams, type ReputationParams } from '../core/params.js'
import type { GuardianSet } from '../core/tally.js'
import { effectiveWeights, electorateWeights, type ElectorateWeights, type ReputationTable, type WeightSnapshot } from '../core/weights.js'
import type { Genesis } from '../options.js'

/** One finalized epoch as the chain records it. */
export interface EpochEntry {
  /** The epoch this entry starts (its table is `table(epoch)`). */
  epoch: number
  /** The `epoch` proposal that finalized it, and when it was created (the chain's beat is counted from it). */
  proposalId: string
  createdAt: number
  /** The reputation hash of the new table. */
  hash: string
  /** The proposals and evidence it lists, sorted. */
  accepted: string[]
  evidence: string[]
}

const BIGINT_PARAMS = ['workUnit', 'bondBps', 'decayBps', 'slashBps', 'maxShareBps', 'probationThreshold', 'probationPoolBps'] as const
const NUMBER_PARAMS = ['probationEpochs'] as const
/** Names a `network-param` proposal may change in the reputation parameters (`reputation.<name>`). */
export const REPUTATION_PARAM_NAMES: readonly string[] = [...BIGINT_PARAMS, ...NUMBER_PARAMS]

/** Apply `overrides` (genesis params or network-param values) to `base`; throws ERR_PARAMS on unknown names or bounds. */
export function withParams (base: ReputationParams, overrides: Readonly<Record<string, unknown>>): ReputationParams {
  const out: ReputationParams = { ...base }
  for (const [name, value] of Object.entries(overrides)) {
    const ok = typeof value === 'number' ? Number.isSafeInteger(value) && value >= 0 : typeof value === 'string' && /^[0-9]{1,40}$/.test(value)
    if (!ok) throw new ConsensusError('ERR_PARAMS', `reputation param ${name} must be a non-negative integer`)
    if ((BIGINT_PARAMS as readonly string[]).includes(name)) out[name as typeof BIGINT_PARAMS[number]] = BigInt(value as number | string)
    else if (name === 'probationEpochs') out.probationEpochs = Number(value)
    else throw new ConsensusError('ERR_PARAMS', `unknown reputation param ${JSON.stringify(name).slice(0, 40)}`)
  }
  checkReputationParams(out)
  return out
}

const EMPTY_CREDITS_HASH = creditLedgerHash(emptyCreditLedger)

/** The chain: tables per epoch, the entries that produced them, the parameters. */
export class EpochChain {
  readonly guardians: GuardianSet
  private readonly tables: ReputationTable[]
  private readonly paramsAt: ReputationParams[]
  readonly entries: EpochEntry[] = []
  private lastParts = new Map<string, ScoreParts>()
  /** The work credit ledger after the last epoch (once per (job, round); core/credit.ts), and its last verdicts. */
  private credits: CreditLedger = emptyCreditLedger
  private lastVerdicts: CreditVerdict[] = []
  private readonly genesisPeers: string[]
  /** electorate()'s last result and the table it was computed from. */
  private lastElectorate: { table: ReputationTable, weights: ElectorateWeights } | undefined

  constructor (readonly genesis: Genesis) {
    const params = withParams(defaultReputationParams, genesis.params)
    this.paramsAt = [params]
    this.tables = [genesisTable(0, genesis.pretrusted.map(p => ({ peer: p.peerId, score: BigInt(p.score) })), params)]
    this.guardians = { keys: [...genesis.guardians.keys], threshold: genesis.guardians.threshold }
    this.genesisPeers = genesis.pretrusted.map(p => p.peerId).sort()
  }

  /** The last finalized epoch. */
  get epoch (): number { return this.tables.length - 1 }

  /** When the last epoch was finalized (its proposal's createdAt; the genesis start for epoch 0). */
  get lastAt (): number { return this.entries.at(-1)?.createdAt ?? this.genesis.startedAt }

  table (epoch = this.epoch): ReputationTable {
    const t = this.tables[epoch]
    if (t == null) throw new ConsensusError('ERR_EPOCH', `epoch ${epoch} is not known here (the chain is at ${this.epoch})`)
    return t
  }

  params (epoch = this.epoch): ReputationParams { return this.paramsAt[epoch] ?? this.paramsAt[this.paramsAt.length - 1] }

  snapshot (epoch = this.epoch): WeightSnapshot { return effectiveWeights(this.table(epoch), this.params(epoch)) }

  /**
   * The electorate of a proposal tallied under `epoch`: every member of positive weight; while nobody has earned
   * weight (head count), the genesis peers, one vote each.
   */
  electorate (epoch = this.epoch): ElectorateWeights {
    // kept for the last epoch asked (a table never changes once applied): gossipsub's app score asks it through
    // reputationBonus for every peer at every heartbeat
    const table = this.table(epoch)
    if (this.lastElectorate?.table === table) return this.lastElectorate.weights
    const snap = this.snapshot(epoch)
    const weights = snap.headCount ? electorateWeights(snap, this.genesisPeers) : electorateWeights(snap)
    this.lastElectorate = { table, weights }
    return weights
  }

  hash (epoch = this.epoch): string { return reputationHash(this.table(epoch)) }

  /** The credit ledger's hash after the last epoch: equal on every node that applied the same epochs. */
  creditsHash (): string { return creditLedgerHash(this.credits) }

  /**
   * What an epoch payload names as `credits` to build on this chain: the ledger's hash, or undefined while the ledger
   * is empty (so an epoch before any credited work encodes, and is named, as before the field existed).
   */
  creditsRef (): string | undefined {
    const h = this.creditsHash()
    return h === EMPTY_CREDITS_HASH ? undefined : h
  }

  /** The credit rule's verdict on each seal the last epoch listed, in its order (empty at genesis). */
  creditVerdicts (): readonly CreditVerdict[] { return this.lastVerdicts }

  /** The parts of the last transition (empty at genesis). */
  parts (): ReadonlyMap<string, ScoreParts> { return this.lastParts }

  /**
   * The leader of a slot: the electorate's members sorted by peer id, taken in turn (slot modulo their number).
   * Everyone computes the same leader for the same slot; a leader that is away is skipped by the next slot. Members
   * on probation lead only while nobody is established: otherwise 14 fresh identities in the pool would hold most
   * slots and, by staying silent, slow the chain down to the honest share of the slots.
   */
  leader (slot: number): string | undefined {
    const probation = this.snapshot().probation
    const all = [...this.electorate().weights.keys()].sort()
    const established = all.filter(p => !probation.has(p))
    const members = established.length > 0 ? established : all
    return members.length === 0 ? undefined : members[slot % members.length]
  }

  /** Apply a finalized epoch: the transition of its records, with `paramChanges` in force from the new epoch on. */
  apply (entry: Omit<EpochEntry, 'hash'>, records: EpochRecords, paramChanges: Readonly<Record<string, unknown>> = {}): EpochEntry {
    if (entry.epoch !== this.epoch + 1) throw new ConsensusError('ERR_EPOCH', `epoch ${entry.epoch} cannot follow ${this.epoch}`)
    const { table, parts, credits, verdicts } = epochStep({ table: this.table(), credits: this.credits }, records, this.params())
    const next = Object.keys(paramChanges).length === 0 ? this.params() : withParams(this.params(), paramChanges)
    this.tables.push(table)
    this.paramsAt.push(next)
    this.lastParts = parts
    this.credits = credits
    this.lastVerdicts = verdicts
    const done = { ...entry, hash: reputationHash(table) }
    this.entries.push(done)
    return done
  }
}
