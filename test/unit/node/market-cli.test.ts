/** The market CLI's price conversions and depth table (pure helpers). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { depthTable, fromUnits, jobRequestOf, registerMarketCommands, toUnits } from '../../../src/node/cli/commands/market.js'
import type { BookView } from '../../../src/ledger/market/service/views.js'

describe('market CLI helpers', () => {
  it.each([
    ['2.5', 6, '2500000'], ['0', 6, '0'], ['1', 18, '1000000000000000000'], ['0.000001', 6, '1'], ['12', 0, '12'], ['007.10', 2, '710']
  ])('toUnits(%s, %i) = %s and back', (text, decimals, units) => {
    expect(toUnits(text, decimals)).toBe(units)
    expect(toUnits(fromUnits(units, decimals), decimals)).toBe(units)
  })

  it.each([['1.0000001', 6], ['-1', 6], ['1e3', 6], ['', 6], ['1.', 6], ['abc', 18], ['0.5', 0]])('refuses %j with %i decimals', (text, decimals) => {
    expect(() => toUnits(text, decimals)).toThrow(/is not a decimal/)
  })

  it.each([['2500000', 6, '2.5'], ['1', 6, '0.000001'], ['-500', 3, '-0.5'], ['10', 0, '10'], [null, 6, '-']])('fromUnits(%s, %i) = %s', (units, decimals, text) => {
    expect(fromUnits(units, decimals)).toBe(text)
  })

  it('prints asks dearest first above the spread, bids best first below, in the price unit', () => {
    const lvl = (price: string, units: string, cumulative: string): BookView['depth']['asks'][number] => ({ price, units, orders: 1, cumulative })
    const out = depthTable({
      market: 'ftns-tusd', resourceClass: null, bids: [], asks: [], bestBid: '1900000', bestAsk: '2000000', spread: '100000',
      depth: { asks: [lvl('2000000', '3', '3'), lvl('2500000', '1', '4')], bids: [lvl('1900000', '2', '2'), lvl('1000000', '5', '7')] }
    }, 6)
    const lines = out.split('\n')
    expect(lines[0]).toBe('ftns-tusd: best bid 1.9, best ask 2')
    const sides = lines.slice(3).map(l => l.trim().split(/\s+/).slice(0, 2).join(' '))
    expect(sides).toEqual(['ask 2.5', 'ask 2', '--- spread', 'bid 1.9', 'bid 1'])
  })

  const CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
  const JOB = { model: { arch: 'mlp', layers: [16, 10] }, dataset: 'digits', rounds: 5 }

  it('jobRequestOf: the job file as is, or pointed at the buyer\'s dataset artifact with --dataset-cid', () => {
    expect(jobRequestOf(undefined, undefined)).toBeUndefined()
    expect(jobRequestOf(JSON.stringify(JOB), undefined)).toEqual(JOB)
    expect(jobRequestOf(JSON.stringify(JOB), CID)).toEqual({ ...JOB, datasetCid: CID })
    const { dataset, ...noDataset } = JOB
    expect(jobRequestOf(JSON.stringify(noDataset), CID)).toEqual({ ...noDataset, datasetCid: CID })
  })

  it.each([
    ['{"model":', undefined, /not JSON/],
    ['[1,2]', undefined, /one JSON object/],
    ['{"model":{}}', undefined, /names no dataset/],
    [JSON.stringify(JOB), 'not a cid!', /is not a CID/],
    [undefined, CID, /goes with --job/]
  ])('jobRequestOf refuses %j with --dataset-cid %j', (text, cid, message) => {
    expect(() => jobRequestOf(text, cid)).toThrow(message)
  })

  const program = (): { program: Command, out: string[] } => {
    const out: string[] = []
    const p = new Command('meshnode').exitOverride().configureOutput({ writeErr: () => {}, writeOut: s => { out.push(s) } })
    // no daemon here: a command that gets as far as connecting fails with this
    registerMarketCommands(p, async () => { throw new Error('connected') })
    return { program: p, out }
  }

  it('`market buy --help` documents --job, --dataset-cid and --order; `sell` has none of them', async () => {
    const { program: p, out } = program()
    await expect(p.parseAsync(['node', 'meshnode', 'market', 'buy', '--help'])).rejects.toThrow()
    const help = out.join('')
    expect(help).toMatch(/--job <file\.json>\s+compute, with --take: the job the provider runs/)
    expect(help).toMatch(/--dataset-cid <cid>\s+with --job: train on your own dataset/)
    expect(help).toMatch(/--order <hash>/)
    const sell = program()
    await expect(sell.program.parseAsync(['node', 'meshnode', 'market', 'sell', '--help'])).rejects.toThrow()
    expect(sell.out.join('')).not.toMatch(/--job|--dataset-cid/)
  })

  it('`market buy` reads the job file and checks it before it connects', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'market-cli-'))
    try {
      const file = join(dir, 'job.json')
      await writeFile(file, JSON.stringify(JOB))
      const run = async (...args: string[]): Promise<void> => { await program().program.parseAsync(['node', 'meshnode', 'market', 'buy', ...args]) }
      await expect(run('compute', '2', '--job', file)).rejects.toThrow(/--job goes with `buy compute <units> --take`/)
      await expect(run('ftns-tusd', '2', '--take', '--job', file)).rejects.toThrow(/--job goes with/)
      await expect(run('compute', '2', '--take', '--job', file, '--dataset-cid', 'x')).rejects.toThrow(/is not a CID/)
      await expect(run('compute', '2', '--take', '--dataset-cid', CID)).rejects.toThrow(/goes with --job/)
      await expect(run('compute', '2', '--take', '--job', join(dir, 'missing.json'))).rejects.toThrow(/ENOENT/)
      // a valid job gets as far as the daemon
      await expect(run('compute', '2', '--take', '--job', file, '--dataset-cid', CID)).rejects.toThrow('connected')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
