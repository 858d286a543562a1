/**
 * Persistence of consensus records in the node's state store: one sublevel `consensus`, every value a base64 CBOR
 * string, every change one atomic batch (a record and the status it moves a proposal to land together or not at all).
 *
 *   p/<id>                     the proposal envelope, its status, whether it executed, the epoch that listed it
 *   v/<id>/<voter>/<seq>       a vote envelope
 *   x/<id>/<guardian>          a veto envelope
 *   q/<id>                     its QC {proposalId, epoch, votes}
 *   d/<evidence id>            equivocation evidence {first, second}
 *   e/<epoch, 10 digits>       a finalized epoch entry
 *   n/<name>                   a network parameter set by an executed `network-param`
 *   b/<peer id>                a peer banned by an executed `ban-peer`
 */
import { encode, decode } from 'cborg'
import type { ProposalStatus } from '../core/tally.js'
import type { Evidence, Qc } from '../protocol/schemas.js'
import type { EpochEntry } from './chain.js'
import type { Entry } from './entry.js'

const SUBLEVEL = 'consensus'

/** The slice of the node's state store consensus uses (structurally the storage subsystem's StateStore). */
export interface ConsensusState {
  sublevel: (name: string) => { iterator: () => AsyncIterable<[string, unknown]> }
  atomic: (ops: ConsensusOp[]) => Promise<void>
}

/** One write of a batch. */
export type ConsensusOp = { type: 'put', sublevel: string, key: string, value: string } | { type: 'del', sublevel: string, key: string }

/** A proposal's persisted line. */
export interface StoredProposal {
  b: Uint8Array
  s: ProposalStatus
  x: boolean
  e: number | null
}

/** Everything read back at start. */
export interface LoadedState {
  proposals: Map<string, StoredProposal>
  votes: Map<string, Uint8Array[]>
  vetoes: Map<string, Uint8Array[]>
  qcs: Map<string, Qc>
  evidence: Map<string, Evidence>
  epochs: EpochEntry[]
  params: Map<string, unknown>
  bans: Map<string, string>
}

const pad = (n: number): string => String(n).padStart(10, '0')
const put = (key: string, value: unknown): ConsensusOp => ({ type: 'put', sublevel: SUBLEVEL, key, value: Buffer.from(encode(value)).toString('base64') })

/** Builders of the batch ops, and the one loader. */
export const ops = {
  /** A proposal as the service holds it: its bytes, status, execution and listing epoch. */
  entry: (e: Pick<Entry, 'id' | 'bytes' | 'status' | 'executed' | 'epoch'>): ConsensusOp => {
    const stored: StoredProposal = { b: e.bytes, s: e.status, x: e.executed, e: e.epoch }
    return put(`p/${e.id}`, stored)
  },
  vote: (id: string, voter: string, seq: number, bytes: Uint8Array): ConsensusOp => put(`v/${id}/${voter}/${pad(seq)}`, bytes),
  veto: (id: string, guardian: string, bytes: Uint8Array): ConsensusOp => put(`x/${id}/${guardian}`, bytes),
  qc: (qc: Qc): ConsensusOp => put(`q/${qc.proposalId}`, qc),
  evidence: (id: string, e: Evidence): ConsensusOp => put(`d/${id}`, e),
  epoch: (e: EpochEntry): ConsensusOp => put(`e/${pad(e.epoch)}`, e),
  param: (name: string, value: unknown): ConsensusOp => put(`n/${name}`, value),
  ban: (peer: string, reason: string): ConsensusOp => put(`b/${peer}`, reason)
}

const del = (key: string): ConsensusOp => ({ type: 'del', sublevel: SUBLEVEL, key })

/** Builders of the deletes pruning writes (prune.ts): the same keys as `ops`. */
export const dels = {
  /** A proposal's line and its QC (its votes and vetoes are deleted one by one: their keys are known). */
  proposal: (id: string): ConsensusOp[] => [del(`p/${id}`), del(`q/${id}`)],
  vote: (id: string, voter: string, seq: number): ConsensusOp => del(`v/${id}/${voter}/${pad(seq)}`),
  veto: (id: string, guardian: string): ConsensusOp => del(`x/${id}/${guardian}`)
}

function push<T> (m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k)
  if (list == null) m.set(k, [v])
  else list.push(v)
}

/** Read the whole consensus sublevel (bounded by the records this node kept). */
export async function loadState (state: ConsensusState): Promise<LoadedState> {
  const out: LoadedState = { proposals: new Map(), votes: new Map(), vetoes: new Map(), qcs: new Map(), evidence: new Map(), epochs: [], params: new Map(), bans: new Map() }
  for await (const [key, raw] of state.sublevel(SUBLEVEL).iterator()) {
    if (typeof raw !== 'string') continue
    const value: unknown = decode(Buffer.from(raw, 'base64'))
    const [type, a] = key.split('/')
    switch (type) {
      case 'p': out.proposals.set(a, value as StoredProposal); break
      case 'v': push(out.votes, a, value as Uint8Array); break
      case 'x': push(out.vetoes, a, value as Uint8Array); break
      case 'q': out.qcs.set(a, value as Qc); break
      case 'd': out.evidence.set(a, value as Evidence); break
      case 'e': out.epochs.push(value as EpochEntry); break
      case 'n': out.params.set(key.slice(2), value); break
      case 'b': out.bans.set(a, value as string); break
    }
  }
  out.epochs.sort((x, y) => x.epoch - y.epoch)
  return out
}

/**
 * Group commit: batches handed in while a write is in flight are written together as ONE atomic batch, in arrival
 * order (a later put of a key wins, as it would one batch later). Each caller still resolves only once its own ops are
 * written; if a merged batch fails, its members are retried one by one, so one bad batch fails only its own caller.
 * Gossip delivers a node's votes one by one: under load, a write per vote would queue behind the previous one.
 */
export class GroupCommit {
  private queue: Array<{ ops: ConsensusOp[], done: (err?: unknown) => void }> = []
  private running = false

  constructor (private readonly atomic: (ops: ConsensusOp[]) => Promise<void>) {}

  /** Write `ops` (atomically, with whatever else is queued); resolves once written. */
  async write (ops: ConsensusOp[]): Promise<void> {
    if (ops.length === 0) return
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, done: err => { if (err === undefined) resolve(); else reject(err) } })
      if (!this.running) void this.drain()
    })
  }

  private async drain (): Promise<void> {
    this.running = true
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0)
        try {
          await this.atomic(group.flatMap(g => g.ops))
          for (const g of group) g.done()
        } catch (err) {
          if (group.length === 1) { group[0].done(err); continue }
          for (const g of group) await this.atomic(g.ops).then(() => { g.done() }, (e: unknown) => { g.done(e ?? err) })
        }
      }
    } finally { this.running = false }
  }
}
