import type { FastifyBaseLogger } from 'fastify'
import type { Connection } from '../connection.js'
import { ChannelIndex, type ChannelListener } from './channel-index.js'
import { SubscriptionQueue } from './subscription-queue.js'
import { parseChannel, type ParsedChannel } from './names.js'
import type { ChannelNamespaceOptions } from './namespace.js'

export interface ChannelsOptions {
  readonly channels: ReadonlyMap<string, ChannelNamespaceOptions>
  readonly authorizeTimeoutMs: number
  readonly maxSubscriptionsPerConnection: number
}

/** Sends one protocol message to one connection (the node's replyTo). */
export type Notify = (connection: Connection, type: 'subscription.joined' | 'subscription.ended', data: { channel: string, reason?: string }) => void

/**
 * One node's channels: the declared namespaces, who is in which channel,
 * and each connection's queue of subscribe requests.
 */
export class Channels {
  readonly namespaces: ReadonlyMap<string, ChannelNamespaceOptions>
  readonly authorizeTimeoutMs: number
  readonly maxSubscriptionsPerConnection: number
  readonly index: ChannelIndex<Connection>
  readonly queue = new SubscriptionQueue<Connection>()

  constructor (options: ChannelsOptions, listener: ChannelListener, log: FastifyBaseLogger) {
    this.namespaces = options.channels
    this.authorizeTimeoutMs = options.authorizeTimeoutMs
    this.maxSubscriptionsPerConnection = options.maxSubscriptionsPerConnection
    this.index = new ChannelIndex(listener, log)
  }

  parse (name: unknown): ParsedChannel | undefined {
    return parseChannel(name, this.namespaces)
  }

  /** A connection that is gone: no pending authorization, no channel. */
  forget (connection: Connection): void {
    this.queue.forget(connection)
    if (connection.channels.size > 0) this.index.removeAll(connection)
  }

  /**
   * Puts connections in a channel; each that was not in it is told
   * subscription.joined once the cluster routes the channel to this node.
   * Resolves how many joined.
   */
  async join (connections: Iterable<Connection>, channel: string, notify: Notify): Promise<number> {
    const joined: Connection[] = []
    for (const connection of connections) {
      if (connection.isOpen && this.index.add(connection, channel)) joined.push(connection)
    }
    if (joined.length === 0) return 0
    await this.index.ready([channel])
    for (const connection of joined) {
      if (connection.isOpen && connection.channels.has(channel)) notify(connection, 'subscription.joined', { channel })
    }
    return joined.length
  }

  /** Takes connections out of a channel, telling each subscription.ended; returns how many left. */
  leave (connections: Iterable<Connection>, channel: string, reason: string, notify: Notify): number {
    let left = 0
    for (const connection of connections) {
      // an authorization in flight may answer with what was true before this leave
      this.queue.noteLeave(connection, channel, reason)
      if (!this.index.remove(connection, channel)) continue
      left++
      notify(connection, 'subscription.ended', { channel, reason })
    }
    return left
  }
}
