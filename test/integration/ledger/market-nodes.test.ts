/**
 * The FTNS market across three real in-process nodes on one anvil (the ledger on, its embedded local chain with the
 * test quote token): an order posted on one node reaches the others' books; unfunded, forged, replayed and
 * cross-chain orders are refused at gossip validation with their reasons (and lower the sender's market topic score),
 * an ask from a node whose hardware record never comes after `hardwareWaitMs`; a maker's orders share its balance; a
 * cancelled order cannot be filled; an order a node's failed chain read kept out is admitted once the chain answers; two takers race for one order and exactly one wins, with every balance exact;
 * expired orders vanish everywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { JsonRpcProvider, Wallet } from 'ethers'
import { CLI, Mesh, REPO_ROOT, freePort, waitFor, type NodeHandle } from '../../harness/index.js'
import { ClientError } from '../../../src/node/cli/client.js'
import {
  attachCreditVault, attachFTNSToken, attachTestQuoteToken, encodeOrderMessage, localContractAddresses, localQuoteAddress, marketTopic, signComputeMessage, signTradeMessage,
  MarketError, type BookView, type FillView, type FillsView, type PostOrderResult, type TradeOrderFields, type WalletView
} from '../../../src/ledger/index.js'
import type { NodeEvent } from '../../../src/common/events.js'

const MARKET = 'ftns-tusd'
const LOT = 10n ** 18n
const PRICE = 2_000_000n // 2 TUSD per lot
const exec = promisify(execFile)

describe('market across nodes (anvil)', () => {
  let mesh: Mesh
  let nodes: NodeHandle[]
  let provider: JsonRpcProvider
  let wallets: string[]
  const events: Array<Array<NodeEvent<any>>> = [[], [], []]
  let config0: object = {}

  beforeAll(async () => {
    const port = await freePort()
    const config = config0 = { ledger: { enabled: true, anvil: { port } }, market: { revalidateMs: 1000, fundingTtlMs: 300, hardwareWaitMs: 3000 } }
    mesh = new Mesh()
    const a = await mesh.add({ mode: 'inprocess', config })
    await Promise.all([1, 2].map(async () => await mesh.add({ mode: 'inprocess', config, bootstrap: a.addresses })))
    // in the mesh's order (meshNode(i) is nodes[i]): the two later nodes are pushed as their data dirs are ready
    nodes = [...mesh.nodes]
    nodes.forEach((_, i) => { mesh.meshNode(i).events.subscribe(e => { if (e.type.startsWith('market.')) events[i].push(e) }) })
    for (const n of nodes) await waitFor(async () => await n.api.request('GET', '/v1/market/books').then(() => true, () => false), { timeoutMs: 90_000, what: `node ${n.index}'s market` })
    wallets = await Promise.all(nodes.map(async n => (await n.api.request<WalletView>('GET', '/v1/wallet')).address))
    provider = new JsonRpcProvider(`http://127.0.0.1:${port}`, 31337, { staticNetwork: true })
  }, 120_000)

  afterAll(async () => {
    provider?.destroy()
    await mesh?.close()
  })

  const post = async (n: NodeHandle, over: Record<string, unknown> = {}): Promise<PostOrderResult> =>
    await n.api.request<PostOrderResult>('POST', '/v1/market/orders', { json: { market: MARKET, side: 'ask', price: PRICE.toString(), units: '2', ...over } })
  const book = async (n: NodeHandle): Promise<BookView> => await n.api.request<BookView>('GET', `/v1/market/books/${MARKET}`)
  const has = async (n: NodeHandle, hash: string): Promise<boolean> => (await book(n)).asks.concat((await book(n)).bids).some(o => o.hash === hash)
  const balances = async (): Promise<Array<{ ftns: bigint, quote: bigint }>> => {
    const ftns = attachFTNSToken(localContractAddresses().FTNSToken, provider)
    const quote = attachTestQuoteToken(localQuoteAddress(), provider)
    return await Promise.all(wallets.map(async w => ({ ftns: await ftns.balanceOf(w), quote: await quote.balanceOf(w) })))
  }
  /** Waits for `hash` in node i's book; a timeout says what node i's market reported of it and its gossip verdicts. */
  const inBook = async (i: number, hash: string): Promise<void> => {
    await waitFor(async () => {
      if (await has(nodes[i], hash)) return true
      const said = events[i].filter(e => JSON.stringify(e.data).includes(hash)).map(e => `${e.type} ${JSON.stringify(e.data)}`)
      const verdicts = (await (await nodes[i].api.fetch('GET', '/metrics')).text()).split('\n').filter(l => l.startsWith('meshnode_gossip_validation_total') && l.includes('market'))
      throw new Error(`not in the book; its events: [${said.join('; ')}]; market gossip verdicts: ${verdicts.join(', ')}`)
    }, { timeoutMs: 30_000, intervalMs: 250, what: `the order in node ${i}'s book` })
  }
  const refused = (i: number, reason: string): boolean => events[i].some(e => e.type === 'market.order-refused' && e.data.reason === reason && e.data.via === 'gossip')

  it('an order posted on one node appears in the others\' books; two takers race for it: one fills, one gets a reason, balances exact', async () => {
    const [a, b, c] = nodes
    const posted = await post(a, { units: '3', minFill: '3' })
    expect(posted.order).toMatchObject({ side: 'ask', units: '3', price: PRICE.toString(), maker: wallets[0] })
    for (const i of [1, 2]) await inBook(i, posted.hash)
    const view = await book(b)
    expect(view.bestAsk).toBe(PRICE.toString())
    expect(view.depth.asks[0]).toMatchObject({ price: PRICE.toString(), units: '3', orders: 1 })

    const before = await balances()
    const race = await Promise.allSettled([b, c].map(async n => await n.api.request<FillView>('POST', '/v1/market/fills', { json: { orderHash: posted.hash, units: '3' } })))
    const won = race.flatMap((r, i) => r.status === 'fulfilled' ? [{ i: i + 1, fill: r.value }] : [])
    const lost = race.flatMap((r, i) => r.status === 'rejected' ? [{ i: i + 1, err: r.reason as ClientError }] : [])
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(1)
    expect(won[0].fill).toMatchObject({ state: 'done', units: '3', cost: (3n * PRICE).toString() })
    expect(won[0].fill.tx).toMatch(/^0x[0-9a-f]{64}$/)
    expect(lost[0].err).toBeInstanceOf(ClientError)
    expect(['ERR_FILLED', 'ERR_OVERFILL']).toContain(lost[0].err.code)
    expect(lost[0].err.status).toBe(409)

    // atomic: FTNS and TUSD changed hands exactly between the maker and the winner; the loser lost nothing
    const after = await balances()
    const w = won[0].i
    const l = lost[0].i
    expect(after[0].ftns).toBe(before[0].ftns - 3n * LOT)
    expect(after[0].quote).toBe(before[0].quote + 3n * PRICE)
    expect(after[w].ftns).toBe(before[w].ftns + 3n * LOT)
    expect(after[w].quote).toBe(before[w].quote - 3n * PRICE)
    expect(after[l]).toEqual(before[l])

    // the failed fill is listed with its reason; the maker sees its fill from the chain; every book drops the order
    const loserFills = await nodes[l].api.request<FillsView>('GET', '/v1/market/fills')
    expect(loserFills.fills[0]).toMatchObject({ state: 'failed', reason: lost[0].err.code === 'ERR_FILLED' ? 'filled' : 'overfill' })
    await waitFor(async () => (await a.api.request<FillsView>('GET', '/v1/market/fills')).fills.some(f => f.role === 'maker' && f.tx === won[0].fill.tx), { timeoutMs: 20_000, what: 'the maker\'s fill' })
    for (const n of nodes) await waitFor(async () => !await has(n, posted.hash), { timeoutMs: 20_000, what: `the filled order gone from node ${n.index}` })
    expect(events[l].filter(e => e.type === 'market.fill').map(e => [e.data.state, e.data.reason])).toContainEqual(['failed', lost[0].err.code === 'ERR_FILLED' ? 'filled' : 'overfill'])
  }, 90_000)

  it('a taker fills two compute asks in one transaction: the FTNS move into vault locks, the book shows the rest', async () => {
    const [a, b] = nodes
    const E = (n: bigint): bigint => n * 10n ** 16n // hundredths of FTNS
    // an ask waits for its maker's hardware record (hardwareWaitMs): node 1 has node 0's by now, checked not assumed
    await waitFor(() => mesh.meshNode(1).hardware.get(a.peerId), { timeoutMs: 30_000, what: 'node 1 has node 0\'s hardware record' })
    const cheap = await post(a, { market: 'compute', price: E(1n).toString(), units: '3' })
    const dear = await post(a, { market: 'compute', price: E(2n).toString(), units: '5' })
    const rc = cheap.order.resourceClass as string
    expect(dear.order.resourceClass).toBe(rc)
    // a maker numbers its orders: consecutive salts share one on-chain fill-record slot (four to a slot) unless the
    // first closed a group
    const [s1, s2] = [BigInt(cheap.message.order.salt), BigInt(dear.message.order.salt)]
    expect((s1 & 3n) === 3n || s2 === s1 + 1n, `salts ${s1} then ${s2}`).toBe(true)
    await waitFor(async () => (await b.api.request<BookView>('GET', '/v1/market/books/compute')).asks.length === 2, { timeoutMs: 30_000, what: 'both asks at node 1' })
    await b.api.request('POST', '/v1/wallet/deposit', { json: { amount: '1' } })
    const vault = attachCreditVault(localContractAddresses().CreditVault, provider)
    const free = await vault.freeBalanceOf(wallets[1])
    const fill = await b.api.request<FillView>('POST', '/v1/market/fills', { json: { market: 'compute', side: 'buy', units: '6', limitPrice: E(2n).toString(), resourceClass: rc } })
    expect(fill).toMatchObject({ state: 'done', units: '6', cost: E(3n + 6n).toString() })
    expect(fill.orders.map(o => [o.hash, o.units])).toEqual([[cheap.hash, '3'], [dear.hash, '3']])
    // one transaction, two locks from the buyer to the provider, the buyer's free balance down by exactly the cost
    const receipt = await provider.getTransactionReceipt(fill.tx as string)
    expect(receipt?.logs.filter(l => l.address.toLowerCase() === localContractAddresses().ComputeMarket.toLowerCase()).length).toBe(2)
    expect(await vault.freeBalanceOf(wallets[1])).toBe(free - E(9n))
    for (const n of [a, b]) {
      await waitFor(async () => {
        const asks = (await n.api.request<BookView>('GET', '/v1/market/books/compute', { query: { resourceClass: rc } })).asks
        return asks.length === 1 && asks[0].hash === dear.hash && asks[0].units === '2'
      }, { timeoutMs: 20_000, what: `node ${n.index}'s compute book after the fill` })
    }
    await a.api.request('POST', '/v1/market/lanes/0/cancel')
    for (const n of [a, b]) await waitFor(async () => (await n.api.request<BookView>('GET', '/v1/market/books/compute')).asks.length === 0, { timeoutMs: 20_000, what: `node ${n.index} drops the cancelled lane` })
  }, 90_000)

  it('a cancelled order leaves every book and cannot be filled', async () => {
    const [a, b] = nodes
    const posted = await post(a)
    for (const i of [1, 2]) await inBook(i, posted.hash)
    const v = mesh.meshNode(1).market.current()?.find(posted.hash)
    expect(v).toBeDefined()
    await a.api.request('DELETE', `/v1/market/orders/${posted.hash}`)
    for (const i of [1, 2]) {
      await waitFor(() => events[i].some(e => e.type === 'market.order-removed' && e.data.hash === posted.hash && e.data.reason === 'cancelled'), { timeoutMs: 20_000, what: `node ${i} drops the cancelled order` })
    }
    await expect(b.api.request('POST', '/v1/market/fills', { json: { orderHash: posted.hash, units: '2' } })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' })
    // straight to the chain with the signed order: refused, and the reason says why
    const settlement = mesh.meshNode(1).market.current()?.rt?.settlement
    const err = await settlement?.fill([{ v: v as NonNullable<typeof v>, units: 2n }]).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(MarketError)
    expect((err as MarketError).reason).toBe('cancelled')
  }, 60_000)

  it('an order whose admission on one node failed on a chain read reaches that book once the chain answers', async () => {
    const [a, , c] = nodes
    // node 2's next two funding reads fail as an RPC timeout would (a fault injected at the chain-read boundary: the
    // gossip validator ignores the order, and gossipsub never delivers it again); its later reads go to anvil
    const funding = mesh.meshNode(2).market.current()?.rt?.funding
    if (funding === undefined) throw new Error('node 2 has no market runtime')
    const check = funding.check.bind(funding)
    let failing = 2
    funding.check = async v => { if (failing > 0) { failing--; throw new Error('request timeout (injected)') } return await check(v) }
    try {
      const posted = await post(a, { price: (PRICE * 7n).toString() })
      await waitFor(async () => await has(c, posted.hash), { timeoutMs: 20_000, what: 'the order in node 2\'s book after its chain reads failed' })
      expect(failing).toBe(0)
      const metrics = await (await c.api.fetch('GET', '/metrics')).text()
      expect(metrics).toMatch(/meshnode_gossip_validation_total\{[^}]*result="ignore"[^}]*code="ERR_CHAIN_UNAVAILABLE"[^}]*\} [1-9]/)
      await a.api.request('DELETE', `/v1/market/orders/${posted.hash}`)
      await waitFor(async () => !await has(c, posted.hash), { timeoutMs: 20_000, what: 'the order cancelled' })
    } finally {
      funding.check = check
    }
  }, 60_000)

  it('expired orders vanish from every node\'s book', async () => {
    const [a] = nodes
    const posted = await post(a, { ttlSec: 7 })
    for (const i of [1, 2]) await inBook(i, posted.hash)
    for (const n of nodes) await waitFor(async () => !await has(n, posted.hash), { timeoutMs: 30_000, what: `the expired order gone from node ${n.index}` })
    for (const i of [0, 1, 2]) expect(events[i].some(e => e.type === 'market.order-removed' && e.data.hash === posted.hash && e.data.reason === 'expired')).toBe(true)
  }, 60_000)

  it('a maker\'s orders share its balance: an ask its earlier ask leaves unbacked is refused ERR_UNFUNDED; a pass reads per maker', async () => {
    const [a, b] = nodes
    const ftns = attachFTNSToken(localContractAddresses().FTNSToken, provider)
    const [balance, allowance] = [await ftns.balanceOf(wallets[0]), await ftns.allowance(wallets[0], localContractAddresses().ComputeMarket)]
    const lots = (balance < allowance ? balance : allowance) / LOT
    // every FTNS lot node 0 has, at a price far from the other tests' (each ask alone is funded)
    const all = await post(a, { units: lots.toString(), price: (PRICE * 50n).toString() })
    const second = await post(a, { units: '1', price: (PRICE * 50n).toString() }).then(() => undefined, (e: unknown) => e)
    expect(second).toBeInstanceOf(ClientError)
    expect(second).toMatchObject({ code: 'ERR_UNFUNDED', status: 409 })
    expect((second as Error).message).toMatch(/earlier orders leave/)
    await waitFor(async () => await has(b, all.hash), { timeoutMs: 30_000, what: 'the big ask at node 1' })
    // node 1's re-validation: one balance read (two calls) per maker and source, not one per order
    const m1 = mesh.meshNode(1).market.current()
    await waitFor(() => m1?.lastPass !== undefined && m1.lastPass.orders >= 1, { timeoutMs: 20_000, what: 'a pass over the ask' })
    const pass = m1?.lastPass as NonNullable<NonNullable<typeof m1>['lastPass']>
    expect(pass.calls).toBeLessThanOrEqual(2 * pass.sources)
    await a.api.request('DELETE', `/v1/market/orders/${all.hash}`)
    for (const n of [a, b]) await waitFor(async () => !await has(n, all.hash), { timeoutMs: 20_000, what: `node ${n.index} drops the cancelled ask` })
  }, 60_000)

  it('the CLI posts and shows a depth table; a node that joins later gets the books by snapshot', async () => {
    const [a] = nodes
    const cli = async (...args: string[]): Promise<string> => (await exec(process.execPath, [...CLI, 'market', ...args, '--data-dir', a.dataDir], { cwd: REPO_ROOT, timeout: 60_000 })).stdout
    expect(await cli('sell', MARKET, '2', '--price', '2.5', '--ttl', '600')).toMatch(/^posted ask 2 at 2\.5 on ftns-tusd: 0x[0-9a-f]{64}/)
    expect(await cli('book', MARKET)).toMatch(/best ask 2\.5[\s\S]*ask\s+2\.5\s+2\s+1\s+2/)
    const mine = JSON.parse(await cli('orders', '--json')) as { orders: Array<{ hash: string, price: string }> }
    const resting = mine.orders.find(o => o.price === '2500000')
    expect(resting).toBeDefined()
    // a newcomer: gossip does not replay old messages, so the order can only come by the sync snapshot
    const d = await mesh.add({ mode: 'inprocess', config: config0, bootstrap: a.addresses })
    const seen: Array<NodeEvent<any>> = []
    mesh.meshNode(d.index).events.subscribe(e => { if (e.type === 'market.order-accepted') seen.push(e) })
    await waitFor(async () => await d.api.request('GET', '/v1/market/books').then(async () => await has(d, resting?.hash as string), () => false), { timeoutMs: 60_000, what: 'the newcomer\'s book' })
    expect(seen.find(e => e.data.hash === resting?.hash)?.data.via).toBe('sync')
  }, 90_000)

  // last: the forged orders drive node 0's gossip score on the market topics so low that nodes 1 and 2 stop taking
  // its messages (what topic scoring is for), which would starve any later test of node 0's orders
  it('refuses unfunded, forged, replayed, cross-chain and wrong-hardware orders at gossip validation, each with its reason', async () => {
    const [a] = nodes
    const contract = localContractAddresses().ComputeMarket
    const now = BigInt(Math.floor(Date.now() / 1000))
    const fields: TradeOrderFields = {
      side: 'ask', quote: localQuoteAddress(), unitSize: LOT.toString(), price: PRICE.toString(), amount: '5', minFill: '1', expiry: (now + 600n).toString(), nonceLane: '0', laneNonce: '0'
    }
    const broke = Wallet.createRandom()
    const ctx = { market: MARKET, chainId: 31337n, contract, peer: a.peerId } as const
    const unfunded = await signTradeMessage(broke, ctx, fields, 1n)
    // the same maker's signature over another price: forged
    const forged = { ...unfunded, order: { ...unfunded.order, price: (PRICE / 2n).toString() } }
    // signed for chain 1: announced as such it is another chain's; replayed under our chain id the signature fails
    const chain1 = await signTradeMessage(broke, { ...ctx, chainId: 1n }, fields, 2n)
    const replayed = { ...chain1, chainId: '31337' }
    // a compute ask announced by node 0 for hardware that is not node 0's (its signed record says otherwise)
    const wrongHardware = await signComputeMessage(broke, { ...ctx, market: 'compute' }, {
      side: 'ask', resourceClass: '0x' + '42'.repeat(32), pricePerUnit: '1000', maxUnits: '10', minFill: '1', windowStart: (now - 60n).toString(), windowEnd: (now + 86_400n).toString(), expiry: (now + 600n).toString(), nonceLane: '0', laneNonce: '0'
    }, 3n)
    // an ask bound to a node no one has a hardware record of: held, then refused after hardwareWaitMs
    const nobody = await signComputeMessage(broke, { ...ctx, market: 'compute', peer: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo' }, {
      side: 'ask', resourceClass: '0x' + '43'.repeat(32), pricePerUnit: '1000', maxUnits: '10', minFill: '1', windowStart: (now - 60n).toString(), windowEnd: (now + 86_400n).toString(), expiry: (now + 600n).toString(), nonceLane: '0', laneNonce: '0'
    }, 4n)
    for (const i of [1, 2]) await waitFor(() => mesh.meshNode(i).hardware.get(a.peerId), { timeoutMs: 30_000, what: `node ${i} has node 0's hardware record` })
    const gossip = mesh.meshNode(0).gossip
    // one burst: after the first rejects node 0's score on these topics falls below the graylist threshold, and
    // gossipsub only keeps taking a peer's messages for a short while after it last scored >= 0
    await Promise.all([
      ...[nobody, wrongHardware].map(async m => await gossip.publish(marketTopic('compute'), encodeOrderMessage(m))),
      ...[unfunded, chain1, forged, replayed].map(async m => await gossip.publish(marketTopic(MARKET), encodeOrderMessage(m)))
    ])
    for (const i of [1, 2]) {
      await waitFor(() => refused(i, 'unfunded') && refused(i, 'bad-signature') && refused(i, 'wrong-chain') && refused(i, 'hardware-mismatch') && refused(i, 'hardware-unknown'), { timeoutMs: 30_000, what: `node ${i}'s refusals` })
    }
    // the held ask waited about hardwareWaitMs, and was never booked
    const held = events[1].find(e => e.type === 'market.order-refused' && e.data.reason === 'hardware-unknown')
    expect(held?.data).toMatchObject({ market: 'compute', via: 'gossip', from: a.peerId })
    expect(String(held?.data.message)).toMatch(/within 3000 ms/)
    const b = events[1].filter(e => e.type === 'market.order-refused' && e.data.via === 'gossip')
    expect(b.find(e => e.data.reason === 'unfunded')?.data).toMatchObject({ market: MARKET, from: a.peerId })
    expect(b.filter(e => e.data.reason === 'bad-signature').length).toBeGreaterThanOrEqual(2)
    // rejects (forged signatures) lower the sender's score; nothing entered a book
    expect(mesh.meshNode(1).penalties.current(a.peerId)).toBeGreaterThan(0)
    // and gossipsub scores the market topics: the rejects count as invalid deliveries of node 0 on this topic
    // (peerStats is gossipsub's internal state: it holds a topic's stats only when the topic has score parameters)
    const score = (mesh.meshNode(1).libp2p.services.pubsub as unknown as { score: { peerStats: Map<string, { topics: Record<string, { invalidMessageDeliveries: number }> }> } }).score
    expect(score.peerStats.get(a.peerId)?.topics[marketTopic(MARKET)]?.invalidMessageDeliveries).toBeGreaterThan(0)
    expect((await book(nodes[1])).asks.some(o => o.maker.toLowerCase() === broke.address.toLowerCase())).toBe(false)
  }, 60_000)
})
