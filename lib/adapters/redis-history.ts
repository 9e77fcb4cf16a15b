import type { DeliveryTarget } from './adapter.js'
import type { StreamPosition } from '../protocol/server-messages.js'
import type { EngineRefusal, HistoryEngine, StreamAppend, StreamKey, StreamRead, StreamSequence, StreamStamp } from '../history/history.js'
import { channelStream, inboxStream } from '../history/history.js'
import type { HistoryOptions } from '../history/options.js'
import { newEpoch, POSITION_RETENTION_MS } from '../history/epoch.js'
import { AdapterNotConnectedError, AdapterProtocolError } from '../errors.js'

/** The two scripts, as the adapter's publisher connection defines them. */
export interface HistoryCommands {
  rtHistoryAppend (...args: Array<string | number>): Promise<Array<string | number>>
  rtHistoryRead (...args: Array<string | number>): Promise<Array<string | number>>
}

/** What the engine needs from its adapter. */
export interface RedisHistoryHost {
  readonly keyPrefix: string
  /** The publisher connection, when the adapter is connected. */
  commands (): HistoryCommands | undefined
  /** Where a target's messages are published (the cluster channel, or a channel's own with per-channel routing). */
  redisChannelOf (target: DeliveryTarget): string
  /** The start of a frame that every node applies, the publishing one included: `<version>\n*\n`. */
  readonly broadcastFrameStart: string
}

export interface RedisHistoryOptions {
  /** The clock (ms) that stamps entries and judges their age; injected by tests. */
  now?: () => number
  positionRetentionMs?: number
}

const REFUSALS: ReadonlySet<string> = new Set(['epoch_changed', 'too_old', 'too_many'])

/**
 * History in Redis Streams, shared by every node: one Lua script assigns a
 * message its offsets, adds it to its streams (XADD with MAXLEN, PEXPIRE for
 * the ttl) and PUBLISHes it, so the order of a stream is the order every
 * node receives it in; nothing is delivered locally first. A node that dies
 * loses nothing that was published; a Redis restarted empty gives every
 * stream a new epoch.
 */
export class RedisHistory implements HistoryEngine {
  readonly delivery = 'transport' as const
  readonly #host: RedisHistoryHost
  readonly #now: () => number
  readonly #retentionMs: number

  constructor (host: RedisHistoryHost, options: RedisHistoryOptions = {}) {
    this.#host = host
    this.#now = options.now ?? Date.now
    this.#retentionMs = options.positionRetentionMs ?? POSITION_RETENTION_MS
  }

  async append (message: StreamAppend): Promise<StreamSequence> {
    const commands = this.#commands()
    const { channel, inbox } = message
    const head = `${this.#host.broadcastFrameStart}${JSON.stringify({ kind: 'deliver', target: message.target }).slice(0, -1)}`
    const args: Array<string | number> = [
      this.#host.keyPrefix, this.#now(), newEpoch(), this.#retentionMs, this.#host.redisChannelOf(message.target), head, message.payload,
      channel === undefined ? '' : channelStream(channel.name), channel?.text ?? '', channel?.history.size ?? 0, channel?.history.ttlMs ?? 0,
      inbox?.history.size ?? 0, inbox?.history.ttlMs ?? 0
    ]
    if (inbox !== undefined) for (const userId of inbox.userIds) args.push(inboxStream(userId))
    const reply = await commands.rtHistoryAppend(...args)
    const sequence: { channel?: StreamStamp, users?: StreamStamp[] } = {}
    if (Number(reply[0]) !== -1) sequence.channel = { offset: Number(reply[0]), epoch: String(reply[1]) }
    if (inbox !== undefined) {
      const users: StreamStamp[] = []
      for (let i = 2; i < reply.length; i += 2) users.push({ offset: Number(reply[i]), epoch: String(reply[i + 1]) })
      sequence.users = users
    }
    return sequence
  }

  async read (key: StreamKey, history: HistoryOptions, since: StreamPosition | undefined, limit: number): Promise<StreamRead> {
    const commands = this.#commands()
    const reply = await commands.rtHistoryRead(this.#host.keyPrefix, key, newEpoch(), Math.max(history.ttlMs, this.#retentionMs),
      since?.epoch ?? '', since?.offset ?? 0, limit, this.#now() - history.ttlMs)
    const position = { epoch: String(reply[0]), offset: Number(reply[1]) }
    const status = String(reply[2])
    if (status === '') return { position }
    if (status === 'ok') return { position, recovered: true, entries: reply.slice(3).map(String) }
    /* c8 ignore next */ // the script answers nothing else
    if (!REFUSALS.has(status)) throw new AdapterProtocolError(`history read status ${status.slice(0, 32)}`)
    return { position, recovered: false, reason: status as EngineRefusal }
  }

  #commands (): HistoryCommands {
    const commands = this.#host.commands()
    if (commands === undefined) throw new AdapterNotConnectedError('Redis is not connected')
    return commands
  }
}
