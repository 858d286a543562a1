import { describe, expect, it } from 'vitest'
import { nextIntentStep, type IntentObservation, type IntentRecord, type IntentReceipt } from '../../../../src/ledger/chain/index.js'

const tx = (hash: string, signedAt: number): IntentRecord['txs'][number] => ({ hash, raw: '0x02', maxFeePerGas: '2', maxPriorityFeePerGas: '1', signedAt })
const receipt = (over: Partial<IntentReceipt> = {}): IntentReceipt => ({ hash: '0xaa', blockNumber: 10, blockHash: '0xb10', status: 1, gasUsed: '50000', ...over })

function intent (over: Partial<IntentRecord> = {}): IntentRecord {
  return {
    id: 'lock:1', kind: 'lock', to: '0x0000000000000000000000000000000000000001', data: '0x', value: '0', gasLimit: '0',
    proof: { type: 'vault-lock', vault: '0x0000000000000000000000000000000000000002', lockId: '0x' + '11'.repeat(32) },
    state: 'prepared', txs: [], seq: 1, createdAt: 0, updatedAt: 0, ...over
  }
}

const obs = (over: Partial<IntentObservation> = {}): IntentObservation => ({
  now: 10_000, receipt: null, proofHolds: false, confirmedNonce: 0, confirmedUpTo: 10, stallMs: 5_000, unsure: false, ...over
})

const sent = (over: Partial<IntentRecord> = {}): IntentRecord => intent({ state: 'sent', nonce: 3, txs: [tx('0xaa', 8_000)], ...over })

describe('nextIntentStep', () => {
  it.each<[string, IntentRecord, IntentObservation, ReturnType<typeof nextIntentStep>]>([
    ['prepared, proof absent: reserve a nonce and send', intent(), obs(), { do: 'assign' }],
    ['prepared, proof already holds (sent before a crash, or by someone else): done, never sent', intent(), obs({ proofHolds: true }), { do: 'done', by: 'proof' }],
    ['sent, nothing mined, fresh: wait', sent(), obs(), { do: 'wait' }],
    ['sent, nothing mined, after restart/outage: rebroadcast the same bytes', sent(), obs({ unsure: true }), { do: 'rebroadcast' }],
    ['sent, stalled: bump and replace', sent(), obs({ now: 13_000 }), { do: 'bump' }],
    ['sent, stalled and unsure: bump (the bump is broadcast too)', sent(), obs({ now: 13_000, unsure: true }), { do: 'bump' }],
    ['sent, mined and confirmed, success: done by receipt', sent(), obs({ receipt: receipt() }), { do: 'done', by: 'receipt', receipt: receipt() }],
    ['sent, mined but not confirmed yet: mined', sent(), obs({ receipt: receipt({ blockNumber: 11 }) }), { do: 'mined', receipt: receipt({ blockNumber: 11 }) }],
    ['sent, reverted, proof absent: failed', sent(), obs({ receipt: receipt({ status: 0 }) }), { do: 'fail', error: 'transaction 0xaa reverted' }],
    ['sent, reverted but the proof holds (someone else did it): done by proof', sent(), obs({ receipt: receipt({ status: 0 }), proofHolds: true }), { do: 'done', by: 'proof', receipt: receipt({ status: 0 }) }],
    ['sent, nonce final without our tx, proof holds: done by proof', sent(), obs({ confirmedNonce: 4, proofHolds: true }), { do: 'done', by: 'proof' }],
    ['sent, nonce final without our tx, proof absent: failed', sent(), obs({ confirmedNonce: 4 }), { do: 'fail', error: 'nonce 3 was used by a transaction this client did not record' }],
    ['sent, nonce not final yet: keep waiting', sent(), obs({ confirmedNonce: 3 }), { do: 'wait' }],
    ['mined, reorged away: unmined', sent({ state: 'mined', receipt: receipt({ blockNumber: 11 }) }), obs(), { do: 'unmined' }],
    ['mined, now confirmed: done', sent({ state: 'mined', receipt: receipt() }), obs({ receipt: receipt() }), { do: 'done', by: 'receipt', receipt: receipt() }],
    ['mined, re-mined in another block: record it', sent({ state: 'mined', receipt: receipt({ blockNumber: 11 }) }), obs({ receipt: receipt({ blockNumber: 12, blockHash: '0xother' }) }), { do: 'mined', receipt: receipt({ blockNumber: 12, blockHash: '0xother' }) }],
    ['mined, same block, unconfirmed: wait', sent({ state: 'mined', receipt: receipt({ blockNumber: 11 }) }), obs({ receipt: receipt({ blockNumber: 11 }) }), { do: 'wait' }],
    ['done by receipt, still there: wait', sent({ state: 'done', doneBy: 'receipt', receipt: receipt() }), obs({ receipt: receipt(), proofHolds: true }), { do: 'wait' }],
    ['done by receipt, reorged away and proof gone: unmined (send again)', sent({ state: 'done', doneBy: 'receipt', receipt: receipt() }), obs(), { do: 'unmined' }],
    ['done by receipt, receipt gone but proof holds: wait', sent({ state: 'done', doneBy: 'receipt', receipt: receipt() }), obs({ proofHolds: true }), { do: 'wait' }],
    ['done by proof, proof gone: reopen', intent({ state: 'done', doneBy: 'proof' }), obs(), { do: 'reopen' }],
    ['nonce intent done by receipt, receipt gone: unmined', sent({ proof: { type: 'nonce' }, state: 'done', doneBy: 'receipt', receipt: receipt() }), obs(), { do: 'unmined' }],
    ['nonce intent done, receipt present: wait', sent({ proof: { type: 'nonce' }, state: 'done', doneBy: 'receipt', receipt: receipt() }), obs({ receipt: receipt() }), { do: 'wait' }],
    ['failed is terminal', sent({ state: 'failed' }), obs({ proofHolds: true }), { do: 'wait' }]
  ])('%s', (_n, rec, o, expected) => {
    expect(nextIntentStep(rec, o)).toEqual(expected)
  })

  it('never sends a second transaction for an intent whose effect exists: no path from a holding proof to assign', () => {
    for (const state of ['prepared', 'sent', 'mined', 'done', 'failed'] as const) {
      for (const unsure of [false, true]) {
        for (const r of [null, receipt(), receipt({ status: 0 }), receipt({ blockNumber: 99 })]) {
          const step = nextIntentStep(sent({ state, txs: state === 'prepared' ? [] : [tx('0xaa', 0)] }), obs({ proofHolds: true, receipt: r, unsure }))
          expect(step.do).not.toBe('assign')
          expect(step.do).not.toBe('fail')
        }
      }
    }
  })
})
