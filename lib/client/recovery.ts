import type { ServerEnvelope } from '../protocol/server-messages.js'
import type { RecoveryFailureReason, StreamPosition } from '../protocol/server-messages.js'
import { INBOX_STREAM, StreamPositions, isPosition, type GapReason, type StreamRecoveryOutcome } from './stream-positions.js'

/** A stream the server replayed after a reconnect (or after a gap): every missed message came before this event. */
export interface StreamRecovered {
  /** The channel, or `inbox`. */
  stream: string
  /** How many messages the server replayed. */
  missed: number
}

/** A stream with a hole the client could not fill: refetch its state (the position resumes after the hole). */
export interface StreamGap {
  /** The channel, or `inbox`. */
  stream: string
  reason: GapReason
}

/** What recovery needs of the client, given at construction. */
export interface RecoveryActions {
  /** Subscribe to one channel again with its position (a gap in a channel). */
  resubscribe (channel: string): void
  /** Drop the connection and reconnect at once with the inbox position (a gap in the inbox); false if the client cannot. */
  reconnect (): boolean
  recovered (event: StreamRecovered): void
  gap (event: StreamGap): void
}

export interface RecoveryOptions {
  positions?: Readonly<Record<string, StreamPosition>> | undefined
  actions: RecoveryActions
  now: () => number
}

/**
 * An inbox gap is recovered by reconnecting (the inbox replays only in the
 * handshake); at most once in this long, so a server that keeps skipping
 * offsets costs a gap event, not a reconnect loop.
 */
export const INBOX_GAP_RECONNECT_INTERVAL_MS = 30_000

/** How many delivered ids are remembered: more than one recovery replays (maxRecoveredMessages, 300 by default) per stream. */
const RECENT_IDS = 2048

const FAILURE_REASONS: ReadonlySet<string> = new Set<RecoveryFailureReason>(['epoch_changed', 'too_old', 'too_many', 'no_history', 'forbidden', 'unavailable'])

/**
 * Reads the server's positions and offsets off every message and decides
 * what the client delivers, what it asks again, and what it reports.
 * Positions advance before a message is emitted, so a listener that throws
 * cannot bring it back.
 */
export class Recovery {
  readonly #positions: StreamPositions
  readonly #actions: RecoveryActions
  readonly #now: () => number
  #lastInboxReconnectAt = -Infinity
  /** Ids of the last messages with offsets delivered, oldest first (a Set keeps insertion order). */
  readonly #recentIds = new Set<string>()

  constructor (options: RecoveryOptions) {
    this.#positions = new StreamPositions(options.positions)
    this.#actions = options.actions
    this.#now = options.now
  }

  /** Every stream position the client could recover from now. */
  get positions (): Record<string, StreamPosition> {
    return this.#positions.snapshot()
  }

  /** The handshake's query parameter (`inbox=<epoch>:<offset>`), when the client has an inbox position. */
  handshakeQuery (): string | undefined {
    const position = this.#positions.beginRecovery(INBOX_STREAM)
    return position === undefined ? undefined : `inbox=${encodeURIComponent(position.epoch)}:${position.offset}`
  }

  /** The `recover` of a subscribe to these channels: each one with a position. */
  recoverFor (channels: readonly string[]): Record<string, StreamPosition> | undefined {
    let recover: Record<string, StreamPosition> | undefined
    for (const channel of channels) {
      const position = this.#positions.beginRecovery(channel)
      if (position !== undefined) (recover ??= {})[channel] = position
    }
    return recover
  }

  /** The app left these channels, or was refused them: their positions go. */
  forget (channels: readonly string[]): void {
    for (const channel of channels) this.#positions.forget(channel)
  }

  /** A subscribe that asked to recover these channels failed: no replay will come for them. */
  abandon (channels: readonly string[]): void {
    for (const channel of channels) this.#positions.endRecovery(channel)
  }

  connectionLost (): void {
    this.#positions.connectionLost()
  }

  /**
   * Every server message, before it is emitted. False: drop it (seen
   * already, or past a hole that is being asked for again).
   */
  receive (message: ServerEnvelope): boolean {
    const data = message.data as Record<string, unknown> | null
    switch (message.type) {
      case 'connection.established':
        if (isPosition(data?.inbox)) this.#serverTop(INBOX_STREAM, data.inbox)
        return true
      case 'subscription.confirmed':
        for (const [channel, top] of entries(data?.positions)) {
          if (isPosition(top)) this.#serverTop(channel, top)
        }
        return true
      case 'subscription.joined':
        if (typeof data?.channel === 'string' && isPosition(data.position)) this.#serverTop(data.channel, data.position)
        return true
      case 'unsubscription.confirmed':
        this.forget(strings(data?.channels))
        return true
      case 'subscription.ended':
        if (typeof data?.channel === 'string') this.#positions.forget(data.channel)
        return true
      case 'recovery.result':
        for (const [stream, outcome] of entries(data?.streams)) this.#report(stream, this.#positions.settle(stream, asOutcome(outcome)))
        return true
      default:
        return this.#receiveMessage(message)
    }
  }

  #serverTop (stream: string, top: StreamPosition): void {
    if (this.#positions.serverTop(stream, top).isPossibleHole) this.#actions.gap({ stream, reason: 'gap' })
  }

  #receiveMessage (message: ServerEnvelope): boolean {
    const offsets = offsetsOf(message)
    if (offsets.length === 0) return true
    const verdict = this.#positions.receive(offsets)
    let isTaken = verdict.isTaken
    for (const { stream, offset } of verdict.gaps) {
      if (this.#askAgain(stream)) continue
      // cannot ask: report the hole and go on from this message
      this.#positions.skipTo(stream, offset)
      this.#actions.gap({ stream, reason: 'gap' })
      isTaken = true
    }
    if (!isTaken || verdict.isSeen) return false
    // a message of two streams may come once in each form around a recovery: the same id
    if (typeof message.id === 'string') {
      if (this.#recentIds.has(message.id)) return false
      this.#recentIds.add(message.id)
      if (this.#recentIds.size > RECENT_IDS) this.#recentIds.delete(this.#recentIds.values().next().value as string)
    }
    return true
  }

  /** A hole before a message: ask the server for it again; false if the client cannot. */
  #askAgain (stream: string): boolean {
    if (stream === INBOX_STREAM) {
      const now = this.#now()
      if (now - this.#lastInboxReconnectAt < INBOX_GAP_RECONNECT_INTERVAL_MS) return false
      this.#lastInboxReconnectAt = now
      return this.#actions.reconnect()
    }
    // without an epoch (a channel the server joined the client to) there is no position to ask from
    if (this.#positions.beginRecovery(stream) === undefined) return false
    this.#actions.resubscribe(stream)
    return true
  }

  #report (stream: string, outcome: { recovered: true, missed: number } | { recovered: false, reason: GapReason }): void {
    if (outcome.recovered) this.#actions.recovered({ stream, missed: outcome.missed })
    else this.#actions.gap({ stream, reason: outcome.reason })
  }
}

/**
 * The (stream, offset) pairs of a message: a channel message's `offset`
 * (and `inbox_offset` when it also went to the inbox), an inbox message's `offset`.
 */
function offsetsOf (message: ServerEnvelope): Array<[string, number]> {
  const { offset, inbox, inbox_offset: inboxOffset } = message as ServerEnvelope & { offset?: unknown, inbox?: unknown, inbox_offset?: unknown }
  const offsets: Array<[string, number]> = []
  if (typeof message.channel === 'string') {
    if (isOffset(offset)) offsets.push([message.channel, offset])
    if (isOffset(inboxOffset)) offsets.push([INBOX_STREAM, inboxOffset])
  } else if (inbox === true) {
    const own = isOffset(inboxOffset) ? inboxOffset : offset
    if (isOffset(own)) offsets.push([INBOX_STREAM, own])
  }
  return offsets
}

function isOffset (value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}

/** One stream's entry of a recovery.result; anything but a well-formed success counts as not recovered. */
function asOutcome (value: unknown): StreamRecoveryOutcome {
  const outcome = (value ?? {}) as { recovered?: unknown, missed?: unknown, reason?: unknown, position?: unknown }
  if (outcome.recovered === true && isOffset(outcome.missed)) return { recovered: true, missed: outcome.missed }
  const reason = outcome.reason
  const failure: StreamRecoveryOutcome = { recovered: false, reason: typeof reason === 'string' && FAILURE_REASONS.has(reason) ? reason as RecoveryFailureReason : 'gap' }
  if (isPosition(outcome.position)) failure.position = outcome.position
  return failure
}

function entries (value: unknown): Array<[string, unknown]> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : []
}

function strings (value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []
}
