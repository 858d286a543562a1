import { beforeAll, describe, expect, it } from 'vitest'
import { loadBuiltin } from '../../../../src/training/data/builtin.js'
import type { Dataset } from '../../../../src/training/data/dataset.js'
import { initBackend, tf } from '../../../../src/training/model/backend.js'
import { simulateFederated, type SimulatedRound, type SimulationOptions } from '../../../../src/training/sim/reference.js'

let digits: Dataset
beforeAll(async () => {
  await initBackend('wasm')
  digits = await loadBuiltin('digits')
})

const base = (): SimulationOptions => ({
  dataset: digits,
  model: { arch: 'mlp', layers: [64, 10], seed: 1 },
  clients: 5,
  partition: { scheme: 'iid', seed: 2 },
  rounds: 6,
  localEpochs: 2,
  batchSize: 10,
  learningRate: 0.1,
  aggregation: { kind: 'fedavg' },
  testFraction: 0.2,
  seed: 3
})

describe('simulateFederated', () => {
  it('FedAvg with 5 IID clients on digits reaches 0.9 test accuracy within a few rounds', async () => {
    const seen: SimulatedRound[] = []
    const before = tf.memory().numTensors
    const r = await simulateFederated({ ...base(), targetAccuracy: 0.9, onRound: x => seen.push(x) })
    expect(r.roundsToTarget).not.toBeNull()
    expect(r.roundsToTarget).toBeLessThanOrEqual(4)
    // stops at the target by default
    expect(r.rounds.length).toBe(r.roundsToTarget)
    expect(r.rounds[r.rounds.length - 1].accuracy).toBeGreaterThanOrEqual(0.9)
    expect(r.rounds[0].accuracy).toBeLessThan(r.rounds[r.rounds.length - 1].accuracy + 1e-9)
    expect(seen).toEqual(r.rounds)
    expect(r.rounds.every(x => x.participants === 5 && x.f1 > 0 && x.loss > 0)).toBe(true)
    expect(r.trainSize + r.testSize).toBe(1797)
    expect(r.testSize).toBe(Math.round(1797 * 0.2))
    expect(r.clientSizes.reduce((a, b) => a + b, 0)).toBe(r.trainSize)
    expect(r.finalModelHash).toMatch(/^[0-9a-f]{64}$/)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('replays exactly with the same seeds, and samples clientFraction of the clients per round', async () => {
    const opts: SimulationOptions = { ...base(), rounds: 2, localEpochs: 1, clientFraction: 0.4, partition: { scheme: 'shards', seed: 4 } }
    const a = await simulateFederated(opts)
    const b = await simulateFederated(opts)
    expect(b.finalModelHash).toBe(a.finalModelHash)
    expect(b.rounds.map(x => x.accuracy)).toEqual(a.rounds.map(x => x.accuracy))
    expect(a.rounds.map(x => x.participants)).toEqual([2, 2])
    const c = await simulateFederated({ ...opts, seed: 99 })
    expect(c.finalModelHash).not.toBe(a.finalModelHash)
  })

  it('runs robust aggregation (coordinate median) and reports null when the target is not met', async () => {
    const r = await simulateFederated({ ...base(), rounds: 1, localEpochs: 1, aggregation: { kind: 'median' }, targetAccuracy: 0.999 })
    expect(r.rounds.length).toBe(1)
    expect(r.roundsToTarget).toBeNull()
    expect(r.rounds[0].accuracy).toBeGreaterThan(0.3)
  })

  it.each([
    [{ clients: 0 }, /clients/],
    [{ rounds: 0 }, /rounds/],
    [{ clientFraction: 0 }, /clientFraction/],
    [{ clientFraction: 1.5 }, /clientFraction/]
  ])('rejects %j', async (bad, error) => {
    await expect(simulateFederated({ ...base(), ...bad })).rejects.toThrow(error)
  })
})
