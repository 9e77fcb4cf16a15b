import type { FastifyBaseLogger } from 'fastify'
import type { Connection } from './connection.js'
import type { Registry } from './registry.js'
import type { Counters } from './stats.js'
import type { Delivery } from './delivery.js'
import type { Replies } from './replies.js'
import type { Channels } from './channels/channels.js'
import type { Streams } from './history/streams.js'
import type { ClusterMessage, DeliveryTarget, MembershipTarget } from './adapters/adapter.js'
import type { NodeMetrics } from './observability/metrics.js'
import { observedDelivery } from './observability/delivery-observer.js'
import { deliveryChannel } from './observability/tracing.js'

export interface OutboundDeps {
  counters: Counters
  registry: Registry<Connection>
  channels: Channels
  delivery: Delivery
  streams: Streams
  replies: Replies
  log: FastifyBaseLogger
  /** The node's metrics while it has them (none after close). */
  metrics (): NodeMetrics | undefined
  /** Closes a user's connections on this node (a disconnect another node published). */
  disconnect (userId: string, code: number, reason: string): number
}

/**
 * What goes out to many connections: the app's deliveries (with offsets for
 * a stream, observed for the metrics), channel joins and leaves the server
 * decides, and the messages other nodes publish, applied here.
 */
export class Outbound {
  readonly #deps: OutboundDeps

  constructor (deps: OutboundDeps) {
    this.#deps = deps
  }

  /** Applies a message another node published. */
  receive (message: ClusterMessage): void {
    this.#deps.counters.clusterMessagesReceived++
    if (message.kind === 'deliver' && message.seq !== undefined) {
      this.#deps.streams.deliverLocal(message.target, message.payload, message.seq)
    } else if (message.kind === 'deliver') {
      // the text as it came: made bytes only if a second local socket needs the shared frame
      this.#deps.delivery.deliverLocal(message.target, message.payload)
      const metrics = this.#deps.metrics()
      if (metrics !== undefined && message.publishedAt !== undefined) metrics.observeClusterDelivery((Date.now() - message.publishedAt) / 1000) // the publisher's Date.now(), another process's
    } else if (message.kind === 'membership') {
      this.membershipLocal(message.action, message.target, message.channel, message.reason).catch((err: unknown) => {
        /* c8 ignore next */ // a guard: membershipLocal does not reject (ready() never rejects, replies never throw, presence work is queued)
        this.#deps.log.error({ err }, 'fastify-realtime: could not apply a channel membership change from another node')
      })
    } else {
      this.#deps.disconnect(message.userId, message.code, message.reason)
    }
  }

  /**
   * To a channel's connections outside its stream: no offset, not kept in
   * history. For the plugin's own announcements (presence.joined/left), which
   * describe the present and must not take the place of a message in a
   * history of `size` messages, nor be replayed as if still true.
   */
  announceToChannel (channel: string, type: string, data: unknown): Promise<number> {
    return this.#deps.delivery.deliver({ kind: 'channel', channel }, this.#deps.delivery.encodeText(type, data, channel))
  }

  /** A message to the channel's connections on every node; the envelope carries `channel`. */
  deliverToChannel (channel: string, type: string, data: unknown): Promise<number> {
    return this.deliverTo({ kind: 'channel', channel }, type, data, channel)
  }

  /** Server-side join or leave on this node's connections of `target`; resolves how many changed. */
  async membershipLocal (action: 'join' | 'leave', target: MembershipTarget, channel: string, reason = 'left'): Promise<number> {
    let connections: Iterable<Connection> | undefined
    if ('connectionId' in target) {
      const connection = this.#deps.registry.get(target.connectionId)
      connections = connection === undefined ? undefined : [connection]
    } else {
      connections = this.#deps.registry.forUser(target.userId)
    }
    if (connections === undefined) return 0
    const notify = (connection: Connection, type: string, notice: unknown): void => this.#deps.replies.replyTo(connection, type, notice, undefined)
    // a copy: leaving may change the user's set while we iterate
    if (action === 'join') return this.#deps.channels.join([...connections], channel, notify)
    return this.#deps.channels.leave([...connections], channel, reason, notify)
  }

  deliverTo (target: DeliveryTarget, type: string, data: unknown, channel?: string): Promise<number> {
    this.#deps.counters.countDelivery(target.kind)
    // a message of a stream (a channel with history, an inbox) gets its offsets first
    const plan = this.#deps.streams.plan(target)
    if (plan !== undefined) return this.#deps.streams.publish(target, this.#deps.delivery.encodeText(type, data, channel), plan)
    const metrics = this.#deps.metrics()
    if (metrics !== undefined || deliveryChannel.hasSubscribers) return observedDelivery(this.#deps.delivery, metrics, target, type, data, channel)
    return this.#deps.delivery.deliver(target, this.#deps.delivery.encodeText(type, data, channel))
  }
}
