/**
 * Pruning on real nodes (MESHNODE_SLOW_TESTS=1 only: it starts its own 4-node mesh, ~1 min; CI covers the rule and
 * its I/O in test/unit/consensus/prune.test.ts and store.test.ts). With `retainEpochs: 1` and a short freshness
 * window, the nodes forget an expired proposal while a node is away; the node comes back and syncs every epoch it
 * missed from the pruned peers, checking each QC; a pruned node restarts from its pruned store; all hashes agree.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { waitFor } from '../../harness/index.js'
import { commonHashes, startConsensusMesh, waitEpoch, type ConsensusMesh } from './helpers.js'

const SLOW = process.env.MESHNODE_SLOW_TESTS === '1'
const T = 1_000_000_000_000n
const ALL = [0, 1, 2, 3]

/** Prune after 1 s instead of the gossip window (10 min): only the pruner reads `init` after start. */
function pruneSoon (cm: ConsensusMesh, nodes: number[]): void {
  for (const i of nodes) cm.service(i).init.recordMaxAgeMs = 1000
}

describe.skipIf(!SLOW)('pruning consensus records on 4 nodes', () => {
  let cm: ConsensusMesh
  beforeAll(async () => {
    cm = await startConsensusMesh([2n * T, 2n * T, T, T], { consensus: { retainEpochs: 1 } })
    pruneSoon(cm, ALL)
    await waitEpoch(cm, ALL, 1)
  }, 180_000)
  afterAll(async () => { await cm?.mesh.close() })

  it('forgets settled records, still serves catch-up, and restarts from a pruned store to the same hash', async () => {
    const passed = await cm.service(0).create({ kind: 'network-param', payload: { name: 'test.kept', value: 1 }, ttlSeconds: 6 })
    const expired = await cm.service(0).create({ kind: 'network-param', payload: { name: 'test.dropped', value: 2 }, ttlSeconds: 4 })
    await waitFor(() => { try { cm.service(1).get(passed.id); return true } catch { return false } }, { timeoutMs: 30_000, what: 'the proposal at node 1' })
    await cm.service(1).vote(passed.id, 'yes')
    await waitFor(() => ALL.every(i => cm.service(i).get(passed.id).epoch != null), { timeoutMs: 45_000, what: 'an epoch listing the passed proposal' })
    const listedAt = cm.service(0).get(passed.id).epoch ?? 0

    await cm.handle(3).stop()
    const others = [0, 1, 2]
    await waitEpoch(cm, others, listedAt + 4, 60_000)
    // the expired proposal is gone; the listed one stays with its certificate (the chain and catch-up need it)
    await waitFor(() => others.every(i => { try { cm.service(i).get(expired.id); return false } catch { return true } }), { timeoutMs: 30_000, what: 'the expired proposal pruned' })
    for (const i of others) expect(cm.service(i).get(passed.id).certificate?.voters.length).toBeGreaterThanOrEqual(2)
    const pruned = await cm.node(0).metrics.registry.getSingleMetric('meshnode_consensus_pruned_total')?.get()
    expect(pruned?.values.find(v => v.labels.record === 'proposal')?.value ?? 0).toBeGreaterThan(0)

    // node 3 comes back and syncs the epochs it missed from pruned peers, checking every QC
    const target = cm.service(0).chain.epoch
    await cm.revive(3, [0, 1])
    pruneSoon(cm, [3])
    await waitFor(() => cm.service(3).chain.epoch >= target, { timeoutMs: 60_000, what: 'the returning node to sync' })
    // a pruned node restarts from its pruned store: the chain replays to the same table
    await cm.revive(0, [1, 2])
    pruneSoon(cm, [0])
    await waitEpoch(cm, ALL, cm.service(1).chain.epoch + 1, 60_000)
    await waitFor(() => new Set(commonHashes(cm, ALL).hashes).size === 1, { timeoutMs: 30_000, what: 'equal reputation hashes' })
    expect(cm.service(0).param('test.kept')).toBe(1)
    expect(cm.service(3).param('test.kept')).toBe(1)
  })
})
