/**
 * The kinds consensus registers itself: `network-param` (a node-level parameter table; `reputation.<name>` values
 * change the reputation parameters from the epoch after the one that lists them), `ban-peer` (with evidence or an
 * operator's reason) and `epoch` (the chain itself, judged by epochs.ts, never vetoable).
 */
import { Type } from '@sinclair/typebox'
import { ConsensusError } from '../errors.js'
import { defaultReputationParams } from '../core/params.js'
import { PeerIdSchema } from '../protocol/schemas.js'
import { REPUTATION_PARAM_NAMES, withParams } from './chain.js'
import { EPOCH_KIND, EpochPayloadSchema } from './epochs.js'
import type { ProposalKind } from './kinds.js'

/** What the builtin executors change on the node. */
export interface BuiltinHost {
  setParam: (name: string, value: unknown) => Promise<void>
  ban: (peer: string, reason: string) => Promise<void>
}

/** `network-param`'s payload: a parameter name and its new value. */
export const NetworkParamPayloadSchema = Type.Object({
  name: Type.String({ pattern: '^[a-z][a-zA-Z0-9.-]{0,63}$' }),
  value: Type.Union([Type.String({ maxLength: 256 }), Type.Number(), Type.Boolean()])
}, { additionalProperties: false })

/** `ban-peer`'s payload: the peer and why (an evidence id or the operator's words). */
export const BanPeerPayloadSchema = Type.Object({
  peerId: PeerIdSchema,
  reason: Type.String({ minLength: 1, maxLength: 512 })
}, { additionalProperties: false })

/** The builtin kinds, executing into `host`. */
export function builtinKinds (host: BuiltinHost): ProposalKind[] {
  const networkParam: ProposalKind<typeof NetworkParamPayloadSchema> = {
    kind: 'network-param',
    schema: NetworkParamPayloadSchema,
    validate (p) {
      if (!p.name.startsWith('reputation.')) return
      const name = p.name.slice('reputation.'.length)
      if (!REPUTATION_PARAM_NAMES.includes(name)) throw new ConsensusError('ERR_PAYLOAD', `unknown reputation parameter ${name}`)
      try {
        withParams(defaultReputationParams, { [name]: p.value })
      } catch (err) {
        throw new ConsensusError('ERR_PAYLOAD', (err as Error).message)
      }
    },
    async execute (p) { await host.setParam(p.name, p.value) }
  }
  const banPeer: ProposalKind<typeof BanPeerPayloadSchema> = {
    kind: 'ban-peer',
    schema: BanPeerPayloadSchema,
    async execute (p) { await host.ban(p.peerId, p.reason) }
  }
  const epoch: ProposalKind<typeof EpochPayloadSchema> = {
    kind: EPOCH_KIND,
    schema: EpochPayloadSchema,
    // applied by the service when its QC forms (ingest.ts), not through an executor
    execute () {},
    defaultPolicy: { mode: 'auto' },
    vetoable: false
  }
  return [networkParam, banPeer, epoch]
}
