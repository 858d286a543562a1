/**
 * The `reward-payout` kind (src/training/service/payout-kind.ts) under consensus's real kind registry and operator
 * policy, and the rewards bridge's gate (src/training/service/rewards.ts): with a live consensus the creator proposes
 * each round's payouts and signs that round's vouchers only once the proposal is accepted (the executor releases it);
 * where consensus answers ERR_UNAVAILABLE (no electorate) it pays right after the round, as before. The chain side is
 * a small in-memory port recording what the bridge asks of it (as in rewards.test.ts).
 */
import { describe, it, expect } from 'vitest'
import { silentLogger } from '../../../../src/common/logger.js'
import { ConsensusError, KindRegistry, policyVerdict, type Proposal } from '../../../../src/consensus/index.js'
import { RewardsBridge } from '../../../../src/training/service/rewards.js'
import { ADDR, JOB, fakeJob, noState, recordingPort, report } from './rewards-fixtures.js'
import { rewardPayoutKind } from '../../../../src/training/service/payout-kind.js'
import { REWARD_PAYOUT_KIND, type RewardPayoutPayload } from '../../../../src/training/protocol/reward-payout.js'
import type { JobRuntime } from '../../../../src/training/service/runtime.js'
import type { RoundReport } from '../../../../src/training/service/api-types.js'

const payload = (round: number, payouts: Array<[string, string]>): RewardPayoutPayload => ({ jobId: JOB, round, payouts: payouts.map(([peerId, wei]) => ({ peerId, wei })) })

function setup (self: string, job: JobRuntime, consensus: 'live' | 'unavailable' | 'none'): { bridge: RewardsBridge, calls: string[], created: RewardPayoutPayload[] } {
  const calls: string[] = []
  const created: RewardPayoutPayload[] = []
  const port = recordingPort(self, calls)
  const proposals = {
    create: async (req: { kind: string, payload: unknown, ttlSeconds?: number }): Promise<{ id: string }> => {
      calls.push(`propose ${req.kind}`)
      if (consensus === 'unavailable') throw new ConsensusError('ERR_UNAVAILABLE', 'no electorate: the genesis names no pre-trusted peer')
      created.push(req.payload as RewardPayoutPayload)
      return { id: `p${created.length}` }
    }
  }
  const bridge = new RewardsBridge({
    self,
    port,
    ...(consensus !== 'none' ? { proposals } : {}),
    state: noState,
    jobs: () => [job],
    job: id => id === JOB ? job : undefined,
    publish: async () => {},
    events: { emit: () => {} },
    logger: silentLogger
  })
  return { bridge, calls, created }
}

const flush = async (b: RewardsBridge): Promise<void> => { for (let i = 0; i < 3; i++) await b.stop() }
const a = ADDR.A.slice(0, 4)
const b = ADDR.B.slice(0, 4)

describe('the rewards bridge behind reward-payout proposals', () => {
  it('consensus unavailable (no electorate): pays right after each round, asking consensus once per job', async () => {
    const { job } = fakeJob('C')
    const { bridge, calls } = setup('C', job, 'unavailable')
    bridge.onMessage(job, 'A', { type: 'payee', jobId: JOB, address: ADDR.A })
    job.reports = [report(0, [['A', '100']])]
    bridge.onRound(job)
    await flush(bridge)
    job.reports = [...job.reports, report(1, [['A', '100']])]
    bridge.onRound(job)
    await flush(bridge)
    expect(calls).toEqual(['propose reward-payout', `pay 0 ${a}=100`, `pay 1 ${a}=100`])
  })

  it('no consensus at all: pays right after each round, proposing nothing', async () => {
    const { job } = fakeJob('C')
    const { bridge, calls } = setup('C', job, 'none')
    bridge.onMessage(job, 'A', { type: 'payee', jobId: JOB, address: ADDR.A })
    job.reports = [report(0, [['A', '100']])]
    bridge.onRound(job)
    await flush(bridge)
    expect(calls).toEqual([`pay 0 ${a}=100`])
  })

  it('consensus live: each round is proposed once and paid only when its accepted payouts equal the ones computed here; the reserve closes after the last release', async () => {
    const { job, finish } = fakeJob('C')
    const { bridge, calls, created } = setup('C', job, 'live')
    bridge.onMessage(job, 'A', { type: 'payee', jobId: JOB, address: ADDR.A })
    bridge.onMessage(job, 'B', { type: 'payee', jobId: JOB, address: ADDR.B })
    job.reports = [report(0, [['A', '30'], ['B', '60'], ['C', '10']])]
    bridge.onRound(job)
    await flush(bridge)
    // proposed (the report's payouts, the creator's own share included), nothing paid yet
    expect(calls).toEqual(['propose reward-payout'])
    expect(created).toEqual([payload(0, [['A', '30'], ['B', '60'], ['C', '10']])])
    bridge.onRound(job) // a retry while the proposal is open proposes nothing more
    await flush(bridge)
    expect(calls).toEqual(['propose reward-payout'])

    // an accepted proposal with other payouts than this node's releases nothing (and is not recorded)
    await bridge.release(payload(0, [['A', '60'], ['B', '30'], ['C', '10']]), 'px')
    await flush(bridge)
    expect(calls).toEqual(['propose reward-payout'])
    expect(job.rewards?.approved).toBeUndefined()

    // the next round is proposed too; accepting round 1 pays round 1 only
    job.reports = [report(0, [['A', '30'], ['B', '60'], ['C', '10']]), report(1, [['A', '50'], ['B', '50']])]
    bridge.onRound(job)
    await flush(bridge)
    expect(created.map(p => p.round)).toEqual([0, 1])
    await bridge.release(payload(1, [['A', '50'], ['B', '50']]), 'p2')
    await flush(bridge)
    expect(calls.filter(c => c.startsWith('pay'))).toEqual([`pay 1 ${a}=50,${b}=50`])
    // executed again (every accepted proposal runs once per node, but a second proposal may be accepted): no double pay
    await bridge.release(payload(1, [['A', '50'], ['B', '50']]), 'p3')
    await flush(bridge)
    expect(calls.filter(c => c.startsWith('pay'))).toEqual([`pay 1 ${a}=50,${b}=50`])

    // the last round: the job is over, but the reserve stays open while a round waits for its proposal
    job.reports = [...job.reports, report(2, [['A', '0'], ['B', '100']])]
    finish()
    bridge.onRound(job)
    await flush(bridge)
    expect(created.map(p => p.round)).toEqual([0, 1, 2])
    await bridge.release(payload(2, [['A', '0'], ['B', '100']]), 'p4')
    await flush(bridge)
    expect(calls).not.toContain('close')
    expect(job.rewards?.approved).toEqual({ 1: payload(1, [['A', '50'], ['B', '50']]).payouts, 2: payload(2, [['A', '0'], ['B', '100']]).payouts })
    expect(calls.filter(c => c.startsWith('pay'))).toEqual([`pay 1 ${a}=50,${b}=50`, `pay 2 ${b}=100`])
    // round 0 waits for an acceptance of its own payouts; then everything is paid and the reserve closes
    await bridge.release(payload(0, [['A', '30'], ['B', '60'], ['C', '10']]), 'p1')
    await flush(bridge)
    expect(calls.slice(-2)).toEqual([`pay 0 ${a}=30,${b}=60`, 'close'])
  })

  it('consensus live: once round 0 is released by matching payouts, everything is paid and the reserve closes', async () => {
    const { job, finish } = fakeJob('C')
    const { bridge, calls } = setup('C', job, 'live')
    bridge.onMessage(job, 'A', { type: 'payee', jobId: JOB, address: ADDR.A })
    job.reports = [report(0, [['A', '100']]), report(1, [['A', '100']]), report(2, [['A', '100']])]
    finish()
    bridge.onRound(job)
    await flush(bridge)
    expect(calls).toEqual(['propose reward-payout', 'propose reward-payout', 'propose reward-payout'])
    for (const r of [2, 0, 1]) await bridge.release(payload(r, [['A', '100']]), `p${r}`)
    await flush(bridge)
    expect(calls.slice(3)).toEqual([`pay 2 ${a}=100`, `pay 0 ${a}=100`, `pay 1 ${a}=100`, 'close'])
  })

  it('another node executing the accepted proposal does nothing', async () => {
    const { job } = fakeJob('C')
    const { bridge, calls } = setup('A', job, 'live')
    job.reports = [report(0, [['A', '100']])]
    await bridge.release(payload(0, [['A', '100']]), 'p1')
    await flush(bridge)
    expect(calls).toEqual([])
    expect(job.rewards?.approved).toBeUndefined()
  })
})

describe('the reward-payout kind under consensus\'s registry and policy', () => {
  const own = report(0, [['A', '30'], ['B', '60'], ['C', '10']])
  const proposal = (p: unknown): Proposal => ({ kind: REWARD_PAYOUT_KIND, payload: p, proposer: 'C', createdAt: 1, expiresAt: 2, snapshot: 0 }) as Proposal

  function registered (known: boolean): { registry: KindRegistry, released: string[], reports: RoundReport[] } {
    const { job } = fakeJob('C')
    const released: string[] = []
    const registry = new KindRegistry()
    registry.register(rewardPayoutKind({
      job: id => known && id === JOB ? job : undefined,
      release: async (p, id) => { released.push(`${id}:${p.round}`) }
    }))
    return { registry, released, reports: job.reports }
  }

  it('checks the shape always and the round budget where the job is known', () => {
    const { registry } = registered(true)
    const ok = payload(0, [['A', '30'], ['B', '60'], ['C', '10']])
    expect(() => { registry.check({ id: 'p', proposal: proposal(ok) }) }).not.toThrow()
    expect(() => { registry.check({ id: 'p', proposal: proposal(payload(0, [['A', '31'], ['B', '60'], ['C', '10']])) }) }).toThrow(/round 0's budget is 100 wei/)
    expect(() => { registry.check({ id: 'p', proposal: proposal({ ...ok, payouts: [{ peerId: 'A', wei: -1 }] }) }) }).toThrow(/payload/)
    expect(() => { registry.check({ id: 'p', proposal: proposal(payload(0, [['B', '60'], ['A', '40']])) }) }).toThrow(/sorted by peer id/)
    // a node that does not know the job yet keeps a well-formed proposal and judges it later
    expect(() => { registered(false).registry.check({ id: 'p', proposal: proposal(payload(0, [['A', '31']])) }) }).not.toThrow()
  })

  it('votes by its own payouts under its default policy (auto): yes, no, or wait for the seal', async () => {
    const { registry, reports } = registered(true)
    const kind = registry.get(REWARD_PAYOUT_KIND)
    expect(kind.defaultPolicy).toEqual({ mode: 'auto' })
    const vote = async (p: RewardPayoutPayload): Promise<string> => policyVerdict(kind.defaultPolicy ?? { mode: 'manual' }, await (kind.assess?.(p, { id: 'p', proposal: proposal(p) }) ?? { valid: true }))
    const mine = payload(0, [['A', '30'], ['B', '60'], ['C', '10']])
    expect(await vote(mine)).toBe('wait') // the seal of round 0 is not adopted here yet
    reports.push(own)
    expect(await vote(mine)).toBe('yes')
    expect(await vote(payload(0, [['A', '40'], ['B', '50'], ['C', '10']]))).toBe('no')
    expect(await vote(payload(0, [['A', '40'], ['B', '60']]))).toBe('no')
    const unknown = registered(false).registry.get(REWARD_PAYOUT_KIND)
    expect(policyVerdict({ mode: 'auto' }, await (unknown.assess?.(mine, { id: 'p', proposal: proposal(mine) }) ?? { valid: true }))).toBe('wait')
  })

  it('executes by releasing the round', async () => {
    const { registry, released } = registered(true)
    await registry.get(REWARD_PAYOUT_KIND).execute(payload(1, []), { id: 'p7', proposal: proposal(payload(1, [])) })
    expect(released).toEqual(['p7:1'])
  })
})
