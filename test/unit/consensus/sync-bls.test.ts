/**
 * Synced QCs above the BLS threshold travel as aggregates (catchup.ts): a node that was away learns each voter's key
 * once, from the voter's own signed vote, then checks each QC with one aggregate verify, and serves the same on. Real
 * services, keys, BLS signatures and Level stores (bench/fixtures/offline-chain.ts); the bundles are handed over.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { EpochBundle } from '../../../src/consensus/service/sync.js'
import { adoptBundles, buildOfflineChain, type OfflineChain } from '../../../bench/fixtures/offline-chain.js'

const chains: OfflineChain[] = []
afterEach(async () => { for (const c of chains.splice(0)) await c.services.close() })

async function chainOf (voters: number, threshold: number): Promise<OfflineChain> {
  const c = await buildOfflineChain({ voters, epochs: 3, blsQcThreshold: threshold })
  chains.push(c)
  return c
}

describe('synced aggregate QCs', () => {
  it('a node that was away checks aggregates with keys learnt from binding votes, reaches the same table, and serves them on', async () => {
    const c = await chainOf(8, 4)
    for (const b of c.bundles) {
      // each QC counts the voters that reached 2/3 first (6 of 8 at least); the bundle carries a binding vote of each
      const voters = new Set([b.qc, ...b.items.map(i => i.qc)].flatMap(qc => [...(qc.aggregate?.voters ?? [])]))
      expect(b.qc.aggregate?.voters.length).toBeGreaterThanOrEqual(6)
      expect(b.items.every(i => i.qc.aggregate != null && i.qc.votes.length === 0)).toBe(true)
      expect(b.bindings?.length).toBe(voters.size)
    }
    const away = await c.services.start(c.outsider)
    await adoptBundles(away, c.bundles)
    expect(away.chain.epoch).toBe(3)
    expect(away.chain.hash()).toBe(c.builder.chain.hash())
    // every synced proposal's certificate is the aggregate; its voters are the aggregate's
    const first = c.bundles[2].items[0].qc.proposalId
    expect(away.get(first).certificate).toMatchObject({ voters: [...(c.bundles[2].items[0].qc.aggregate?.voters ?? [])], votes: 0 })
    // served on: the same aggregates with binding votes, from which a third node reaches the same table
    const served = await Promise.all([1, 2, 3].map(async e => await away['ingest'].catchUp.epochBundle(e) as EpochBundle))
    expect(served.map(b => b.qc.aggregate?.signature)).toEqual(c.bundles.map(b => b.qc.aggregate?.signature))
    expect(served.map(b => b.bindings?.length)).toEqual(c.bundles.map(b => b.bindings?.length))
    const third = await c.services.start(await generateKeyPair('Ed25519'))
    await adoptBundles(third, served)
    expect(third.chain.hash()).toBe(c.builder.chain.hash())
    // and after a restart (its stored aggregates, binding votes and chain read back), it serves them still
    const restarted = await c.services.restart(away)
    expect(restarted.chain.hash()).toBe(c.builder.chain.hash())
    const again = await Promise.all([1, 2, 3].map(async e => await restarted['ingest'].catchUp.epochBundle(e) as EpochBundle))
    expect(again.map(b => b.qc.aggregate?.signature)).toEqual(served.map(b => b.qc.aggregate?.signature))
    const fourth = await c.services.start(await generateKeyPair('Ed25519'))
    await adoptBundles(fourth, again)
    expect(fourth.chain.hash()).toBe(c.builder.chain.hash())
  }, 60_000)

  it('refuses an aggregate that does not verify, and one whose voters\' keys it cannot learn', async () => {
    const c = await chainOf(8, 4)
    const away = await c.services.start(c.outsider)
    const [b] = c.bundles
    // no binding votes: the voters' keys are unknown here, so the aggregate cannot be checked
    await expect(adoptBundles(away, [{ ...b, bindings: [] }])).rejects.toMatchObject({ code: 'ERR_QC' })
    // another QC's aggregate signature (the keys are learnt from the binding votes now)
    const agg = b.qc.aggregate
    if (agg == null) throw new Error('expected an aggregate QC')
    const forged: EpochBundle = { ...b, qc: { ...b.qc, aggregate: { ...agg, signature: c.bundles[1].qc.aggregate?.signature ?? new Uint8Array(96) } } }
    await expect(adoptBundles(away, [forged])).rejects.toMatchObject({ code: 'ERR_QC' })
    expect(away.chain.epoch).toBe(0)
    await adoptBundles(away, [b])
    expect(away.chain.epoch).toBe(1)
  }, 60_000)

  it('below the threshold QCs stay vote lists, with no binding votes', async () => {
    const c = await chainOf(4, 4)
    expect(c.bundles.every(b => b.qc.aggregate == null && b.qc.votes.length > 0 && b.bindings == null)).toBe(true)
    const away = await c.services.start(c.outsider)
    await adoptBundles(away, c.bundles)
    expect(away.chain.hash()).toBe(c.builder.chain.hash())
  }, 60_000)
})
