/**
 * The gossip processor: one place where topic handlers plug into gossipsub.
 *
 * Each topic has a handler whose `validate` decodes and checks a message (throwing GossipValidationError) and whose
 * `deliver` consumes an accepted value. ONE mapper turns validation outcomes into gossipsub results and a metric:
 * reject lowers the forwarding peer's score, ignore does not, and an unexpected error maps to ignore (never punish a
 * peer for our own bug). Messages carry no libp2p author (StrictNoSign, src/node/libp2p.ts): the records inside sign
 * themselves, and record.ts decides what a refusal costs the forwarder.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { GossipValidationError, RecordError } from '../common/errors.js'
import type { Logger } from '../common/logger.js'

/** A validated gossip message's context. */
export interface GossipContext {
  /** Who forwarded the message to us. */
  propagationSource: string
}

/** One topic's validator and consumer. */
export interface GossipTopicHandler<T> {
  topic: string
  /** Decode and check; throw GossipValidationError (or RecordError, mapped to reject). */
  validate: (data: Uint8Array, ctx: GossipContext) => Promise<T> | T
  /** Consume an accepted value. Runs after the validator has answered; errors are logged, never propagated. */
  deliver: (value: T, ctx: GossipContext) => Promise<void> | void
}

/** Counter-like sink for validation outcomes; prom-client counters satisfy it. */
export interface GossipMetrics {
  validation: { inc: (labels: { topic: string, result: string, code: string }) => void }
}

/** The slice of gossipsub the processor uses. */
export interface PubSubLike {
  topicValidators: Map<string, (peer: PeerId, message: Message) => Promise<TopicValidatorResult> | TopicValidatorResult>
  subscribe: (topic: string) => void
  unsubscribe: (topic: string) => void
  publish: (topic: string, data: Uint8Array) => Promise<unknown>
}

/** Map a validation failure to a gossipsub result and a bounded metric code. */
export function mapValidationError (err: unknown): { result: TopicValidatorResult, code: string } {
  if (err instanceof GossipValidationError) {
    return { result: err.action === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore, code: err.code }
  }
  if (err instanceof RecordError) return { result: TopicValidatorResult.Reject, code: err.code }
  return { result: TopicValidatorResult.Ignore, code: 'ERR_INTERNAL' }
}

/** Plugs topic handlers into gossipsub (see the module comment). */
export class GossipProcessor {
  private readonly handlers = new Map<string, GossipTopicHandler<unknown>>()

  constructor (private readonly pubsub: PubSubLike, private readonly log: Logger, private readonly metrics?: GossipMetrics) {}

  /** Register a handler, install its validator and subscribe to its topic. */
  register<T> (handler: GossipTopicHandler<T>): void {
    const h = handler as GossipTopicHandler<unknown>
    this.handlers.set(h.topic, h)
    this.pubsub.topicValidators.set(h.topic, async (peer, message) => this.validate(h, peer, message))
    this.pubsub.subscribe(h.topic)
  }

  /** Remove every handler and unsubscribe. */
  stop (): void {
    for (const topic of this.handlers.keys()) {
      this.pubsub.topicValidators.delete(topic)
      try { this.pubsub.unsubscribe(topic) } catch { /* already stopped */ }
    }
    this.handlers.clear()
  }

  /** Publish raw bytes; a mesh with no subscribers yet is not an error (the next periodic publish reaches them). */
  async publish (topic: string, data: Uint8Array): Promise<void> {
    await this.pubsub.publish(topic, data)
  }

  private async validate (h: GossipTopicHandler<unknown>, peer: PeerId, message: Message): Promise<TopicValidatorResult> {
    const ctx: GossipContext = { propagationSource: peer.toString() }
    try {
      const value = await h.validate(message.data, ctx)
      this.metrics?.validation.inc({ topic: h.topic, result: 'accept', code: 'OK' })
      setImmediate(() => {
        Promise.resolve(h.deliver(value, ctx)).catch(err => {
          this.log.error({ err, topic: h.topic }, 'gossip delivery failed')
        })
      })
      return TopicValidatorResult.Accept
    } catch (err) {
      const { result, code } = mapValidationError(err)
      this.metrics?.validation.inc({ topic: h.topic, result, code })
      if (code === 'ERR_INTERNAL') this.log.error({ err, topic: h.topic }, 'gossip validator failed unexpectedly')
      else this.log.debug({ topic: h.topic, from: ctx.propagationSource, code }, 'gossip message refused')
      return result
    }
  }
}
