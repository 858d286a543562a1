/**
 * The one mapping of gossip refusals to gossipsub results (src/protocols/gossip.ts): reject lowers the forwarder's
 * score, ignore does not; a bug of ours is never the sender's fault. Who a replay costs is decided where the record's
 * signer is known (src/protocols/record.ts, test/unit/protocols/gossip-record.test.ts).
 */
import { describe, it, expect } from 'vitest'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { GossipValidationError, RecordError } from '../../../src/common/errors.js'
import { mapValidationError } from '../../../src/protocols/gossip.js'

describe('mapValidationError', () => {
  it.each<[string, unknown, TopicValidatorResult, string]>([
    ['a reject-level refusal', new GossipValidationError('reject', 'ERR_REPLAY', 'seen'), TopicValidatorResult.Reject, 'ERR_REPLAY'],
    ['an ignore-level refusal', new GossipValidationError('ignore', 'ERR_BANNED', 'banned'), TopicValidatorResult.Ignore, 'ERR_BANNED'],
    ['a record error', new RecordError('ERR_RECORD_SIGNATURE', 'bad'), TopicValidatorResult.Reject, 'ERR_RECORD_SIGNATURE'],
    ['our own bug', new Error('boom'), TopicValidatorResult.Ignore, 'ERR_INTERNAL']
  ])('%s', (_name, err, result, code) => {
    expect(mapValidationError(err)).toEqual({ result, code })
  })
})
