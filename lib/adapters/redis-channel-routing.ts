import type { Redis } from 'ioredis'
import type { DeliveryTarget } from './adapter.js'

/** What the routing needs from its adapter. */
export interface ChannelRoutingLink {
  /** The adapter's key prefix, with its trailing colon. */
  readonly prefix: string
  readonly routing: 'per-channel' | 'shared'
  /** The subscriber connection while the adapter is connected and not closing, else undefined. */
  subscriber (): Redis | undefined
}

/**
 * Which Redis channel a message goes on. The cluster channel carries
 * everything but channel messages under 'per-channel' routing: those go on
 * the channel's own Redis channel, which a node SUBSCRIBEs to while it has
 * connections in the channel (and again after an outage).
 */
export class RedisChannelRouting {
  readonly #link: ChannelRoutingLink
  /** The one channel every node listens to. */
  readonly clusterChannel: string
  /** Channels this node has connections in (per-channel routing): what it SUBSCRIBEs to. */
  readonly #listened = new Set<string>()

  constructor (link: ChannelRoutingLink) {
    this.#link = link
    this.clusterChannel = link.prefix + 'messages'
  }

  redisChannelOf (target: DeliveryTarget): string {
    return target.kind === 'channel' && this.#link.routing === 'per-channel' ? this.#channelKey(target.channel) : this.clusterChannel
  }

  /** Per-channel routing: listen to the channel's Redis channel (the index calls this on its first local member). */
  async subscribe (channel: string): Promise<void> {
    if (this.#link.routing === 'shared') return
    this.#listened.add(channel)
    // while Redis is away the channel is subscribed with the others when it is back
    await this.#link.subscriber()?.subscribe(this.#channelKey(channel))
  }

  async unsubscribe (channel: string): Promise<void> {
    if (!this.#listened.delete(channel)) return
    await this.#link.subscriber()?.unsubscribe(this.#channelKey(channel))
  }

  /** Channels this node listens to in Redis (per-channel routing). */
  get size (): number {
    return this.#listened.size
  }

  /** After an outage: the cluster channel, then the channels this node has connections in, a thousand per command. */
  async resubscribe (sub: Redis): Promise<void> {
    await sub.subscribe(this.clusterChannel)
    const keys = [...this.#listened].map(channel => this.#channelKey(channel))
    for (let i = 0; i < keys.length; i += 1000) await sub.subscribe(...keys.slice(i, i + 1000))
  }

  #channelKey (channel: string): string {
    return `${this.#link.prefix}channel:${channel}`
  }
}
