/**
 * The pruning rule (core/prune.ts), table-tested: what a node forgets of settled proposals older than `retainEpochs`,
 * and what it keeps because the epoch chain and catch-up still need it. Plus the service's side on real entries: the
 * rule's view of an entry and the in-memory result of a prune, with its delete batch.
 */
import { describe, it, expect } from 'vitest'
import { planPrune, type PruneProposal, type PruneVote } from '../../../src/consensus/core/prune.js'
import type { ProposalStatus } from '../../../src/consensus/core/tally.js'

const HEAD = 100
const RETAIN = 10
const NOW = 1_000_000
const CLOSED_FOR = 600_000
/** Closed long enough ago (NOW - OLD > CLOSED_FOR). */
const OLD = 100_000

const vote = (voter: string, choice: PruneVote['choice'] = 'yes', seq = 50_000): PruneVote => ({ voter, seq, choice })

function p (over: Partial<PruneProposal> & { status: ProposalStatus }): PruneProposal {
  return {
    id: 'x',
    chainKind: false,
    executed: over.status === 'accepted',
    epoch: null,
    snapshot: 50,
    expiresAt: OLD,
    hasQc: over.status === 'accepted',
    votes: [vote('a'), vote('b', 'no')],
    vetoes: [],
    ...over
  }
}

const plan = (...proposals: PruneProposal[]): ReturnType<typeof planPrune> =>
  planPrune({ head: HEAD, retainEpochs: RETAIN, now: NOW, closedForMs: CLOSED_FOR, proposals })

describe('planPrune: whole proposals', () => {
  it.each<[string, PruneProposal, boolean]>([
    ['expired, old snapshot, closed long ago', p({ status: 'expired' }), true],
    ['rejected, old', p({ status: 'rejected' }), true],
    ['vetoed, old', p({ status: 'vetoed', vetoes: ['g'] }), true],
    ['an accepted epoch proposal the chain did not take (executed, never listed)', p({ status: 'accepted', chainKind: true, epoch: null }), true],
    ['pending, however old', p({ status: 'pending', snapshot: 1 }), false],
    ['accepted but not executed yet', p({ status: 'accepted', executed: false, epoch: null }), false],
    ['accepted, executed, waiting for an epoch to list it', p({ status: 'accepted', epoch: null }), false],
    ['accepted and listed long ago: the chain keeps it', p({ status: 'accepted', epoch: 20, listedVoters: ['a'] }), false],
    ['the chain\'s epoch proposal: kept', p({ status: 'accepted', chainKind: true, epoch: 20 }), false],
    ['expired, exactly retainEpochs ago (kept)', p({ status: 'expired', snapshot: HEAD - RETAIN }), false],
    ['expired, retainEpochs + 1 ago (dropped)', p({ status: 'expired', snapshot: HEAD - RETAIN - 1 }), true],
    ['expired, old epoch but closed within the freshness window', p({ status: 'expired', expiresAt: NOW - CLOSED_FOR }), false],
    ['expired, closed just outside the freshness window', p({ status: 'expired', expiresAt: NOW - CLOSED_FOR - 1 }), true],
    ['listed: the listing epoch, not the snapshot, ages it', p({ status: 'rejected', snapshot: 1, epoch: HEAD - 2 }), false]
  ])('%s', (_, prop, dropped) => {
    const out = plan(prop)
    expect(out.proposals).toEqual(dropped ? ['x'] : [])
    // a dropped proposal goes whole: no single-record deletes of it besides
    if (dropped) expect([...out.votes, ...out.vetoes]).toEqual([])
  })

  it('nothing is dropped with a non-integer or negative retention', () => {
    for (const retainEpochs of [-1, 1.5, Number.NaN]) {
      expect(planPrune({ head: HEAD, retainEpochs, now: NOW, closedForMs: CLOSED_FOR, proposals: [p({ status: 'expired' })] }).proposals).toEqual([])
    }
  })

  it('the plan is sorted by id whatever the input order', () => {
    const out = plan(p({ id: 'c', status: 'expired' }), p({ id: 'a', status: 'rejected' }), p({ id: 'b', status: 'pending' }), p({ id: 'aa', status: 'vetoed' }))
    expect(out.proposals).toEqual(['a', 'aa', 'c'])
  })
})

describe('planPrune: what the chain and catch-up keep of old proposals', () => {
  it.each<[string, PruneProposal, Array<[string, number]>, string[]]>([
    ['a listed proposal keeps its listed voters\' yes votes; other votes and the vetoes go',
      p({ status: 'accepted', epoch: 20, listedVoters: ['a', 'c'], votes: [vote('a'), vote('b', 'no'), vote('c'), vote('d'), vote('e', 'abstain')], vetoes: ['g'] }),
      [['b', 50_000], ['d', 50_000], ['e', 50_000]], ['g']],
    ['a listed voter\'s no vote (an equivocation\'s other half) goes, the yes stays',
      p({ status: 'accepted', epoch: 20, listedVoters: ['a'], votes: [vote('a', 'yes', 10), vote('a', 'no', 20)] }),
      [['a', 20]], []],
    ['a listed voter\'s yes signed after expiry is not the QC\'s: it goes',
      p({ status: 'accepted', epoch: 20, listedVoters: ['a'], votes: [vote('a', 'yes', OLD + 1)] }),
      [['a', OLD + 1]], []],
    ['a listed proposal whose listed voters are unknown here keeps every vote',
      p({ status: 'accepted', epoch: 20, votes: [vote('a'), vote('b', 'no')], vetoes: ['g'] }),
      [], []],
    ['the chain\'s epoch proposal with its QC: every vote goes (the QC holds the yes votes)',
      p({ status: 'accepted', chainKind: true, epoch: 20, votes: [vote('a'), vote('b', 'no')] }),
      [['a', 50_000], ['b', 50_000]], []],
    ['the chain\'s epoch proposal without a stored QC keeps its votes',
      p({ status: 'accepted', chainKind: true, epoch: 20, hasQc: false, votes: [vote('a'), vote('b', 'no')] }),
      [], []],
    ['a listed proposal inside the retention keeps everything',
      p({ status: 'accepted', epoch: HEAD - 1, listedVoters: [], votes: [vote('a'), vote('b', 'no')], vetoes: ['g'] }),
      [], []]
  ])('%s', (_, prop, votes, vetoes) => {
    const out = plan(prop)
    expect(out.proposals).toEqual([])
    expect(out.votes).toEqual(votes.map(([voter, seq]) => ({ id: 'x', voter, seq })))
    expect(out.vetoes).toEqual(vetoes.map(guardian => ({ id: 'x', guardian })))
  })
})
