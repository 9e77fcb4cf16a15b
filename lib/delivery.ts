import type { Registry } from './registry.js'
import type { Connection } from './connection.js'
import type { Adapter, DeliveryTarget, EventTarget, UsersTarget } from './adapters/adapter.js'
import type { Counters } from './stats.js'
import { InvalidOutboundMessageError, MessageTooLargeError, PublishFailedError } from './errors.js'
import { frameText } from './frame.js'
import type { ChannelIndex } from './channels/channel-index.js'
import { withChannelField } from './channels/envelope.js'
import { CloseCode } from './protocol/codes.js'
import { closeFields } from './observability/labels.js'
import { serializeEnvelope } from './protocol/serializers.js'

/**
 * One message on its way to local sockets. The first socket gets it through
 * ws (which frames it as it writes); from the second on it is framed once
 * and the frame shared, so a message with one recipient (a user's socket, a
 * channel of one member) costs no copy into a shared frame.
 */
export interface Outgoing {
  /** The bytes, or the text (made bytes once a second socket needs the shared frame). */
  bytes: Buffer | string
  frame: Buffer | undefined
  /** Whether a socket got it already: the next one gets the shared frame. */
  isWritten?: boolean | undefined
}

export interface DeliveryOptions {
  maxMessageSize: number
  maxBufferedBytes: number
  closeSlowConsumer: boolean
  /** Frame each message once for every socket (only without permessage-deflate). */
  framesOnce: boolean
  /** Told when a send closed a connection (slow consumer, failed write), so the node forgets it at once. */
  onClosed: (connection: Connection) => void
}

/**
 * Builds each message's envelope once (one timestamp, one id, one
 * serialization, one Buffer) however many connections receive it, finds
 * recipients through the registry's indexes and hands the same bytes to the
 * adapter for the other nodes.
 */
export class Delivery {
  readonly #registry: Registry<Connection>
  readonly #options: DeliveryOptions
  readonly #adapter: Adapter
  readonly #counters: Counters
  readonly #channels: ChannelIndex<Connection>

  constructor (registry: Registry<Connection>, options: DeliveryOptions, adapter: Adapter, counters: Counters, channels: ChannelIndex<Connection>) {
    this.#channels = channels
    this.#registry = registry
    this.#options = options
    this.#adapter = adapter
    this.#counters = counters
  }

  /**
   * The envelope as JSON text, size-checked; with `channel`, the envelope
   * carries it. The text goes to ws as is (a reply, a message's first local
   * socket): converting it to a Buffer first would copy it twice.
   */
  encodeText (type: string, data: unknown, channel?: string): string {
    const text = this.#stringify(type, data, channel)
    // a UTF-16 code unit is at most 3 UTF-8 bytes: count bytes only when it could matter
    if (text.length * 3 > this.#options.maxMessageSize) {
      const size = Buffer.byteLength(text)
      if (size > this.#options.maxMessageSize) throw new MessageTooLargeError(size, this.#options.maxMessageSize)
    }
    return text
  }

  #stringify (type: string, data: unknown, channel?: string): string {
    if (typeof type !== 'string' || type.length === 0) throw new InvalidOutboundMessageError('type must be a non-empty string')
    try {
      return serializeEnvelope(type, data, channel)
    } catch (err) {
      throw new InvalidOutboundMessageError(`data is not serializable (${(err as Error).message})`)
    }
  }

  /**
   * Delivers encoded text (encodeText) to this node's connections and
   * publishes it to the others. Resolves the local count.
   */
  async deliver (target: DeliveryTarget, text: string): Promise<number> {
    const delivered = this.deliverLocal(target, text)
    if (target.kind === 'connection' && delivered > 0) return delivered
    try {
      await this.#adapter.publish({ kind: 'deliver', target, payload: text })
    } catch (err) {
      this.#counters.publishFailures++
      const error = new PublishFailedError((err as Error).message)
      Object.assign(error, { delivered })
      throw error
    }
    return delivered
  }

  /** Sends already-encoded bytes (or their text, as another node sent it) to the local connections `target` names. */
  deliverLocal (target: DeliveryTarget, bytes: Buffer | string): number {
    // a socket counts a queued string by its length: only ASCII text, whose length is its byte count,
    // stays a string, so that maxBufferedBytes keeps counting bytes
    const out: Outgoing = { bytes: typeof bytes === 'string' && Buffer.byteLength(bytes) !== bytes.length ? Buffer.from(bytes) : bytes, frame: undefined }
    switch (target.kind) {
      case 'all':
        return this.#sendAll(this.#registry.all(), out)
      case 'event':
        return this.#sendAll(this.#registry.subscribers(target.event), out)
      case 'users': {
        let delivered = 0
        // each user once, even if listed twice (no Set to build for the common single user)
        for (const userId of target.userIds.length === 1 ? target.userIds : new Set(target.userIds)) {
          const connections = this.#registry.forUser(userId)
          if (connections === undefined) continue
          if (target.event === undefined) {
            delivered += this.#sendAll(connections, out)
          } else {
            for (const connection of connections) {
              if (connection.subscriptions.has(target.event)) delivered += this.#sendOne(connection, out)
            }
          }
        }
        return delivered
      }
      case 'connection': {
        const connection = this.#registry.get(target.connectionId)
        return connection === undefined ? 0 : this.#sendOne(connection, out, false)
      }
      case 'channel':
        return this.#sendAll(this.#channels.members(target.channel), out)
      case 'withChannel':
        return this.#deliverWithChannel(target.base, target.channel, out)
    }
  }

  /**
   * The channel's members get the message with `channel` (same id and
   * timestamp), then `base`'s connections that are not members get it plain:
   * one copy per connection.
   */
  #deliverWithChannel (base: EventTarget | UsersTarget, channel: string, plain: Outgoing): number {
    const members = this.#channels.members(channel)
    let delivered = 0
    if (members !== undefined) {
      const withChannel = withChannelField(plain.bytes.toString(), channel)
      delivered += this.#sendAll(members, { bytes: Buffer.from(withChannel), frame: undefined })
    }
    const isMember = (connection: Connection): boolean => members?.has(connection) === true
    if (base.kind === 'event') {
      for (const connection of this.#registry.subscribers(base.event) ?? []) {
        if (!isMember(connection)) delivered += this.#sendOne(connection, plain)
      }
      return delivered
    }
    for (const userId of base.userIds.length === 1 ? base.userIds : new Set(base.userIds)) {
      for (const connection of this.#registry.forUser(userId) ?? []) {
        if (isMember(connection)) continue
        if (base.event === undefined || connection.subscriptions.has(base.event)) delivered += this.#sendOne(connection, plain)
      }
    }
    return delivered
  }

  /** One recipient: no shared frame to build, ws frames it as it writes. */
  sendToOne (connection: Connection, payload: Buffer | string): number {
    return this.#sendOne(connection, { bytes: payload, frame: undefined }, false)
  }

  #sendAll (connections: Iterable<Connection> | undefined, out: Outgoing): number {
    if (connections === undefined) return 0
    let delivered = 0
    for (const connection of connections) delivered += this.#sendOne(connection, out)
    return delivered
  }

  /** Sends to one connection, its frame shared with the other recipients of `out` (lib/history's fan-out). */
  sendShared (connection: Connection, out: Outgoing): number {
    return this.#sendOne(connection, out, typeof out.bytes !== 'string')
  }

  /**
   * Sends past the recovery gate and past maxBufferedBytes: a replay, or
   * what a gate held (both bounded by maxRecoveredMessages or the gate's own
   * bound), must reach the client whole or not at all.
   */
  sendPastGate (connection: Connection, payload: Buffer | string): number {
    return this.#write(connection, { bytes: payload, frame: undefined }, false, Number.POSITIVE_INFINITY)
  }

  #sendOne (connection: Connection, out: Outgoing, isShared = true): number {
    // while a recovery holds this connection's messages (lib/history/gate.ts), they wait in order
    if (connection.recovery !== undefined && connection.recovery.holdRaw(out.bytes)) return 1
    return this.#write(connection, out, isShared, this.#options.maxBufferedBytes)
  }

  #write (connection: Connection, out: Outgoing, isShared: boolean, maxBufferedBytes: number): number {
    if (isShared && out.frame === undefined && this.#options.framesOnce && out.isWritten === true) {
      // a second socket: from here on the frame is built once and shared
      if (typeof out.bytes === 'string') out.bytes = Buffer.from(out.bytes)
      out.frame = frameText(out.bytes)
    }
    const result = connection.send(out.bytes, out.frame, maxBufferedBytes, this.#options.closeSlowConsumer)
    if (result === 'sent') {
      out.isWritten = true
      this.#counters.messagesOut++
      return 1
    }
    if (result === 'dropped') {
      this.#counters.slowConsumerEvents++
    } else if (result === 'closed') {
      this.#counters.slowConsumerEvents++
      connection.log.warn({ bufferedBytes: connection.bufferedAmount, ...closeFields(CloseCode.slowConsumer) }, 'closing slow consumer')
      this.#options.onClosed(connection)
    } else if (result === 'failed') {
      // the connection logged ws's error and closed itself: never a throw into a socket callback or a fan-out loop
      this.#counters.sendFailures++
      this.#options.onClosed(connection)
    }
    return 0
  }
}
