/** `meshnode status | peers | hardware`: read-only views of the local daemon. */
import type { Command } from 'commander'
import type { ApiClient } from '../client.js'
import { output, keyValues, table } from '../format.js'
import type { Static } from '@sinclair/typebox'
import type { HardwareRecord } from '../../hardware/record.js'
import type { NodeInfo as NodeInfoSchema, PeerView as PeerViewSchema, PeerHardwareView } from '../../api/schemas.js'

/** Finds the daemon serving a data directory (injected, so tests point commands at a test server). */
export type Connect = (opts: { dataDir?: string }) => Promise<ApiClient>

// the API's response schemas are the one definition of what these commands read
type NodeInfo = Static<typeof NodeInfoSchema>
type PeerView = Static<typeof PeerViewSchema>
type PeerHardware = Static<typeof PeerHardwareView>

const short = (id: string): string => id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id

/** The read-only command group: `status`, `peers`, `hardware`. */
export function registerInfoCommands (program: Command, connect: Connect): void {
  program.command('status')
    .description('show the running node: peer id, addresses, version, uptime, peers')
    .option('--data-dir <dir>', 'data directory')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dataDir?: string, json?: boolean }) => {
      const api = await connect(opts)
      const n = await api.request<NodeInfo>('GET', '/v1/node')
      output(opts.json === true, n, () => keyValues([
        ['peer id', n.peerId], ['version', n.version], ['profile', n.profile], ['network', n.network],
        ['uptime', `${n.uptimeSec} s`], ['peers', n.peers], ['api', api.baseUrl], ['addresses', n.addresses.join('\n' + ' '.repeat(11))]
      ]))
    })

  program.command('peers')
    .description('list connected peers with latency and hardware')
    .option('--data-dir <dir>', 'data directory')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dataDir?: string, json?: boolean }) => {
      const api = await connect(opts)
      const { peers } = await api.request<{ peers: PeerView[] }>('GET', '/v1/peers')
      output(opts.json === true, peers, () => peers.length === 0
        ? 'no peers connected'
        : table(['PEER', 'LATENCY', 'LAST SEEN', 'HARDWARE', 'ADDRESS'],
          peers.map(p => [short(p.peerId), p.latencyMs == null ? null : `${p.latencyMs} ms`, p.lastSeen.slice(11, 19), p.hardware, p.addresses[0]])))
    })

  const hw = program.command('hardware')
    .description('this node\'s hardware, or its peers\' with --peers')
    .option('--data-dir <dir>', 'data directory')
    .option('--peers', 'show the verified records of other peers')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dataDir?: string, json?: boolean, peers?: boolean }) => {
      const api = await connect(opts)
      if (opts.peers === true) {
        const { peers } = await api.request<{ peers: PeerHardware[] }>('GET', '/v1/hardware/peers')
        output(opts.json === true, peers, () => table(['PEER', 'CPU', 'RAM', 'GPU', 'BOARD', 'BACKEND', 'SAMPLES/S'],
          peers.map(p => [short(p.peerId), `${p.record.cpu.cores}x ${p.record.cpu.arch}`, `${Math.round(p.record.memory.totalMB / 1024)} GB`,
            p.record.gpus.map(g => g.name).join('+') || null, p.record.board.kind, p.record.tfjs.backend, p.record.bench?.samplesPerSec])))
        return
      }
      const r = await api.request<HardwareRecord>('GET', '/v1/hardware')
      output(opts.json === true, r, () => keyValues([
        ['cpu', `${r.cpu.model} (${r.cpu.cores} cores, ${r.cpu.arch})`],
        ['memory', `${r.memory.totalMB} MB (${r.memory.freeMB} MB free)`],
        ['gpus', r.gpus.length === 0 ? 'none' : r.gpus.map(g => `${g.name} ${g.memoryMB} MB (driver ${g.driver})`).join('; ')],
        ['board', r.board.kind === 'generic' ? 'generic' : `${r.board.kind}: ${r.board.model}`],
        ['os', `${r.os.distro || r.os.platform} ${r.os.release}`],
        ['tfjs backend', `${r.tfjs.backend} ${r.tfjs.version}`],
        ['training speed', r.bench == null ? 'not measured yet' : `${r.bench.samplesPerSec} samples/s (${r.bench.model}, batch ${r.bench.batchSize})`],
        ['profile caps', `${r.resources.trainingThreads} threads, ${r.resources.maxMemoryMB} MB, duty cycle ${r.resources.dutyCycle}`]
      ]))
    })

  hw.command('bandwidth <peerId>')
    .description('measure download bandwidth from a connected peer')
    .option('--data-dir <dir>', 'data directory')
    .option('--bytes <n>', 'bytes to transfer', '8388608')
    .option('--json', 'machine-readable output')
    .action(async (peerId: string, _opts: unknown, cmd: Command) => {
      // --data-dir and --json may be parsed by the parent `hardware` command: read them with the globals
      const opts = cmd.optsWithGlobals<{ dataDir?: string, json?: boolean, bytes: string }>()
      const api = await connect(opts)
      const r = await api.request<{ bytes: number, durationMs: number, mbps: number }>('POST', '/v1/hardware/bandwidth', { json: { peerId, bytes: Number(opts.bytes) } })
      output(opts.json === true, r, () => `${r.bytes} bytes in ${r.durationMs.toFixed(1)} ms: ${r.mbps.toFixed(1)} Mbit/s`)
    })
}
