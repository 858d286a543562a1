/**
 * The `hyperparams` kind's pure rules (bounds, which changes hold from which round, the rollback rule) and its shell
 * (assess, execute into the table, the creator's rollback watch), table-tested.
 */
import { describe, it, expect } from 'vitest'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import {
  HyperparamsPayloadSchema, announcedJobIssue, createJobSpec, defaultHyperparamBounds, effectiveHyperparams, hyperparamBoundsIssue,
  hyperparamsIssue, rollbackChanges, rollbackVerdict, type HyperparamChange, type JobSpec
} from '../../../../src/training/protocol/index.js'
import { ROLLBACK_LEAD_ROUNDS, ROLLBACK_TRIES, rollbackFromRound, rollbackStep, roundAhead } from '../../../../src/training/protocol/hyperparams.js'
import { TRAINING_LIMITS } from '../../../../src/training/protocol/limits.js'
import { HyperparamTable, hyperparamsKind, raiseRollbacks } from '../../../../src/training/service/hyperparams-kind.js'
import { KindRegistry } from '../../../../src/consensus/index.js'
import type { RoundReport } from '../../../../src/training/service/api-types.js'
import type { TrainingState } from '../../../../src/training/service/components.js'

const base = { learningRate: 0.1, localEpochs: 2, batchSize: 32 }
const change = (proposalId: string, fromRound: number, changes: HyperparamChange['changes'], rollbackOf?: string): HyperparamChange =>
  ({ proposalId, fromRound, changes, ...(rollbackOf != null ? { rollbackOf } : {}) })

const SPEC: JobSpec = createJobSpec({
  creator: 'creator', model: { arch: 'mlp', layers: [8, 2], seed: 1, inputShape: [4] }, dataset: 'digits', rounds: 10, minParticipants: 1,
  ...base, aggregation: { kind: 'fedavg' }, compression: { kind: 'fp32' }, initialModelCid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', createdAt: 1,
  timing: { roundTimeoutMs: 1000, deadlineK: 3, minWaitMs: 0, capMs: 1000, sealTimeoutMs: 1000 }
})

/** An in-memory stand-in for one Level sublevel (the table's only storage calls). */
function memoryState (): TrainingState & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>()
  return {
    data,
    sublevel: <V>() => ({
      iterator: async function * () { for (const [k, v] of data) yield [k, v as V] as [string, V] },
      put: async (k: string, v: V) => { data.set(k, structuredClone(v)) },
      del: async (k: string) => { data.delete(k) }
    })
  }
}

const logger = { info () {}, warn () {}, debug () {}, error () {}, child () { return logger } } as unknown as Parameters<typeof hyperparamsKind>[0]['logger']

describe('hyperparams bounds', () => {
  const d = defaultHyperparamBounds(base)
  it.each([
    [{ learningRate: 0.5 }, undefined],
    [{ learningRate: 0.01 }, undefined],
    [{ learningRate: 0.009 }, 'learningRate 0.009 is outside'],
    [{ learningRate: 1.5 }, 'learningRate 1.5 is outside'],
    [{ localEpochs: 8 }, undefined],
    [{ localEpochs: 9 }, 'localEpochs 9 is outside'],
    [{ batchSize: 4, localEpochs: 1 }, undefined],
    [{ batchSize: 3 }, 'batchSize 3 is outside'],
    [{ batchSize: 256 }, undefined],
    [{}, 'changes nothing']
  ])('default bounds: %j -> %s', (changes, issue) => {
    const got = hyperparamsIssue(base, changes)
    if (issue === undefined) expect(got).toBeUndefined()
    else expect(got).toContain(issue)
  })

  it('declared bounds replace the defaults name by name', () => {
    const spec = { ...base, hyperparamBounds: { learningRate: { min: 0.05, max: 0.2 } } }
    expect(hyperparamsIssue(spec, { learningRate: 0.3 })).toContain('[0.05, 0.2]')
    expect(hyperparamsIssue(spec, { learningRate: 0.2, localEpochs: d.localEpochs.max })).toBeUndefined()
    expect(hyperparamBoundsIssue({ batchSize: { min: 9, max: 8 } })?.path).toBe('hyperparamBounds.batchSize')
    expect(hyperparamBoundsIssue({ batchSize: { min: 8, max: 8 } })).toBeUndefined()
  })

  it('an announced job with inverted bounds is refused; a valid one keeps its id stable', () => {
    const { id: _id, ...rest } = SPEC
    const bad = createJobSpec({ ...rest, hyperparamBounds: { localEpochs: { min: 3, max: 2 } } })
    expect(announcedJobIssue(bad)?.path).toBe('hyperparamBounds.localEpochs')
    const good = createJobSpec({ ...rest, hyperparamBounds: { localEpochs: { min: 1, max: 3 } } })
    expect(announcedJobIssue(good)).toBeUndefined()
    expect(good.id).not.toBe(SPEC.id)
    expect(createJobSpec(rest).id).toBe(SPEC.id)
  })

  it('the payload schema wants at least one change and a known name', () => {
    const check = TypeCompiler.Compile(HyperparamsPayloadSchema)
    expect(check.Check({ jobId: SPEC.id, changes: { learningRate: 0.2 } })).toBe(true)
    expect(check.Check({ jobId: SPEC.id, changes: {} })).toBe(false)
    expect(check.Check({ jobId: SPEC.id, changes: { momentum: 0.9 } })).toBe(false)
    expect(check.Check({ jobId: SPEC.id, changes: { localEpochs: 1.5 } })).toBe(false)
    expect(check.Check({ jobId: SPEC.id, changes: { learningRate: 0.2 }, fromRound: 0 })).toBe(false)
  })
})

describe('effective hyperparameters per round', () => {
  const a = change('bb', 3, { learningRate: 0.2 })
  const b = change('aa', 3, { learningRate: 0.3, batchSize: 64 })
  const c = change('cc', 5, { localEpochs: 4 })
  const out = change('dd', 4, { learningRate: 5 }) // outside the default bounds: skipped everywhere
  it.each([
    [0, base],
    [2, base],
    [3, { ...base, learningRate: 0.2, batchSize: 64 }], // aa then bb (sorted by id), bb's learning rate wins
    [4, { ...base, learningRate: 0.2, batchSize: 64 }],
    [5, { learningRate: 0.2, localEpochs: 4, batchSize: 64 }]
  ])('round %i', (round, want) => {
    expect(effectiveHyperparams(base, [c, out, a, b], round)).toEqual(want)
    // the order changes were executed in does not matter
    expect(effectiveHyperparams(base, [b, a, out, c], round)).toEqual(want)
  })
})

describe('the rollback rule', () => {
  const r = (round: number, accuracy: number, pooled?: number): { round: number, accuracy: number, pooled?: { accuracy: number } | null } =>
    ({ round, accuracy, ...(pooled !== undefined ? { pooled: { accuracy: pooled } } : {}) })
  it.each([
    ['not reported yet', [r(2, 0.8)], undefined],
    ['dropped by more than the margin', [r(2, 0.8), r(3, 0.7)], true],
    ['dropped by less', [r(2, 0.8), r(3, 0.76)], false],
    ['improved', [r(2, 0.8), r(3, 0.9)], false],
    ['pooled figures win over own', [r(2, 0.5, 0.8), r(3, 0.9, 0.7)], true],
    ['non-finite accuracy is unreported', [r(2, 0.8), r(3, Number.NaN)], undefined]
  ])('%s', (_name, reports, due) => {
    expect(rollbackVerdict({ fromRound: 3 }, reports, 0.05)?.due).toBe(due)
  })
  it('a rollback is never rolled back', () => {
    expect(rollbackVerdict({ fromRound: 3, rollbackOf: 'x' }, [r(2, 0.8), r(3, 0.1)], 0.05)).toBeUndefined()
  })
  it.each([
    [0, 1, 2],
    [4, 5, 6],
    [TRAINING_LIMITS.maxRounds - 1, TRAINING_LIMITS.maxRounds, TRAINING_LIMITS.maxRounds],
    [TRAINING_LIMITS.maxRounds, TRAINING_LIMITS.maxRounds, TRAINING_LIMITS.maxRounds]
  ])('while round %i runs: a change holds from round %i, a rollback from round %i (within the schema\'s range)', (inProgress, next, rollback) => {
    expect(roundAhead(inProgress)).toBe(next)
    expect(rollbackFromRound(inProgress)).toBe(rollback)
    expect(ROLLBACK_LEAD_ROUNDS).toBe(2)
  })
  const tried = { id: 'rb', tries: 1 }
  it.each([
    ['a rollback itself', { rollbackOf: 'x' }, true, undefined, true, 'done'],
    ['rounds unreported', {}, undefined, undefined, true, 'wait'],
    ['no drop', {}, false, undefined, true, 'done'],
    ['a drop', {}, true, undefined, true, 'raise'],
    ['a drop, the job over', {}, true, undefined, false, 'done'],
    ['its rollback open', { rollback: tried }, true, 'pending', true, 'wait'],
    ['its rollback accepted', { rollback: tried }, true, 'accepted', true, 'done'],
    ['its rollback vetoed', { rollback: tried }, true, 'vetoed', true, 'done'],
    ['its rollback rejected', { rollback: tried }, true, 'rejected', true, 'raise'],
    ['its rollback expired', { rollback: tried }, true, 'expired', true, 'raise'],
    ['its rollback expired, the job over', { rollback: tried }, true, 'expired', false, 'done'],
    ['its rollback expired, tries spent', { rollback: { id: 'rb', tries: ROLLBACK_TRIES } }, true, 'expired', true, 'done'],
    ['its rollback unknown here', { rollback: tried }, true, undefined, true, 'done']
  ] as const)('the creator\'s step: %s', (_name, change, due, status, active, want) => {
    expect(rollbackStep({ change, due, status, active })).toBe(want)
  })
  it('undoes only the names the change set, to what held before its first round', () => {
    const first = change('p1', 2, { batchSize: 64 })
    const bad = change('p2', 4, { learningRate: 0.9, batchSize: 128 })
    expect(rollbackChanges(base, [first, bad], bad)).toEqual({ learningRate: 0.1, batchSize: 64 })
  })
})

describe('the hyperparams kind on a node', () => {
  const jobs = new Map<string, { spec: JobSpec, round: number, active: boolean }>([[SPEC.id, { spec: SPEC, round: 2, active: true }]])
  const setup = async (): Promise<{ table: HyperparamTable, kind: ReturnType<typeof hyperparamsKind>, state: ReturnType<typeof memoryState> }> => {
    const state = memoryState()
    const table = new HyperparamTable(state)
    await table.load()
    return { table, state, kind: hyperparamsKind({ table, logger, job: id => jobs.get(id) }) }
  }
  const ctx = (id: string): Parameters<NonNullable<ReturnType<typeof hyperparamsKind>['assess']>>[1] => ({ id, proposal: { kind: 'hyperparams', payload: {}, proposer: 'p', createdAt: 0, expiresAt: 1, snapshot: 0 } })

  it.each([
    ['within bounds', { jobId: SPEC.id, changes: { learningRate: 0.2 } }, true],
    ['outside bounds', { jobId: SPEC.id, changes: { learningRate: 2 } }, false],
    ['unknown job (judged again later)', { jobId: 'f'.repeat(64), changes: { learningRate: 0.2 } }, false],
    ['first round already under way', { jobId: SPEC.id, changes: { learningRate: 0.2 }, fromRound: 2 }, false],
    ['first round ahead', { jobId: SPEC.id, changes: { learningRate: 0.2 }, fromRound: 3 }, true]
  ])('assess: %s', async (_name, payload, valid) => {
    const { kind } = await setup()
    expect((await kind.assess?.(payload, ctx('x')))?.valid).toBe(valid)
  })
  it('assess: a job not announced here yet is pending (the node waits), a finished one is refused', async () => {
    const { kind } = await setup()
    expect(await kind.assess?.({ jobId: 'f'.repeat(64), changes: { learningRate: 0.2 } }, ctx('x'))).toEqual({ valid: false, pending: true })
    jobs.set('e'.repeat(64), { spec: SPEC, round: 9, active: false })
    expect(await kind.assess?.({ jobId: 'e'.repeat(64), changes: { learningRate: 0.2 } }, ctx('x'))).toEqual({ valid: false })
  })

  it('execute records the change once, from the next round, and persists it', async () => {
    const { kind, table, state } = await setup()
    await kind.execute({ jobId: SPEC.id, changes: { learningRate: 0.2 } }, ctx('prop1'))
    await kind.execute({ jobId: SPEC.id, changes: { learningRate: 0.2 } }, ctx('prop1'))
    expect(table.changes(SPEC.id)).toEqual([{ proposalId: 'prop1', fromRound: 3, changes: { learningRate: 0.2 } }])
    expect(table.effective(SPEC, 2).learningRate).toBe(0.1)
    expect(table.effective(SPEC, 3).learningRate).toBe(0.2)
    const again = new HyperparamTable(state)
    await again.load()
    expect(again.view(SPEC, 3)).toMatchObject({ current: { learningRate: 0.2 }, latest: { learningRate: 0.2 }, changes: [{ proposalId: 'prop1', fromRound: 3 }] })
  })

  it('the proposer pins the first round into the payload (through the kind registry), so nodes in other rounds record the same one', async () => {
    const { kind, table } = await setup()
    const registry = new KindRegistry()
    registry.register(kind)
    // the job is in round 2 here: the change holds from round 3
    const prepared = registry.prepare('hyperparams', { jobId: SPEC.id, changes: { learningRate: 0.2 } })
    expect(prepared).toEqual({ jobId: SPEC.id, changes: { learningRate: 0.2 }, fromRound: 3 })
    // kept: an explicit first round, a job not known here (its voters decide), a payload the schema refuses (check
    // refuses it with its reason), a kind not registered here
    expect(registry.prepare('hyperparams', { jobId: SPEC.id, changes: { learningRate: 0.2 }, fromRound: 7 })).toEqual({ jobId: SPEC.id, changes: { learningRate: 0.2 }, fromRound: 7 })
    expect(registry.prepare('hyperparams', { jobId: 'f'.repeat(64), changes: { learningRate: 0.2 } })).toEqual({ jobId: 'f'.repeat(64), changes: { learningRate: 0.2 } })
    expect(registry.prepare('hyperparams', { jobId: SPEC.id, changes: {} })).toEqual({ jobId: SPEC.id, changes: {} })
    expect(registry.prepare('nope', { jobId: SPEC.id })).toEqual({ jobId: SPEC.id })
    // a node already in round 3 executes the prepared payload from round 3 as well (it read its own round before)
    const ahead = new HyperparamTable(memoryState())
    const other = hyperparamsKind({ table: ahead, logger, job: id => id === SPEC.id ? { spec: SPEC, round: 3, active: true } : undefined })
    await kind.execute(prepared as Parameters<typeof kind.execute>[0], ctx('prop1'))
    await other.execute(prepared as Parameters<typeof kind.execute>[0], ctx('prop1'))
    expect(ahead.changes(SPEC.id)).toEqual(table.changes(SPEC.id))
    expect(table.changes(SPEC.id)).toEqual([{ proposalId: 'prop1', fromRound: 3, changes: { learningRate: 0.2 } }])
  })

  /** A creator's consensus port: proposals it created, with statuses the test sets. */
  const creatorPort = (): { created: Array<{ kind: string, payload: unknown }>, status: Map<string, string>, port: Parameters<typeof raiseRollbacks>[0]['proposals'] } => {
    const created: Array<{ kind: string, payload: unknown }> = []
    const status = new Map<string, string>()
    return {
      created,
      status,
      port: {
        create: async (req) => { created.push(req); const id = `rb${created.length}`; status.set(id, 'pending'); return { id } },
        list: () => [...status].map(([id, s]) => ({ id, payload: {}, status: s }))
      }
    }
  }
  const report = (round: number, accuracy: number): RoundReport => ({ round, accuracy, loss: 1, f1: 0, precision: 0, recall: 0, participants: 1, bytesSent: 0, bytesReceived: 0, durationMs: 0, modelCid: 'b', modelHash: 'h' })

  it('the creator proposes a rollback once when accuracy dropped, and never for a rollback', async () => {
    const { kind, table } = await setup()
    await kind.execute({ jobId: SPEC.id, changes: { learningRate: 0.5 } }, ctx('prop1'))
    const { created, status, port } = creatorPort()
    // the creator is in round 4 once round 3 is reported: the rollback is pinned to round 6
    const run = async (reports: RoundReport[], self = 'creator'): Promise<number> => await raiseRollbacks({ table, jobs: [{ spec: SPEC, reports, round: 4, active: true }], self, margin: 0.05, proposals: port, logger })
    expect(await run([report(2, 0.8), report(3, 0.5)], 'someone-else')).toBe(0)
    expect(await run([report(2, 0.8)])).toBe(0)
    expect(await run([report(2, 0.8), report(3, 0.5)])).toBe(1)
    expect(created).toEqual([{ kind: 'hyperparams', payload: { jobId: SPEC.id, changes: { learningRate: 0.1 }, fromRound: 6, rollbackOf: 'prop1' } }])
    // open: nothing more; accepted: done with the change
    expect(await run([report(2, 0.8), report(3, 0.5)])).toBe(0)
    status.set('rb1', 'accepted')
    await kind.execute({ jobId: SPEC.id, changes: { learningRate: 0.1 }, fromRound: 6, rollbackOf: 'prop1' }, ctx('rb1'))
    expect(await run([report(2, 0.8), report(3, 0.5), report(5, 0.8), report(6, 0.1)])).toBe(0)
    expect(created.length).toBe(1)
    expect(table.changes(SPEC.id).every(c => c.judged === true)).toBe(true)
    // the view shows neither the watch's bookkeeping nor the judgement
    expect(table.view(SPEC, 6).changes).toEqual([
      { proposalId: 'prop1', fromRound: 3, changes: { learningRate: 0.5 } },
      { proposalId: 'rb1', fromRound: 6, changes: { learningRate: 0.1 }, rollbackOf: 'prop1' }
    ])
  })

  it('a rollback that was rejected or expired is raised again from a later round, up to ROLLBACK_TRIES in all', async () => {
    const { kind, table } = await setup()
    await kind.execute({ jobId: SPEC.id, changes: { learningRate: 0.5 } }, ctx('prop1'))
    const { created, status, port } = creatorPort()
    const reports = [report(2, 0.8), report(3, 0.5)]
    const run = async (round: number, active = true): Promise<number> => await raiseRollbacks({ table, jobs: [{ spec: SPEC, reports, round, active }], self: 'creator', margin: 0.05, proposals: port, logger })
    expect(await run(4)).toBe(1)
    status.set('rb1', 'rejected')
    expect(await run(5)).toBe(1)
    status.set('rb2', 'expired')
    expect(await run(6)).toBe(1)
    expect(created.map(c => (c.payload as { fromRound: number }).fromRound)).toEqual([6, 7, 8])
    status.set('rb3', 'expired')
    expect(await run(7)).toBe(0)
    expect(created.length).toBe(ROLLBACK_TRIES)
    expect(table.changes(SPEC.id)[0]).toMatchObject({ judged: true, rollback: { id: 'rb3', tries: 3 } })
    // a job that no longer trains gets no rollback at all
    const second = await setup()
    await second.kind.execute({ jobId: SPEC.id, changes: { learningRate: 0.5 } }, ctx('prop1'))
    const other = creatorPort()
    expect(await raiseRollbacks({ table: second.table, jobs: [{ spec: SPEC, reports, round: 4, active: false }], self: 'creator', margin: 0.05, proposals: other.port, logger })).toBe(0)
    expect(other.created).toEqual([])
  })
})
