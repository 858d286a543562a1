/**
 * FTNS amounts: the one parser and formatter between decimal strings ("12.5", what people and the API use) and wei
 * (bigint, 18 decimals, what the contracts use). Pure: no floating point anywhere, so every amount round-trips exactly.
 */
import { LedgerError } from './errors.js'

/** FTNS has 18 decimals, like ether. */
export const FTNS_DECIMALS = 18
const WEI_PER_FTNS = 10n ** BigInt(FTNS_DECIMALS)
/** Digits before the point: 10^30 FTNS is far above the token's cap and keeps every parsed amount inside uint256. */
const MAX_INTEGER_DIGITS = 30
const SHAPE = /^(\d+)(?:\.(\d+))?$/

/** The JSON schema pattern of a decimal FTNS amount (the API schemas use it; `parseFtns` says what is wrong). */
export const FTNS_AMOUNT_PATTERN = '^[0-9]{1,30}(\\.[0-9]{1,18})?$'

/**
 * Parse a decimal FTNS amount into wei. Throws ERR_AMOUNT (kind `invalid`, a 400 in the API) with a message that
 * names what is wrong: negative, too many decimals, not a number, or (with `positive`) zero.
 */
export function parseFtns (input: unknown, opts: { positive?: boolean, name?: string } = {}): bigint {
  const name = opts.name ?? 'amount'
  if (typeof input !== 'string') throw new LedgerError('ERR_AMOUNT', `${name} must be a decimal string like "12.5", got ${describe(input)}`)
  const s = input.trim()
  if (s.startsWith('-')) throw new LedgerError('ERR_AMOUNT', `${name} must not be negative, got ${JSON.stringify(input)}`)
  const m = SHAPE.exec(s)
  if (m === null) throw new LedgerError('ERR_AMOUNT', `${name} is not a number: expected a decimal string like "12.5", got ${JSON.stringify(input)}`)
  const [, whole, frac = ''] = m
  if (frac.length > FTNS_DECIMALS) throw new LedgerError('ERR_AMOUNT', `${name} has too many decimals: FTNS has ${FTNS_DECIMALS}, got ${frac.length} in ${JSON.stringify(input)}`)
  if (whole.replace(/^0+/, '').length > MAX_INTEGER_DIGITS) throw new LedgerError('ERR_AMOUNT', `${name} is too large: at most ${MAX_INTEGER_DIGITS} digits before the point`)
  const wei = BigInt(whole) * WEI_PER_FTNS + BigInt(frac.padEnd(FTNS_DECIMALS, '0'))
  if (opts.positive === true && wei === 0n) throw new LedgerError('ERR_AMOUNT', `${name} must be greater than zero`)
  return wei
}

/** Format wei as a decimal FTNS string: no exponent, no trailing zeros ("12.5", "0", "0.000000000000000001"). */
export function formatFtns (wei: bigint): string {
  const sign = wei < 0n ? '-' : ''
  const abs = wei < 0n ? -wei : wei
  const whole = abs / WEI_PER_FTNS
  const frac = (abs % WEI_PER_FTNS).toString().padStart(FTNS_DECIMALS, '0').replace(/0+$/, '')
  return `${sign}${whole}${frac === '' ? '' : '.' + frac}`
}

function describe (v: unknown): string {
  if (v === undefined) return 'nothing'
  if (typeof v === 'number') return `the number ${String(v)} (send it as a string: JSON numbers lose precision)`
  const json = JSON.stringify(v)
  return json === undefined ? typeof v : json.slice(0, 40)
}
