import { it, expect, afterEach } from 'vitest'
import { Mesh, waitFor } from '../../harness/index.js'
import { ClientError } from '../../../src/node/cli/client.js'

let mesh: Mesh | undefined
afterEach(async () => { await mesh?.close(); mesh = undefined })

it('a node refuses to join a job whose training footprint exceeds its profile memory cap', async () => {
  mesh = await Mesh.start(1, { mode: 'inprocess' })
  const small = await mesh.add({ mode: 'inprocess', bootstrap: mesh.nodes[0].addresses, config: { resources: { maxMemoryMB: 64 } } })
  // 64 -> 2048 -> 2048 -> 10: about 4.35 M parameters, ~70 MB to train
  const { id } = await mesh.nodes[0].api.request<{ id: string }>('POST', '/v1/training/jobs', {
    json: { model: { arch: 'mlp', layers: [2048, 2048, 10], seed: 1 }, dataset: 'digits', rounds: 1, minParticipants: 1, localEpochs: 1, batchSize: 10, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32' }
  })
  await waitFor(async () => await small.api.fetch('GET', `/v1/training/jobs/${id}`).then(() => true, () => false), { what: 'the job to reach the small node' })
  const err = await small.api.request('POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'digits' } }).catch((e: unknown) => e) as ClientError
  expect(err).toBeInstanceOf(ClientError)
  expect(err.status).toBe(400)
  expect(err.message).toMatch(/needs about \d+ MB, over this node's profile cap of 64 MB/)
  // the node with the default profile (2 GiB) takes it
  const view = await mesh.nodes[0].api.request<{ joined: boolean }>('POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'digits' } })
  expect(view.joined).toBe(true)
}, 120_000)
