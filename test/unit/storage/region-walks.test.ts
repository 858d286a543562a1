import { describe, it, expect } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { RegionWalks, type WalkPeer } from '../../../src/storage/batch-provide.js'

const peer = (s: string): WalkPeer => ({ peer: peerIdFromString(s), id: new Uint8Array(32) })
const A = peer('12D3KooWQjZBe3AejsnrfVfxmDdu4hv8bptRBBBPqTauo4BkQrzN')
const B = peer('12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq')

describe('RegionWalks: a region walked less than the TTL ago is not walked again', () => {
  const at = (t: { now: number }): RegionWalks => new RegionWalks(60_000, () => t.now)

  it.each([
    { case: 'fresh: reused', after: 59_999, want: [A, B] },
    { case: 'at the TTL: walked again', after: 60_000, want: undefined },
    { case: 'past it: walked again', after: 120_000, want: undefined }
  ])('$case', ({ after, want }) => {
    const t = { now: 1_000 }
    const walks = at(t)
    walks.set(0, 0, [A, B])
    t.now += after
    expect(walks.get(0, 0)).toEqual(want)
  })

  it('names a region by its prefix and its width: a wider prefix (a grown routing table) is another region', () => {
    const t = { now: 0 }
    const walks = at(t)
    walks.set(1, 0, [A])
    expect(walks.get(1, 0)).toEqual([A])
    expect(walks.get(1, 1)).toBeUndefined()
    expect(walks.get(2, 0)).toBeUndefined()
  })

  it('keeps no empty walk (nothing found is walked again next batch)', () => {
    const walks = at({ now: 0 })
    walks.set(0, 0, [])
    expect(walks.get(0, 0)).toBeUndefined()
  })

  it('forgets every walk that found a peer that did not take its records, and only those', () => {
    const walks = at({ now: 0 })
    walks.set(1, 0, [A, B])
    walks.set(1, 1, [B])
    walks.forget(A.peer.toString())
    expect(walks.get(1, 0)).toBeUndefined()
    expect(walks.get(1, 1)).toEqual([B])
  })

  it.each([
    { random: 0, kept: 48_000 },
    { random: 0.5, kept: 60_000 },
    { random: 0.999_999, kept: 72_000 }
  ])('spreads each walk\'s time by the jitter (random $random: kept $kept ms)', ({ random, kept }) => {
    const t = { now: 0 }
    const walks = new RegionWalks(60_000, () => t.now, 0.2, () => random)
    walks.set(0, 0, [A])
    t.now = kept - 1
    expect(walks.get(0, 0)).toEqual([A])
    t.now = Math.ceil(kept)
    expect(walks.get(0, 0)).toBeUndefined()
  })

  it.each([
    { case: 'fewer than k peers (it found every peer it could reach): the whole keyspace of a small table', peers: [A, B], k: 3, want: [A, B] },
    { case: 'k peers (there may be more it did not reach): not kept', peers: [A, B], k: 2, want: undefined },
    { case: 'nobody: not kept', peers: [], k: 20, want: undefined }
  ])('takes another walk towards any key (discovery\'s) that found $case', ({ peers, k, want }) => {
    const walks = at({ now: 0 })
    walks.exhaustive(peers, k)
    expect(walks.get(0, 0)).toEqual(want)
    expect(walks.get(1, 0)).toBeUndefined()
  })

  it('with a TTL of 0, never reuses a walk', () => {
    const walks = new RegionWalks(0, () => 5)
    walks.set(0, 0, [A])
    expect(walks.get(0, 0)).toBeUndefined()
  })
})
