import type { FastifyBaseLogger } from 'fastify'

/** What the index needs of a connection: its own record of its channels. */
export interface ChannelHolder {
  readonly channels: ReadonlySet<string>
  addChannel (channel: string): boolean
  removeChannel (channel: string): boolean
}

/**
 * Told when this node's first connection enters a channel and when its last
 * one leaves (the Redis adapter SUBSCRIBEs and UNSUBSCRIBEs there): the
 * index's sets are the reference counts.
 */
export interface ChannelListener {
  subscribeChannel? (channel: string): Promise<void>
  unsubscribeChannel? (channel: string): Promise<void>
}

/**
 * Connections by channel, so publishing to a channel reaches its members
 * without scanning anyone else. Keeps the connection's own set in step.
 * No I/O here beyond telling the listener.
 */
export class ChannelIndex<C extends ChannelHolder> {
  readonly #byChannel = new Map<string, Set<C>>()
  /** Memberships (connection in channel) by namespace, kept as they change: the metrics read it at scrape time. */
  readonly #byNamespace = new Map<string, number>()
  /** subscribeChannel calls not settled yet: a member that joins meanwhile waits for the same one. */
  readonly #listening = new Map<string, Promise<void>>()
  readonly #listener: ChannelListener
  readonly #log: FastifyBaseLogger

  constructor (listener: ChannelListener, log: FastifyBaseLogger) {
    this.#listener = listener
    this.#log = log
  }

  /** Puts the connection in the channel; false if it was already in. */
  add (connection: C, channel: string): boolean {
    if (!connection.addChannel(channel)) return false
    let members = this.#byChannel.get(channel)
    if (members === undefined) {
      members = new Set()
      this.#byChannel.set(channel, members)
      this.#listen(channel)
    }
    members.add(connection)
    this.#countIn(channel, 1)
    this.onMembership?.(connection, channel, true)
    return true
  }

  /** Takes the connection out of the channel; false if it was not in. */
  remove (connection: C, channel: string): boolean {
    if (!connection.removeChannel(channel)) return false
    const members = this.#byChannel.get(channel)
    /* c8 ignore next */ // the connection's set and the index change together
    if (members === undefined) return true
    members.delete(connection)
    this.#countIn(channel, -1)
    this.onMembership?.(connection, channel, false)
    if (members.size === 0) {
      this.#byChannel.delete(channel)
      this.#unlisten(channel)
    }
    return true
  }

  /** Forgets a connection that is gone: out of every channel. */
  removeAll (connection: C): void {
    for (const channel of [...connection.channels]) this.remove(connection, channel)
  }

  /**
   * Told of every connection entering (true) or leaving (false) a channel:
   * channel presence listens here. Attached after construction, unlike the
   * node's other callbacks, because presence is built from the node (its
   * router, registry and channels) once they exist.
   */
  onMembership: ((connection: C, channel: string, isIn: boolean) => void) | undefined

  members (channel: string): ReadonlySet<C> | undefined {
    return this.#byChannel.get(channel)
  }

  count (channel: string): number {
    return this.#byChannel.get(channel)?.size ?? 0
  }

  get channelCount (): number {
    return this.#byChannel.size
  }

  /** Memberships by namespace, for namespaces with at least one (channels are `namespace:id` of declared namespaces). */
  get subscriptionsByNamespace (): ReadonlyMap<string, number> {
    return this.#byNamespace
  }

  /**
   * Resolves once the cluster routes the channels' messages to this node
   * (at once for a channel already listened to, or without a listener).
   * Never rejects: a failed listen was logged and delivery stays local.
   */
  ready (channels: Iterable<string>): Promise<void> | undefined {
    let pending: Array<Promise<void>> | undefined
    for (const channel of channels) {
      const listening = this.#listening.get(channel)
      if (listening !== undefined) (pending ??= []).push(listening)
    }
    if (pending === undefined) return undefined
    return Promise.all(pending).then(() => {})
  }

  #countIn (channel: string, change: 1 | -1): void {
    const namespace = channel.slice(0, channel.indexOf(':'))
    const count = (this.#byNamespace.get(namespace) ?? 0) + change
    if (count === 0) this.#byNamespace.delete(namespace)
    else this.#byNamespace.set(namespace, count)
  }

  #listen (channel: string): void {
    const subscribe = this.#listener.subscribeChannel
    if (subscribe === undefined) return
    const listening = subscribe.call(this.#listener, channel)
      .catch((err: unknown) => {
        this.#log.warn({ err, channel }, 'fastify-realtime: could not listen to a channel across the cluster; delivering it locally only')
      })
      .finally(() => {
        if (this.#listening.get(channel) === listening) this.#listening.delete(channel)
      })
    this.#listening.set(channel, listening)
  }

  #unlisten (channel: string): void {
    const unsubscribe = this.#listener.unsubscribeChannel
    if (unsubscribe === undefined) return
    unsubscribe.call(this.#listener, channel).catch((err: unknown) => {
      this.#log.debug({ err, channel }, 'fastify-realtime: could not stop listening to a channel')
    })
  }
}
