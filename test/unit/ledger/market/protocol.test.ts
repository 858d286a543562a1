import { describe, expect, it } from 'vitest'
import { Wallet, getAddress, verifyTypedData } from 'ethers'
import { encode } from 'cborg'
import {
  COMPUTE_ORDER_TYPES, TRADE_ORDER_TYPES, computeOrderHash, marketDomain, tradeOrderHash
} from '../../../../src/ledger/contracts/index.js'
import {
  ComputeOrderRecordSchema, MAX_ORDER_MESSAGE_BYTES, MarketError, OrderVerifier, REFUSALS, REFUSAL_REASONS,
  TradeOrderRecordSchema, bindingSalt, checkComputeOrder, checkTradeOrder, codeOf, decodeOrderMessage, encodeOrderMessage,
  fromComputeOrder, fromTradeOrder, gossipErrorOf, marketTopic, signComputeMessage, signTradeMessage, toComputeOrder,
  toTradeOrder, tradeMarketName, validateOrderBytes, validateOrderMessage, isMarketName, MARKET_SYNC_PROTOCOL, MarketBooks,
  bookKeyOf, bookOrderOf
} from '../../../../src/ledger/market/index.js'
import type {
  ComputeOrderFields, ComputeOrderMessage, ComputeOrderRecord, MarketSpec, TradeOrderFields, ValidateContext
} from '../../../../src/ledger/market/index.js'

const maker = new Wallet('0x' + '11'.repeat(32))
const other = new Wallet('0x' + '22'.repeat(32))
const CHAIN = 31337n
const CONTRACT = getAddress('0x' + 'ab'.repeat(20))
const QUOTE = getAddress('0x' + 'cd'.repeat(20))
const PEER = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const NOW = 1_800_000_000n
const COMPUTE: MarketSpec = { name: 'compute', kind: 'compute' }
const TUSD: MarketSpec = { name: 'ftns-tusd', kind: 'trade', quote: QUOTE, unitSize: 10n ** 18n }
const RC = '0x' + '5a'.repeat(32)

const computeFields: ComputeOrderFields = {
  side: 'ask',
  resourceClass: RC,
  pricePerUnit: (10n ** 16n).toString(),
  maxUnits: '100',
  minFill: '5',
  windowStart: (NOW - 60n).toString(),
  windowEnd: (NOW + 86_400n).toString(),
  expiry: (NOW + 3600n).toString(),
  nonceLane: '0',
  laneNonce: '0'
}
const tradeFields: TradeOrderFields = {
  side: 'bid', quote: QUOTE, unitSize: (10n ** 18n).toString(), price: '250000', amount: '40', minFill: '1', expiry: (NOW + 3600n).toString(), nonceLane: '3', laneNonce: '1'
}

function ctx (market: MarketSpec = COMPUTE, over: Partial<ValidateContext> = {}): ValidateContext {
  return { market, chainId: CHAIN, contract: CONTRACT, now: NOW, verifier: new OrderVerifier(CHAIN, CONTRACT), ...over }
}

async function computeMessage (fields: Partial<ComputeOrderFields> = {}, signer = maker, chainId = CHAIN, contract = CONTRACT): Promise<ComputeOrderMessage> {
  return await signComputeMessage(signer, { market: 'compute', chainId, contract, peer: PEER }, { ...computeFields, ...fields }, 7n)
}

describe('market records match the ComputeMarket EIP-712 types', () => {
  it('has exactly the fields of ComputeOrder and TradeOrder', () => {
    expect(Object.keys(ComputeOrderRecordSchema.properties)).toEqual(COMPUTE_ORDER_TYPES.ComputeOrder.map(f => f.name))
    expect(Object.keys(TradeOrderRecordSchema.properties)).toEqual(TRADE_ORDER_TYPES.TradeOrder.map(f => f.name))
  })

  it('converts records to contract orders and back without loss', () => {
    const r: ComputeOrderRecord = { ...computeFields, maker: maker.address, salt: '123456789012345678901234567890' }
    const o = toComputeOrder(r)
    expect(o.side).toBe(0)
    expect(o.pricePerUnit).toBe(10n ** 16n)
    expect(fromComputeOrder(o)).toEqual(r)
    const t = { ...tradeFields, maker: maker.address, salt: '9' }
    expect(toTradeOrder(t).side).toBe(1)
    expect(fromTradeOrder(toTradeOrder(t))).toEqual(t)
  })
})

describe('checkComputeOrder / checkTradeOrder', () => {
  const base: ComputeOrderRecord = { ...computeFields, maker: maker.address, salt: '1' }
  const U64 = (1n << 64n).toString()
  const cases: Array<[string, Partial<ComputeOrderRecord>, string | undefined]> = [
    ['a valid order', {}, undefined],
    ['minFill above maxUnits', { minFill: '101' }, 'minFill exceeds'],
    ['zero maxUnits', { maxUnits: '0', minFill: '0' }, 'maxUnits'],
    ['2^63 maxUnits (the contract records 63 bits of fills)', { maxUnits: (1n << 63n).toString() }, 'maxUnits'],
    ['the largest maxUnits the contract records', { maxUnits: ((1n << 63n) - 1n).toString() }, undefined],
    ['zero price', { pricePerUnit: '0' }, 'positive'],
    ['price times units past uint256', { pricePerUnit: (1n << 250n).toString() }, 'does not fit uint256'],
    ['window that ends before it starts', { windowStart: computeFields.windowEnd, windowEnd: computeFields.windowStart }, 'windowStart'],
    ['expiry past uint64', { expiry: U64 }, 'expiry does not fit uint64'],
    ['lane past uint64', { nonceLane: U64 }, 'nonceLane does not fit'],
    ['salt past uint256', { salt: (1n << 256n).toString() }, 'uint256'],
    ['a maker with a bad checksum', { maker: maker.address.toLowerCase().replace('0x', '0X').replace('0X', '0x').replace(/[a-f]/, c => c.toUpperCase()) }, 'maker']
  ]
  it.each(cases)('%s', (_name, over, message) => {
    const c = checkComputeOrder({ ...base, ...over })
    if (message === undefined) {
      expect(c.ok).toBe(true)
    } else {
      expect(c.ok).toBe(false)
      if (!c.ok) {
        expect(c.refusal.reason).toBe('malformed')
        expect(c.refusal.message).toContain(message)
      }
    }
  })

  const tbase = { ...tradeFields, maker: maker.address, salt: '1' }
  const tcases: Array<[string, Partial<typeof tbase>, string | undefined]> = [
    ['a valid trade', {}, undefined],
    ['a zero quote', { quote: '0x' + '00'.repeat(20) }, 'quote'],
    ['zero lot size', { unitSize: '0' }, 'positive'],
    ['zero amount', { amount: '0', minFill: '0' }, 'amount'],
    ['minFill above amount', { minFill: '41' }, 'minFill'],
    ['totals past uint256', { price: (1n << 255n).toString() }, 'does not fit uint256']
  ]
  it.each(tcases)('trade: %s', (_name, over, message) => {
    const c = checkTradeOrder({ ...tbase, ...over })
    expect(c.ok).toBe(message === undefined)
    if (!c.ok) expect(c.refusal.message).toContain(message)
  })
})

describe('signed order messages', () => {
  it('a signed compute order validates, with the hash the contract computes', async () => {
    const m = await computeMessage()
    const v = validateOrderMessage(m, ctx())
    expect(v.ok).toBe(true)
    if (!v.ok || v.value.kind !== 'compute') throw new Error('not valid')
    expect(v.value.hash).toBe(computeOrderHash(marketDomain(CHAIN, CONTRACT), v.value.order))
    expect(v.value.order.salt).toBe(bindingSalt(PEER, 7n))
    expect(v.value.order.maker).toBe(maker.address)
    // the compact signature is the one ethers' verifyTypedData recovers to the maker
    expect(verifyTypedData(marketDomain(CHAIN, CONTRACT), COMPUTE_ORDER_TYPES, v.value.order, m.signature)).toBe(maker.address)
  })

  it('a signed trade order validates on its market', async () => {
    const m = await signTradeMessage(maker, { market: 'ftns-tusd', chainId: CHAIN, contract: CONTRACT, peer: PEER }, tradeFields, 1n)
    const v = validateOrderMessage(m, ctx(TUSD))
    expect(v.ok).toBe(true)
    if (v.ok && v.value.kind === 'trade') expect(v.value.hash).toBe(tradeOrderHash(marketDomain(CHAIN, CONTRACT), v.value.order))
  })

  it('round-trips through CBOR and validates from bytes', async () => {
    const m = await computeMessage()
    const bytes = encodeOrderMessage(m)
    expect(bytes.byteLength).toBeLessThan(MAX_ORDER_MESSAGE_BYTES)
    const d = decodeOrderMessage(bytes)
    expect(d.ok && d.value).toEqual(m)
    expect(validateOrderBytes(bytes, ctx()).ok).toBe(true)
  })

  const refusals: Array<[string, (m: ComputeOrderMessage) => Promise<ComputeOrderMessage> | ComputeOrderMessage, string, ValidateContext?]> = [
    ['a changed price', m => ({ ...m, order: { ...m.order, pricePerUnit: '1' } }), 'bad-signature'],
    ['another maker named', m => ({ ...m, order: { ...m.order, maker: other.address } }), 'bad-signature'],
    ['a garbage signature', m => ({ ...m, signature: '0x' + '00'.repeat(64) }), 'bad-signature'],
    ['an order signed for chain 1, replayed here under our chain id', async () => ({ ...(await computeMessage({}, maker, 1n)), chainId: CHAIN.toString() }), 'bad-signature'],
    ['an order signed for another market contract, replayed here', async () => ({ ...(await computeMessage({}, maker, CHAIN, QUOTE)), contract: CONTRACT }), 'bad-signature'],
    ['an order that names chain 1', async () => await computeMessage({}, maker, 1n), 'wrong-chain'],
    ['an order that names another contract', async () => await computeMessage({}, maker, CHAIN, QUOTE), 'wrong-contract'],
    ['another peer claiming the order', m => ({ ...m, peer: '12D3KooWAnotherPeer' }), 'bad-peer-binding'],
    ['an expired order', async () => await computeMessage({ expiry: (NOW - 1n).toString() }), 'expired'],
    ['a closed window', async () => await computeMessage({ windowEnd: NOW.toString(), windowStart: '0' }), 'window-closed'],
    ['a compute order on a trade market', m => ({ ...m, market: 'ftns-tusd' }), 'wrong-market', ctx(TUSD)],
    ['the wrong market name', m => m, 'wrong-market', ctx(TUSD)],
    ['a malformed order', async () => await computeMessage({ minFill: '1000' }), 'malformed']
  ]
  it.each(refusals)('refuses %s', async (_name, mutate, reason, context) => {
    const m = await mutate(await computeMessage())
    const v = validateOrderMessage(m, context ?? ctx())
    expect(v.ok).toBe(false)
    if (!v.ok) expect(v.refusal.reason).toBe(reason)
  })

  it('still accepts an order exactly at its expiry (the contract fills while now <= expiry)', async () => {
    const m = await computeMessage({ expiry: NOW.toString() })
    expect(validateOrderMessage(m, ctx()).ok).toBe(true)
  })

  it('refuses trade orders for another quote token or lot size', async () => {
    const sctx = { market: 'ftns-tusd' as const, chainId: CHAIN, contract: CONTRACT, peer: PEER }
    const a = await signTradeMessage(maker, sctx, { ...tradeFields, quote: CONTRACT }, 1n)
    const b = await signTradeMessage(maker, sctx, { ...tradeFields, unitSize: '1000' }, 1n)
    for (const [m, text] of [[a, 'quote'], [b, 'lot size']] as const) {
      const v = validateOrderMessage(m, ctx(TUSD))
      expect(v.ok).toBe(false)
      if (!v.ok) {
        expect(v.refusal.reason).toBe('wrong-market')
        expect(v.refusal.message).toContain(text)
      }
    }
  })

  it('refuses bytes that are too large, not CBOR, or off-schema', async () => {
    const m = await computeMessage()
    const cases: Array<[Uint8Array, string]> = [
      [new Uint8Array(MAX_ORDER_MESSAGE_BYTES + 1), 'exceeds'],
      [new Uint8Array([0xff, 0xff]), 'CBOR'],
      [encode({ ...m, v: 2 }), '/v'],
      [encode({ ...m, kind: 'bond' }), '/kind'],
      [encode({ ...m, extra: 1 }), 'order message invalid'],
      [encode({ ...m, order: { ...m.order, maxUnits: 100 } }), '/order']
    ]
    for (const [bytes, text] of cases) {
      const d = decodeOrderMessage(bytes)
      expect(d.ok).toBe(false)
      if (!d.ok) {
        expect(d.refusal.reason).toBe('malformed')
        expect(d.refusal.message).toContain(text)
      }
    }
  })

  it('caches signature verdicts by hash and signature, good and bad, and evicts the oldest', async () => {
    const verifier = new OrderVerifier(CHAIN, CONTRACT, 2)
    const c = ctx(COMPUTE, { verifier })
    const m1 = await computeMessage()
    const bad = { ...m1, order: { ...m1.order, pricePerUnit: '1' } }
    expect(validateOrderMessage(m1, c).ok).toBe(true)
    expect(validateOrderMessage(m1, c).ok).toBe(true)
    expect(validateOrderMessage(bad, c).ok).toBe(false)
    expect(validateOrderMessage(bad, c).ok).toBe(false)
    expect(verifier.stats()).toEqual({ hits: 2, misses: 2, size: 2 })
    const m2 = await computeMessage({ maxUnits: '50' })
    expect(validateOrderMessage(m2, c).ok).toBe(true)
    expect(verifier.stats().size).toBe(2)
    expect(validateOrderMessage(m1, c).ok).toBe(true)
    expect(verifier.stats().misses).toBe(4)
  })
})

describe('market names, topics and refusal codes', () => {
  it('names markets and their topics', () => {
    expect(marketTopic('compute')).toBe('meshnode/market/compute/1')
    expect(tradeMarketName('USDC')).toBe('ftns-usdc')
    expect(marketTopic(tradeMarketName('TUSD'))).toBe('meshnode/market/ftns-tusd/1')
    expect(MARKET_SYNC_PROTOCOL).toBe('/meshnode/market-sync/1.0.0')
    expect(() => tradeMarketName('US-D')).toThrow(RangeError)
    expect(isMarketName('ftns-usdc')).toBe(true)
    expect(isMarketName('ftns-')).toBe(false)
    expect(isMarketName('bonds')).toBe(false)
  })

  it('gives every reason an ERR_ code, a kind and a gossip action', () => {
    expect(codeOf('bad-signature')).toBe('ERR_BAD_SIGNATURE')
    for (const reason of REFUSAL_REASONS) {
      const e = new MarketError(reason)
      expect(e.code).toMatch(/^ERR_[A-Z_]+$/)
      expect(e.kind).toBe(REFUSALS[reason].kind)
      expect(e.message).toBe(REFUSALS[reason].meaning)
      expect(gossipErrorOf({ reason, message: 'm' }).action).toBe(REFUSALS[reason].gossip)
    }
    expect(new MarketError('unfunded').kind).toBe('conflict')
    expect(gossipErrorOf({ reason: 'bad-signature', message: 'x' }).action).toBe('reject')
    expect(gossipErrorOf({ reason: 'expired', message: 'x' }).action).toBe('ignore')
  })
})

describe('validated orders into books', () => {
  it('keys compute books by resource class and maps price, units, lane and window', async () => {
    const books = new MarketBooks()
    const v = validateOrderMessage(await computeMessage(), ctx())
    if (!v.ok || v.value.kind !== 'compute') throw new Error('not valid')
    expect(bookKeyOf(v.value)).toBe(`compute/${RC}`)
    const bo = bookOrderOf(v.value, 30n)
    expect(bo).toMatchObject({ hash: v.value.hash, maker: maker.address.toLowerCase(), side: 'ask', price: 10n ** 16n, units: 70n, minFill: 5n, windowEnd: NOW + 86_400n })
    expect(books.insert(v.value, NOW).ok).toBe(true)
    expect(books.insert(v.value, NOW).ok).toBe(false)
    expect(books.keys()).toEqual([`compute/${RC}`])
    expect(books.book(`compute/${RC}`).bestAsk()).toBe(10n ** 16n)
    expect(books.expire(NOW + 3601n)).toBe(1)
  })

  it('keys trade books by market', async () => {
    const m = await signTradeMessage(maker, { market: 'ftns-tusd', chainId: CHAIN, contract: CONTRACT, peer: PEER }, tradeFields, 1n)
    const v = validateOrderMessage(m, ctx(TUSD))
    if (!v.ok) throw new Error('not valid')
    expect(bookKeyOf(v.value)).toBe('ftns-tusd')
    expect(bookOrderOf(v.value)).toMatchObject({ side: 'bid', price: 250000n, units: 40n, nonceLane: 3n, laneNonce: 1n })
  })
})

describe('bindingSalt', () => {
  it('puts four consecutive nonces of one peer in one contract fill slot (salt / 4), with distinct salts', () => {
    const salts = [4n, 5n, 6n, 7n].map(n => bindingSalt(PEER, n))
    expect(new Set(salts.map(s => s >> 2n)).size).toBe(1)
    expect(salts.map(s => s & 3n)).toEqual([0n, 1n, 2n, 3n])
    expect(bindingSalt(PEER, 8n) >> 2n).not.toBe(salts[0] >> 2n)
    expect(bindingSalt(PEER, 3n) >> 2n).not.toBe(salts[0] >> 2n)
    expect(bindingSalt(`${PEER.slice(0, -1)}a`, 4n)).not.toBe(salts[0]) // the peer stays bound
  })
})
