/**
 * A delta we failed to fetch in time (`delta-unavailable`) is no verdict on the seals that list it. A loaded node used to
 * count a fetch timeout as an invalid delta for the whole round, and so vote no, unverified, on every later attempt of
 * the same aggregate. Through consensus (a QC needs more than 2/3 yes) while fewer than half voted no (a promised lock
 * drops only then), the round could neither adopt nor move on. Now such a node votes no on the attempt it could not
 * verify, verifies the re-proposal again and approves it; only its own aggregates leave the delta out meanwhile.
 */
import { describe, it, expect } from 'vitest'
import { Driver, PEERS, dcid, jobWith, only, published, sealOf, voteMsg } from './driver.js'

const job = jobWith({ minParticipants: 3 })
const SLOT = job.timing.sealTimeoutMs

/** Who seals (0, attempt) when all of PEERS take part. */
function aggregatorOf (attempt: number): string {
  const d = new Driver('p0', job)
  d.setup(true, PEERS)
  return d.m.aggregatorFor(0, attempt) as string
}
const A0 = aggregatorOf(0)
const A1 = aggregatorOf(1)
/** A voter that seals neither attempt, and a producer whose delta it fails to fetch. */
const SELF = PEERS.find(p => p !== A0 && p !== A1) as string
const SLOW = PEERS.find(p => p !== A0 && p !== A1 && p !== SELF) as string

/** SELF in round 0, every delta announced; A0's seal over all of them arrived and is being verified. */
function verifying (): { d: Driver, s0: ReturnType<typeof sealOf> } {
  const d = new Driver(SELF, job)
  d.setup(true, PEERS)
  d.deltas(PEERS)
  const s0 = sealOf(job, PEERS)
  expect(only(d.msg(A0, s0), 'verify')).toEqual([{ kind: 'verify', seal: s0 }])
  return { d, s0 }
}

/**
 * SLOW's delta refused at attempt 0 (`invalid`: its bytes prove it; else unavailable), A0 alone approving s0; then
 * attempt 1, whose aggregator re-proposes s0. Returns what judging that re-proposal asked for.
 */
function reproposedAfter (invalid: boolean): { d: Driver, s1: ReturnType<typeof sealOf>, judged: ReturnType<Driver['msg']> } {
  const { d, s0 } = verifying()
  d.send(invalid
    ? { kind: 'delta-invalid', round: 0, cid: dcid(SLOW), peerId: SLOW, reason: 'ERR_SHAPE' }
    : { kind: 'delta-unavailable', round: 0, cid: dcid(SLOW), peerId: SLOW, reason: 'ERR_TIMEOUT' })
  d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: s0.aggregateCid, ok: false, reason: invalid ? 'invalid-delta' : 'unavailable' })
  d.votes(s0, [A0])
  d.tick(SLOT)
  expect(d.m.view().attempt).toBe(1)
  const s1 = { ...s0, attempt: 1 }
  return { d, s1, judged: d.msg(A1, s1) }
}

describe('a delta that could not be fetched in time', () => {
  it('is charged lightly, leaves our aggregates, and our vote on that attempt is no without a verdict', () => {
    const { d, s0 } = verifying()
    expect(d.m.stall()?.usableDeltas).toBe(PEERS.length)
    const lost = d.send({ kind: 'delta-unavailable', round: 0, cid: dcid(SLOW), peerId: SLOW, reason: 'ERR_TIMEOUT: no provider answered' })
    expect(only(lost, 'penalise')).toEqual([{ kind: 'penalise', peerId: SLOW, reason: 'unavailable-delta', round: 0 }])
    const failed = d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: s0.aggregateCid, ok: false, reason: 'unavailable' })
    expect(published(failed, 'vote')).toEqual([{ ...voteMsg(s0, false), reason: 'unavailable' }])
    expect(only(failed, 'penalise')).toEqual([]) // the aggregator is not blamed
    expect(d.m.stall()?.usableDeltas).toBe(PEERS.length - 1)
  })

  it('the re-proposal of the same aggregate is verified again, approved, and the delta is usable again', () => {
    const { d, s1, judged } = reproposedAfter(false)
    expect(published(judged, 'vote')).toEqual([]) // no unverified no any more
    expect(only(judged, 'verify')).toEqual([{ kind: 'verify', seal: s1 }])
    const ok = d.send({ kind: 'seal-verified', round: 0, attempt: 1, aggregateCid: s1.aggregateCid, ok: true })
    expect(published(ok, 'vote')).toEqual([voteMsg(s1, true)])
    expect(d.m.stall()?.usableDeltas).toBe(PEERS.length)
  })

  it('a delta whose bytes prove it invalid still refuses every seal listing it, unverified', () => {
    const { s1, judged } = reproposedAfter(true)
    expect(only(judged, 'verify')).toEqual([])
    expect(published(judged, 'vote')).toEqual([{ ...voteMsg(s1, false), reason: 'invalid-delta' }])
  })

  it('is restored as none from a snapshot written before it existed', () => {
    const { d } = verifying()
    const snap = d.m.snapshot()
    const { unavailable: _gone, ...older } = snap.state.current
    const again = new Driver(SELF, job)
    again.m.restore({ ...snap, state: { ...snap.state, current: { ...older, unavailable: undefined as unknown as string[] } } })
    expect(again.m.snapshot().state.current.unavailable).toEqual([])
  })
})
