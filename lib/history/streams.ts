import type { Registry } from '../registry.js'
import type { Connection } from '../connection.js'
import type { ChannelIndex } from '../channels/channel-index.js'
import type { ChannelNamespaceOptions } from '../channels/namespace.js'
import type { Delivery } from '../delivery.js'
import type { DeliveryTarget } from '../adapters/adapter.js'
import type { StreamPosition } from '../protocol/server-messages.js'
import { MessageTooLargeError, PublishFailedError } from '../errors.js'
import { withChannelField } from '../channels/envelope.js'
import { channelStream, inboxStream, type HistoryEngine, type StreamAppend, type StreamRead, type StreamSequence } from './history.js'
import type { HistoryOptions } from './options.js'
import { StreamFanout, uniqueUsers } from './stream-fanout.js'
import { EpochWatch, type EpochChange } from './epoch-watch.js'
import { RecoveryGate } from './gate.js'
import { INBOX_KEY } from './stream-copy.js'

export interface StreamsOptions {
  readonly namespaces: ReadonlyMap<string, ChannelNamespaceOptions>
  readonly inbox: HistoryOptions | undefined
  readonly maxRecoveredMessages: number
  readonly maxMessageSize: number
  readonly maxBufferedBytes: number
}

/** What the streams need from their node: its indexes, its delivery, and a way to send one protocol message. */
export interface StreamsHost {
  readonly registry: Registry<Connection>
  readonly index: ChannelIndex<Connection>
  readonly delivery: Delivery
  /** Sends a protocol message to one connection (held while its gate is paused). */
  reply (connection: Connection, type: string, data: unknown): void
  /** A gate overflowed: close the connection as a slow consumer. */
  overflow (connection: Connection): void
}

function notNumbered (err: unknown): Error {
  return Object.assign(new PublishFailedError(`the message could not enter its history, and was sent to nobody: ${(err as Error).message}`), { delivered: 0 })
}

/** Room the offset fields take in the largest form of a message (`"offset"`, `"inbox":true`, `"inbox_offset"`). */
const OFFSET_FIELDS_BYTES = 96

/**
 * One node's streams: which messages are stream messages, how they get
 * their offsets (the engine) and reach this node's connections (the
 * fan-out), and each connection's recovery gate.
 */
export class Streams {
  readonly engine: HistoryEngine
  readonly #options: StreamsOptions
  readonly #host: StreamsHost
  readonly #fanout: StreamFanout
  readonly watch: EpochWatch<Connection>

  constructor (options: StreamsOptions, engine: HistoryEngine, host: StreamsHost) {
    this.#options = options
    this.engine = engine
    this.#host = host
    this.#fanout = new StreamFanout(host.registry, host.index, host.delivery)
    this.watch = new EpochWatch((change) => this.#epochChanged(change))
  }

  get inbox (): HistoryOptions | undefined {
    return this.#options.inbox
  }

  /** The history of a channel's namespace, if it keeps one. */
  historyOf (channel: string): HistoryOptions | undefined {
    const colon = channel.indexOf(':')
    return this.#options.namespaces.get(channel.slice(0, colon))?.history as HistoryOptions | undefined
  }

  /**
   * The streams a delivery enters: a channel whose namespace keeps history,
   * the inboxes of the users it is addressed to (not a `subscribedTo`
   * delivery: it depends on each connection's subscriptions). Undefined:
   * not a stream message, delivered as before.
   */
  plan (target: DeliveryTarget): { channel?: { name: string, history: HistoryOptions }, users?: readonly string[] } | undefined {
    const inbox = this.#options.inbox
    if (target.kind === 'channel') {
      const history = this.historyOf(target.channel)
      return history === undefined ? undefined : { channel: { name: target.channel, history } }
    }
    if (target.kind === 'users') {
      return inbox === undefined || target.event !== undefined ? undefined : { users: uniqueUsers(target.userIds) }
    }
    if (target.kind === 'withChannel') {
      const history = this.historyOf(target.channel)
      const base = target.base
      const users = inbox !== undefined && base.kind === 'users' && base.event === undefined ? uniqueUsers(base.userIds) : undefined
      if (history === undefined && users === undefined) return undefined
      const plan: { channel?: { name: string, history: HistoryOptions }, users?: readonly string[] } = {}
      if (history !== undefined) plan.channel = { name: target.channel, history }
      if (users !== undefined) plan.users = users
      return plan
    }
    return undefined
  }

  /**
   * Gives the message its offsets, then delivers it: here at once with a
   * local engine; with a clustered one when the transport hands it back, in
   * stream order (the count is then of this node's connections it is for).
   * A message that gets no offset is sent to nobody: no client is left with
   * a hole it cannot see.
   */
  publish (target: DeliveryTarget, payload: string, plan: NonNullable<ReturnType<Streams['plan']>>): Promise<number> {
    const message: { -readonly [K in keyof StreamAppend]: StreamAppend[K] } = { target, payload }
    if (plan.channel !== undefined) {
      const text = target.kind === 'channel' ? payload : withChannelField(payload, plan.channel.name)
      message.channel = { name: plan.channel.name, text, history: plan.channel.history }
    }
    if (plan.users !== undefined) message.inbox = { userIds: plan.users, history: this.#options.inbox as HistoryOptions }
    const text = message.channel?.text ?? payload
    // a UTF-16 code unit is at most 3 UTF-8 bytes: count bytes only when it could matter
    if (text.length * 3 + OFFSET_FIELDS_BYTES > this.#options.maxMessageSize) {
      const size = Buffer.byteLength(text) + OFFSET_FIELDS_BYTES
      if (size > this.#options.maxMessageSize) return Promise.reject(new MessageTooLargeError(size, this.#options.maxMessageSize))
    }
    const engine = this.engine
    if (engine.appendNow !== undefined) {
      let seq: StreamSequence
      try {
        seq = engine.appendNow(message)
      /* c8 ignore next 3 */ // the in-memory engine never throws; an engine of a host's might
      } catch (err) {
        return Promise.reject(notNumbered(err))
      }
      return Promise.resolve(this.deliverLocal(target, payload, seq))
    }
    return engine.append(message).then(
      (seq) => engine.delivery === 'local' ? this.deliverLocal(target, payload, seq) : this.#fanout.count(target),
      (err: unknown) => { throw notNumbered(err) })
  }

  /** A stream message with its offsets, to this node's connections (from publish, or from another node). */
  deliverLocal (target: DeliveryTarget, payload: string, seq: StreamSequence): number {
    const channel = target.kind === 'channel' || target.kind === 'withChannel' ? target.channel : undefined
    if (channel !== undefined && seq.channel !== undefined && this.#host.index.count(channel) > 0) {
      this.watch.observe(channelStream(channel), false, channel, seq.channel.epoch, seq.channel.offset)
    }
    if (seq.users !== undefined) {
      const base = target.kind === 'withChannel' ? target.base : target
      /* c8 ignore next */ // inbox stamps come only with a users target
      const users = base.kind === 'users' ? uniqueUsers(base.userIds) : []
      for (let i = 0; i < users.length; i++) {
        const stamp = seq.users[i]
        const userId = users[i] as string
        if (stamp !== undefined && this.#host.registry.countForUser(userId) > 0) this.watch.observe(inboxStream(userId), true, userId, stamp.epoch, stamp.offset)
      }
    }
    return this.#fanout.deliver(target, payload, seq)
  }

  /** The connection's gate, made on first use. */
  gateOf (connection: Connection): RecoveryGate {
    connection.recovery ??= new RecoveryGate({
      send: (message) => { this.#host.delivery.sendShared(connection, typeof message === 'string' ? { bytes: message, frame: undefined } : message) },
      release: (bytes) => { this.#host.delivery.sendPastGate(connection, bytes) },
      overflow: () => this.#host.overflow(connection),
      idle: () => this.release(connection)
    }, this.#options.maxBufferedBytes)
    return connection.recovery
  }

  /** Drops a gate that holds and filters nothing any more. */
  release (connection: Connection): void {
    if (connection.recovery?.isIdle === true) connection.recovery = undefined
  }

  /** A replayed message: held if the connection is paused, sent whole otherwise. */
  sendReplay (connection: Connection, text: string): void {
    if (connection.recovery?.holdRaw(text) !== true) this.#host.delivery.sendPastGate(connection, text)
  }

  /** Sends past the connection's gate, paused or not (the welcome and the inbox replay). */
  sendPastGate (connection: Connection, text: string): void {
    this.#host.delivery.sendPastGate(connection, text)
  }

  /** Reads a stream; undefined when the engine failed (logged by the caller's context). */
  async read (key: string, history: HistoryOptions, since: StreamPosition | undefined): Promise<StreamRead | undefined> {
    try {
      return await this.engine.read(key, history, since, this.#options.maxRecoveredMessages)
    } catch {
      return undefined
    }
  }

  sweep (now: number): void {
    this.engine.sweep?.(now)
    this.watch.sweep((isInbox, owner) => isInbox ? this.#host.registry.countForUser(owner) > 0 : this.#host.index.count(owner) > 0)
  }

  #epochChanged (change: EpochChange<Connection>): void {
    const connections = change.isInbox ? this.#host.registry.forUser(change.owner) : this.#host.index.members(change.owner)
    const name = change.isInbox ? INBOX_KEY : change.owner
    const data = { streams: { [name]: { recovered: false, reason: 'epoch_changed', position: change.position } } }
    for (const connection of [...(connections ?? [])]) {
      if (connection !== change.except) this.#host.reply(connection, 'recovery.result', data)
    }
  }
}
