import type { StreamPosition } from '../protocol/server-messages.js'
import { channelStream, inboxStream, withInboxOffset, withOffset, type HistoryEngine, type StreamAppend, type StreamKey, type StreamRead, type StreamSequence, type StreamStamp } from './history.js'
import type { HistoryOptions } from './options.js'
import { MessageRing } from './ring.js'
import { newEpoch, POSITION_RETENTION_MS } from './epoch.js'

interface MemoryStream {
  readonly epoch: string
  top: number
  readonly ring: MessageRing
  ttlMs: number
  /** Last append or read, for forgetting idle streams. */
  usedAt: number
}

export interface MemoryHistoryOptions {
  /** The clock (ms); injected by tests. */
  now?: () => number
  /** How long an idle stream's position is kept after its last message expired (POSITION_RETENTION_MS). */
  positionRetentionMs?: number
}

/**
 * History in this process's memory: one bounded ring per stream (at most
 * `size` messages, each dropped `ttlMs` after it was stored, by the node's
 * sweep). The default engine, right for a single process; offsets are
 * assigned synchronously, so the order of appends is the order of delivery.
 */
export class MemoryHistory implements HistoryEngine {
  readonly delivery = 'local' as const
  readonly #streams = new Map<StreamKey, MemoryStream>()
  readonly #now: () => number
  readonly #retentionMs: number

  constructor (options: MemoryHistoryOptions = {}) {
    this.#now = options.now ?? Date.now
    this.#retentionMs = options.positionRetentionMs ?? POSITION_RETENTION_MS
  }

  /** Streams held (with messages, or only a position). */
  get streamCount (): number {
    return this.#streams.size
  }

  async append (message: StreamAppend): Promise<StreamSequence> {
    return this.appendNow(message)
  }

  /** append, synchronously. */
  appendNow (message: StreamAppend): StreamSequence {
    const now = this.#now()
    const sequence: { channel?: StreamStamp, users?: StreamStamp[] } = {}
    if (message.channel !== undefined) {
      const { name, text, history } = message.channel
      sequence.channel = this.#add(channelStream(name), history, now, (offset) => withOffset(text, offset))
    }
    if (message.inbox !== undefined) {
      const { userIds, history } = message.inbox
      sequence.users = userIds.map(userId => this.#add(inboxStream(userId), history, now, (offset) => withInboxOffset(message.payload, offset)))
    }
    return sequence
  }

  async read (key: StreamKey, history: HistoryOptions, since: StreamPosition | undefined, limit: number): Promise<StreamRead> {
    return this.readNow(key, history, since, limit)
  }

  readNow (key: StreamKey, history: HistoryOptions, since: StreamPosition | undefined, limit: number): StreamRead {
    const now = this.#now()
    const stream = this.#stream(key, history, now)
    stream.ring.expire(now - history.ttlMs)
    const position = { epoch: stream.epoch, offset: stream.top }
    if (since === undefined) return { position }
    if (since.epoch !== stream.epoch || since.offset > stream.top) return { position, recovered: false, reason: 'epoch_changed' }
    const missed = stream.top - since.offset
    if (missed === 0) return { position, recovered: true, entries: [] }
    if (missed > stream.ring.count) return { position, recovered: false, reason: 'too_old' }
    if (missed > limit) return { position, recovered: false, reason: 'too_many' }
    return { position, recovered: true, entries: stream.ring.newest(missed) }
  }

  sweep (now: number): void {
    for (const [key, stream] of this.#streams) {
      stream.ring.expire(now - stream.ttlMs)
      if (stream.ring.count === 0 && now - stream.usedAt >= Math.max(stream.ttlMs, this.#retentionMs)) this.#streams.delete(key)
    }
  }

  #add (key: StreamKey, history: HistoryOptions, now: number, form: (offset: number) => string): StreamStamp {
    const stream = this.#stream(key, history, now)
    const offset = ++stream.top
    stream.ring.push(form(offset), now, history.size)
    return { offset, epoch: stream.epoch }
  }

  #stream (key: StreamKey, history: HistoryOptions, now: number): MemoryStream {
    let stream = this.#streams.get(key)
    if (stream === undefined) {
      stream = { epoch: newEpoch(), top: 0, ring: new MessageRing(), ttlMs: history.ttlMs, usedAt: now }
      this.#streams.set(key, stream)
    }
    stream.ttlMs = history.ttlMs
    stream.usedAt = now
    return stream
  }
}
