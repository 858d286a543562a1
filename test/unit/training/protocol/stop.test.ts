import { describe, it, expect } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decodeTrainingMessage, encodeTrainingMessage, parseTrainingMessage, stopIssue } from '../../../../src/training/protocol/index.js'
import { job } from './fixtures.js'

// issue 11, defect 7: the stop record
describe('the stop record', () => {
  it('round-trips signed, and only the creator\'s stop counts', async () => {
    const key = await generateKeyPair('Ed25519')
    const creator = peerIdFromPrivateKey(key).toString()
    const j = job(creator)
    const rec = await decodeTrainingMessage(await encodeTrainingMessage(key, 1, { type: 'stop', jobId: j.id, round: 4 }))
    expect(rec.payload).toEqual({ type: 'stop', jobId: j.id, round: 4 })
    if (rec.payload.type !== 'stop') throw new Error('not a stop')
    expect(stopIssue(j, rec.payload, rec.signer)).toBeUndefined()
    expect(stopIssue(j, rec.payload, 'someone-else')).toMatch(/only the job's creator/)
    expect(stopIssue(job('other'), rec.payload, rec.signer)).toMatch(/another job/)
  })

  it.each([
    ['no job id', { type: 'stop', round: 1 }],
    ['a negative round', { type: 'stop', jobId: 'a'.repeat(64), round: -1 }],
    ['an extra field', { type: 'stop', jobId: 'a'.repeat(64), round: 1, force: true }],
    ['an overlong reason', { type: 'stop', jobId: 'a'.repeat(64), round: 1, reason: 'x'.repeat(300) }]
  ])('is rejected with %s', (_n, payload) => {
    expect(() => parseTrainingMessage(payload, 'signer')).toThrow(expect.objectContaining({ action: 'reject' }))
  })
})
