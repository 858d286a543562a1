import { it, expect } from 'vitest'
import { Mesh, waitFor } from '../../harness/index.js'
import type { MeshNode } from '../../../src/node/node.js'

it('3 in-process nodes run 2 rounds', async () => {
  const mesh = await Mesh.start(3, { mode: 'inprocess' })
  try {
    const nodes = mesh.nodes.map(n => (n as unknown as { node: MeshNode }).node)
    await waitFor(() => nodes.every(n => n.libp2p.getPeers().length === 2), { what: 'mesh' })
    const { id } = await nodes[0].training.createJob({ model: { arch: 'mlp', layers: [64, 10], seed: 1 }, dataset: 'digits', rounds: 2, minParticipants: 3, localEpochs: 2, batchSize: 10, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32' })
    await waitFor(() => nodes.every(n => n.training.getJob(id) != null), { what: 'job everywhere' })
    await Promise.all(nodes.map(async (n, i) => await n.training.joinJob(id, { dataset: 'digits', partition: { scheme: 'iid', index: i, of: 3, seed: 1 } })))
    const views = await waitFor(() => {
      const v = nodes.map(n => n.training.getJob(id)!)
      console.log(v.map(x => `${x.status} r${x.round} ${x.phase} ${x.rounds.map(r => r.accuracy.toFixed(3)).join(',')}`).join(' | '))
      return v.every(x => x.status === 'finished') ? v : undefined
    }, { timeoutMs: 90_000, intervalMs: 2000, what: 'finish' })
    expect(new Set(views.map(v => v.rounds.at(-1)!.modelHash)).size).toBe(1)
  } finally { await mesh.close() }
}, 120_000)
