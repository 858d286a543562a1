/**
 * `meshnode wallet address | balance | deposit | withdraw | locks | send`: this node's chain wallet through the local
 * daemon's admin API. Amounts are decimal FTNS strings, passed to the daemon as typed: its one parser says precisely
 * what is wrong with a malformed one. A client command: it loads the API client and its formatting, nothing else.
 */
import type { Command } from 'commander'
import { output, keyValues, table } from '../format.js'
// types only: a client command loads neither the ledger nor TypeBox
import type { LockView, WalletTxResult, WalletView } from '../../../ledger/views.js'
import type { Connect } from './info.js'

interface CommonOpts { dataDir?: string, json?: boolean }

const short = (s: string): string => s.length > 18 ? `${s.slice(0, 10)}…${s.slice(-6)}` : s

function common (cmd: Command): Command {
  return cmd.option('--data-dir <dir>', 'data directory').option('--json', 'machine-readable output')
}

/** The wallet as key-value lines. */
export function describeWallet (w: WalletView): string {
  const pending = w.vault.pending !== '0' ? `${w.vault.pending} FTNS (completes at ${w.vault.readyAt ?? '?'})` : '0 FTNS'
  return keyValues([
    ['address', w.address], ['chain id', w.chainId], ['wallet', `${w.ftns} FTNS`], ['gas', w.eth],
    ['vault free', `${w.vault.free} FTNS`], ['vault locked', `${w.vault.locked} FTNS`], ['withdrawing', pending], ['locks', w.locks.length]
  ])
}

function locksTable (locks: LockView[]): string {
  if (locks.length === 0) return 'no locks'
  return table(['LOCK', 'ROLE', 'PAYER', 'PROVIDER', 'AMOUNT', 'REDEEMED', 'EXPIRY', 'STATE'],
    locks.map(l => [short(l.lockId), l.role, short(l.payer), short(l.provider), l.amount, l.redeemed, l.expiry.slice(0, 19).replace('T', ' '), l.closed ? 'closed' : 'open']))
}

function describeTx (r: WalletTxResult): string {
  const head = r.op === 'deposit'
    ? `deposited ${r.amount} FTNS into the vault`
    : r.op === 'withdraw'
      ? `withdrawal of ${r.amount} FTNS requested; the node completes it at ${r.readyAt ?? '?'}`
      : `sent ${r.amount} FTNS`
  return `${head} (tx ${r.tx})\n${describeWallet(r.wallet)}`
}

/** Register the `wallet` command group. */
export function registerWalletCommands (program: Command, connect: Connect): void {
  const group = program.command('wallet').description('this node\'s chain wallet: FTNS balance, vault deposits and withdrawals, locks')

  common(group.command('address').description('print the wallet\'s address'))
    .action(async (opts: CommonOpts) => {
      const w = await (await connect(opts)).request<WalletView>('GET', '/v1/wallet')
      output(opts.json === true, { address: w.address, chainId: w.chainId }, () => w.address)
    })

  common(group.command('balance').description('FTNS in the wallet and the vault (free, locked, withdrawing), and gas'))
    .action(async (opts: CommonOpts) => {
      const w = await (await connect(opts)).request<WalletView>('GET', '/v1/wallet')
      output(opts.json === true, w, () => describeWallet(w))
    })

  common(group.command('deposit <amount>').description('move FTNS from the wallet into the vault, e.g. `deposit 12.5`'))
    .action(async (amount: string, opts: CommonOpts) => {
      const r = await (await connect(opts)).request<WalletTxResult>('POST', '/v1/wallet/deposit', { json: { amount } })
      output(opts.json === true, r, () => describeTx(r))
    })

  common(group.command('withdraw <amount>').description('withdraw free FTNS from the vault: starts its delay, then the node completes it'))
    .action(async (amount: string, opts: CommonOpts) => {
      const r = await (await connect(opts)).request<WalletTxResult>('POST', '/v1/wallet/withdraw', { json: { amount } })
      output(opts.json === true, r, () => describeTx(r))
    })

  common(group.command('send <to> <amount>').description('send FTNS from the wallet to an address'))
    .action(async (to: string, amount: string, opts: CommonOpts) => {
      const r = await (await connect(opts)).request<WalletTxResult>('POST', '/v1/wallet/send', { json: { to, amount } })
      output(opts.json === true, r, () => describeTx(r))
    })

  common(group.command('locks').description('vault locks this wallet pays or is paid by'))
    .action(async (opts: CommonOpts) => {
      const w = await (await connect(opts)).request<WalletView>('GET', '/v1/wallet')
      output(opts.json === true, w.locks, () => locksTable(w.locks))
    })
}
