/** `meshnode reputation [peerId]`: the epoch chain's reputation table, or one peer's score explained. */
import type { Command } from 'commander'
import type { ReputationRowView, ReputationTableView } from '../../../consensus/index.js'
import { keyValues, output, table } from '../format.js'
import type { Connect } from './info.js'

const short = (id: string): string => id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id

/** The `reputation` command. */
export function registerReputationCommands (program: Command, connect: Connect): void {
  program.command('reputation [peerId]')
    .description('the reputation table of the last finalized epoch (hash, weights, probation), or one peer\'s score explained')
    .option('--data-dir <dir>', 'data directory of the daemon to talk to')
    .option('--json', 'machine-readable output')
    .action(async (peerId: string | undefined, opts: { dataDir?: string, json?: boolean }) => {
      const api = await connect(opts)
      if (peerId != null) {
        const r = await api.request<{ epoch: number, hash: string, peer: ReputationRowView, formula: string }>('GET', `/v1/reputation/${encodeURIComponent(peerId)}`)
        const p = r.peer.parts
        output(opts.json === true, r, () => keyValues([
          ['peer', r.peer.peerId], ['epoch', r.epoch], ['score', r.peer.score], ['weight', r.peer.weight], ['probation', String(r.peer.probation)], ['age', `${r.peer.age} epochs`],
          ['last change', p == null ? 'none yet' : `${p.previous} - decay ${p.decay} + work ${p.work} + bonds ${p.bonds} - slashes ${p.slashes} - capped ${p.capped} = ${p.score}`],
          ['counted', p == null ? '' : `${p.contributions} contributions, ${p.agreed} agreeing votes, ${p.evidence} equivocations`],
          ['formula', r.formula]
        ]))
        return
      }
      const r = await api.request<ReputationTableView>('GET', '/v1/reputation')
      output(opts.json === true, r, () => `epoch ${r.epoch}, hash ${r.hash}\n` + (r.peers.length === 0
        ? 'no peer has reputation yet'
        : table(['PEER', 'SCORE', 'WEIGHT', 'PROBATION', 'AGE', 'LAST CHANGE'],
          r.peers.map(p => [short(p.peerId), p.score, p.weight, p.probation ? 'yes' : 'no', p.age,
            p.parts == null ? null : `+${BigInt(p.parts.work) + BigInt(p.parts.bonds)} -${BigInt(p.parts.decay) + BigInt(p.parts.slashes) + BigInt(p.parts.capped)}`]))))
    })
}
