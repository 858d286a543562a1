/**
 * The one mapping of gossip refusals to gossipsub results (src/protocols/gossip.ts): reject lowers the forwarder's
 * score, ignore does not. A record seen before (ERR_REPLAY) costs only its author: honest peers relay it again after
 * our restart or once gossipsub's seen-cache forgot it. A restarted consensus node used to reject its peers' relays of
 * records it had seen before the restart, and so muted them (a restart sweep stalled on it).
 */
import { describe, it, expect } from 'vitest'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { GossipValidationError, RecordError } from '../../../src/common/errors.js'
import { mapValidationError } from '../../../src/protocols/gossip.js'

const AUTHOR = '12D3KooWauthor'
const RELAY = '12D3KooWrelay'

describe('mapValidationError', () => {
  it.each<[string, unknown, { propagationSource: string, origin?: string } | undefined, TopicValidatorResult, string]>([
    ['a replay its author republished', new GossipValidationError('reject', 'ERR_REPLAY', 'seen'), { propagationSource: AUTHOR, origin: AUTHOR }, TopicValidatorResult.Reject, 'ERR_REPLAY'],
    ['a replay relayed by another peer', new GossipValidationError('reject', 'ERR_REPLAY', 'seen'), { propagationSource: RELAY, origin: AUTHOR }, TopicValidatorResult.Ignore, 'ERR_REPLAY'],
    ['a stale record relayed by another peer', new GossipValidationError('reject', 'ERR_STALE', 'old'), { propagationSource: RELAY, origin: AUTHOR }, TopicValidatorResult.Reject, 'ERR_STALE'],
    ['an ignore-level refusal', new GossipValidationError('ignore', 'ERR_BANNED', 'banned'), { propagationSource: AUTHOR, origin: AUTHOR }, TopicValidatorResult.Ignore, 'ERR_BANNED'],
    ['a replay with no context', new GossipValidationError('reject', 'ERR_REPLAY', 'seen'), undefined, TopicValidatorResult.Reject, 'ERR_REPLAY'],
    ['a record error', new RecordError('ERR_RECORD_SIGNATURE', 'bad'), { propagationSource: RELAY, origin: AUTHOR }, TopicValidatorResult.Reject, 'ERR_RECORD_SIGNATURE'],
    ['our own bug', new Error('boom'), { propagationSource: RELAY, origin: AUTHOR }, TopicValidatorResult.Ignore, 'ERR_INTERNAL']
  ])('%s', (_name, err, ctx, result, code) => {
    expect(mapValidationError(err, ctx)).toEqual({ result, code })
  })
})
