/**
 * Event intake: how each event changes the machine's state. Decisions that follow from the new state (closing,
 * sealing, voting, adopting) are taken afterwards by progress.ts. Internal to src/training/round.
 */
import { TRAINING_LIMITS, type DeltaAnnounce, type RoundPromise, type RoundSeal, type SealVote, type TrainingMessage } from '../protocol/messages.js'
import type { RoundContext } from './context.js'
import { onElectorate } from './electorate.js'
import { sealDigest, sealMetrics, sealedDeltas, usableDeltas } from './rules.js'
import { ROUND_LIMITS } from './state.js'
import type { DeltaEntry, JobEvent } from './types.js'

const sealKey = (s: { round: number, attempt: number, aggregateCid: string }): string => `${s.round}/${s.attempt}/${s.aggregateCid}`

/** A validated gossip message (signed by `from`, envelope seq `seq`). */
export function onMessage (ctx: RoundContext, from: string, seq: number, msg: TrainingMessage, now: number): void {
  if (from === ctx.self || msg.type === 'job' || msg.jobId !== ctx.job.id) return
  switch (msg.type) {
    case 'join':
    case 'leave': {
      const members = ctx.state.members
      const m = Object.hasOwn(members, from) ? members[from] : undefined
      if (m != null && m.seq >= seq) return
      // a leave from a stranger changes nothing; strangers beyond the participant cap are not remembered
      if (m == null && (msg.type === 'leave' || Object.keys(members).length >= TRAINING_LIMITS.maxParticipants)) return
      members[from] = { seq, joined: msg.type === 'join', samples: msg.type === 'join' ? msg.samples : 0 }
      if (msg.type === 'join') admitStrangerVotes(ctx, from)
      return
    }
    case 'delta': onDelta(ctx, from, seq, msg, now); return
    case 'seal':
      if (msg.round < ctx.current.round) backOldRound(ctx, msg)
      else onSeal(ctx, from, msg, now)
      return
    case 'vote': onVote(ctx, from, msg); return
    case 'promise': onPromise(ctx, from, seq, msg, now); return
    case 'electorate': onElectorate(ctx, from, msg)
  }
}

export function onJoin (ctx: RoundContext, samples: number): void {
  ctx.state.joined = true
  ctx.state.samples = samples
  ctx.publish({ type: 'join', jobId: ctx.job.id, samples })
}

export function onLeave (ctx: RoundContext): void {
  if (!ctx.state.joined) return
  ctx.state.joined = false
  ctx.publish({ type: 'leave', jobId: ctx.job.id })
}

function onDelta (ctx: RoundContext, from: string, seq: number, msg: DeltaAnnounce, now: number): void {
  const r = ctx.current
  if (msg.round < r.round) { helpStraggler(ctx, from, msg, now); return }
  if (msg.round >= ctx.job.rounds) return
  ctx.impliedJoin(from, seq)
  if (!ctx.isParticipant(from)) return
  const entry: DeltaEntry = {
    round: msg.round, peerId: from, cid: msg.cid, baseModelCid: msg.baseModelCid, samples: msg.samples, bytes: msg.bytes,
    metrics: { loss: msg.metrics.loss, accuracy: msg.metrics.accuracy }, arrivedAt: now
  }
  if (msg.round === r.round) { acceptDelta(ctx, entry); return }
  const f = ctx.state.futureDeltas
  if (f.length >= ROUND_LIMITS.maxFutureDeltas || f.some(d => d.round === msg.round && d.peerId === from && d.cid === msg.cid)) return
  if (f.filter(d => d.peerId === from).length >= ROUND_LIMITS.maxFutureDeltasPerSender) return
  f.push(entry)
}

/** Count a delta of the current round: first per peer; a different second one is equivocation (both dropped). */
export function acceptDelta (ctx: RoundContext, e: DeltaEntry): void {
  const r = ctx.current
  if (e.round !== r.round || e.baseModelCid !== r.baseModelCid || r.equivocators.includes(e.peerId)) return
  const prior = r.deltas.find(d => d.peerId === e.peerId)
  if (prior == null) { r.deltas.push(e); return }
  if (prior.cid === e.cid) return // a re-announcement
  r.equivocators.push(e.peerId)
  ctx.penalise(e.peerId, 'equivocation-delta')
}

function onSeal (ctx: RoundContext, from: string, seal: RoundSeal, now: number): void {
  const r = ctx.current
  if (seal.round < r.round || seal.round >= ctx.job.rounds) return
  if (seal.round === r.round && seal.baseModelCid !== r.baseModelCid) return
  const seals = ctx.state.seals
  const same = seals.filter(e => e.from === from && e.seal.round === seal.round && e.seal.attempt === seal.attempt)
  const digest = sealDigest(seal)
  if (same.some(e => sealDigest(e.seal) === digest)) return
  if (same.length > 0) {
    for (const e of same) e.equivocated = true
    if (seal.round === r.round) ctx.penalise(from, 'equivocation-seal')
    if (same.length >= 2) return // two are evidence enough
  }
  if (seals.length >= ROUND_LIMITS.maxSeals || seals.filter(e => e.from === from).length >= ROUND_LIMITS.maxSealsPerSender) return
  seals.push({ seal, from, receivedAt: now, status: 'new', equivocated: same.length > 0 })
}

function onVote (ctx: RoundContext, from: string, v: SealVote): void {
  if (v.round < ctx.current.round || v.round >= ctx.job.rounds) return
  const vote = { jobId: v.jobId, round: v.round, attempt: v.attempt, aggregateCid: v.aggregateCid, approve: v.approve }
  if (!ctx.canVote(from, v.round)) {
    const held = ctx.state.strangerVotes
    if (held.some(h => h.from === from && sealKey(h.vote) === sealKey(vote) && h.vote.approve === vote.approve)) return
    held.push({ from, vote })
    if (held.length > ROUND_LIMITS.maxStrangerVotes) held.shift()
    return
  }
  ctx.countVote(from, vote)
}

/** Count the held votes that may count now (their author joined, or a round with a known electorate began). */
export function admitStrangerVotes (ctx: RoundContext, peer?: string): void {
  const held = ctx.state.strangerVotes
  const now = held.filter(h => (peer == null || h.from === peer) && h.vote.round >= ctx.current.round && ctx.canVote(h.from, h.vote.round))
  if (now.length === 0) return
  ctx.state.strangerVotes = held.filter(h => !now.includes(h))
  for (const h of now) ctx.countVote(h.from, h.vote)
}

function onPromise (ctx: RoundContext, from: string, seq: number, p: RoundPromise, now: number): void {
  const r = ctx.current
  if (p.round < r.round) { helpStraggler(ctx, from, p, now); return }
  if (p.round >= ctx.job.rounds) return
  ctx.impliedJoin(from, seq)
  if (p.round !== r.round || !ctx.electorate().includes(from)) return
  const seen = Object.hasOwn(r.promisedAttempts, from) ? r.promisedAttempts[from] : 0
  if (p.attempt > seen) r.promisedAttempts[from] = p.attempt
  // promises only matter to the aggregator of the attempt they are for; one ahead of ours is clock skew
  if (p.attempt < r.attempt || p.attempt > r.attempt + 1) return
  if (r.promises.some(x => x.from === from && x.attempt === p.attempt)) return
  r.promises.push({ from, attempt: p.attempt, locked: p.locked == null ? null : { attempt: p.locked.attempt, aggregateCid: p.locked.aggregateCid } })
}

/**
 * A participant is stuck in a round we are past: it promises attempts of a round we adopted a seal for (it missed the
 * outcome: lost votes), or re-announces a delta of an older round (it was away). Re-send the seals we adopted from its
 * round on, with our votes on them, at most once per sealTimeoutMs. It adopts them in order, each against the exact
 * electorate the previous one names. An ordinary late delta (of the round just sealed) does not count: slow trainers
 * cost nothing.
 */
export function helpStraggler (ctx: RoundContext, from: string, msg: RoundPromise | DeltaAnnounce, now: number): void {
  const history = ctx.state.history
  const latest = history[history.length - 1]
  if (latest == null || !ctx.isParticipant(from)) return
  const last = latest.seal.round
  if (msg.round > last) return
  if (msg.type === 'delta' && msg.round === last) {
    // the first late announcement of a round just sealed is a slow trainer; a repeated one is a peer stuck there
    const key = `${from}|${msg.cid}`
    if (!latest.deltas.includes(key)) {
      if (latest.deltas.length < 2 * TRAINING_LIMITS.maxParticipants) latest.deltas.push(key)
      return
    }
  }
  // promising is once per attempt anyway (each new attempt needs ours); only the re-send is rate-limited
  if (msg.type === 'promise') promiseOldRound(ctx, msg)
  if (ctx.state.helpedAt != null && now < ctx.state.helpedAt + ctx.job.timing.sealTimeoutMs) return
  ctx.state.helpedAt = now
  for (const h of history) {
    if (h.seal.round < msg.round) continue
    ctx.publish(h.seal)
    for (const v of h.votes) ctx.publish(v)
  }
}

/** Do `key` once (a bounded memory of what we did for rounds we are past). */
function once (ctx: RoundContext, key: string): boolean {
  const done = ctx.state.oldRoundActs
  if (done.includes(key)) return false
  done.push(key)
  if (done.length > 64) done.shift()
  return true
}

/**
 * For a round we adopted aggregate V in, we stay a voter that only ever approves V: stragglers whose votes were lost
 * (or whose voters lost their memory) can then still gather a majority there. V was chosen, so approving it in any
 * later attempt is safe. We promise the straggler's attempt (reporting V, so its aggregator re-proposes V)...
 */
function promiseOldRound (ctx: RoundContext, p: RoundPromise): void {
  const h = ctx.state.history.find(x => x.seal.round === p.round)
  if (h == null || !once(ctx, `promise/${p.round}/${p.attempt}`)) return
  ctx.publish({ type: 'promise', jobId: ctx.job.id, round: p.round, attempt: p.attempt, locked: { attempt: h.seal.attempt, aggregateCid: h.seal.aggregateCid } })
}

/** ...and approve any seal of that round that proposes V again. */
export function backOldRound (ctx: RoundContext, seal: RoundSeal): void {
  const h = ctx.state.history.find(x => x.seal.round === seal.round)
  if (h == null || h.seal.aggregateCid !== seal.aggregateCid || h.seal.modelHash !== seal.modelHash) return
  if (seal.attempt === h.seal.attempt || !once(ctx, `vote/${seal.round}/${seal.attempt}`)) return
  ctx.publish({ type: 'vote', jobId: ctx.job.id, round: seal.round, attempt: seal.attempt, aggregateCid: seal.aggregateCid, approve: true })
}

export function onLocalDelta (ctx: RoundContext, e: Extract<JobEvent, { kind: 'local-delta-ready' }>, now: number): void {
  const r = ctx.current
  if (!ctx.state.joined || e.round !== r.round || e.baseModelCid !== r.baseModelCid || r.ownDeltaCid != null) return
  r.ownDeltaCid = e.cid
  acceptDelta(ctx, { round: e.round, peerId: ctx.self, cid: e.cid, baseModelCid: e.baseModelCid, samples: e.samples, bytes: e.bytes, metrics: { ...e.metrics }, arrivedAt: now })
  ctx.publishOwnDelta()
}

export function onAggregate (ctx: RoundContext, e: Extract<JobEvent, { kind: 'aggregate-computed' }>, now: number): void {
  const r = ctx.current
  const req = r.aggregateRequest
  if (e.round !== r.round || e.attempt !== r.attempt || req == null || req.attempt !== e.attempt || r.sealedAttempts.includes(e.attempt)) return
  if (e.deltas.length !== req.cids.length || e.deltas.some((c, i) => c !== req.cids[i])) return
  const usable = usableDeltas(r)
  const listed = req.cids.map(c => usable.find(d => d.cid === c))
  if (listed.some(d => d == null)) return // one went bad meanwhile: progress asks again
  const deltas = listed as DeltaEntry[]
  ctx.publishSeal({
    type: 'seal', jobId: ctx.job.id, round: r.round, attempt: e.attempt, baseModelCid: r.baseModelCid,
    deltas: sealedDeltas(deltas), aggregateCid: e.aggregateCid, modelHash: e.modelHash, metrics: sealMetrics(deltas)
  }, now)
}

export function onVerified (ctx: RoundContext, e: Extract<JobEvent, { kind: 'seal-verified' }>): void {
  const r = ctx.current
  if (e.round !== r.round) return
  const waiting = ctx.state.seals.filter(s => s.status === 'verifying' && s.seal.round === e.round && s.seal.aggregateCid === e.aggregateCid)
  if (waiting.length === 0) return
  if (!e.ok && e.reason === 'unavailable') {
    // no verdict on the aggregate: we vote no on these attempts only, and verify it again if it is re-proposed
    for (const s of waiting) ctx.castVote(s, false, 'unavailable')
    return
  }
  r.verdicts[e.aggregateCid] = e.ok
  if (e.ok) {
    // we fetched every listed delta after all: none of them is unavailable here any more
    const listed = new Set(waiting[0].seal.deltas.map(d => d.cid))
    r.unavailable = r.unavailable.filter(c => !listed.has(c))
  }
  if (!e.ok && e.reason === 'mismatch') for (const s of waiting) ctx.penalise(s.from, 'bad-seal')
}

export function onInvalid (ctx: RoundContext, e: Extract<JobEvent, { kind: 'delta-invalid' }>): void {
  const r = ctx.current
  if (e.round !== r.round || !r.deltas.some(d => d.cid === e.cid && d.peerId === e.peerId)) return
  if (!r.invalid.includes(e.cid)) r.invalid.push(e.cid)
  ctx.penalise(e.peerId, 'invalid-delta')
}

/** A delta we could not fetch in time: out of our aggregates until a seal listing it verifies here (rules.ts). */
export function onUnavailable (ctx: RoundContext, e: Extract<JobEvent, { kind: 'delta-unavailable' }>): void {
  const r = ctx.current
  if (e.round !== r.round || !r.deltas.some(d => d.cid === e.cid && d.peerId === e.peerId)) return
  if (!r.unavailable.includes(e.cid)) r.unavailable.push(e.cid)
  ctx.penalise(e.peerId, 'unavailable-delta')
}
