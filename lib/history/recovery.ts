import type { Connection } from '../connection.js'
import type { ClientPosition } from '../protocol/client-messages.js'
import type { StreamPosition, StreamRecovery } from '../protocol/server-messages.js'
import { INBOX_STREAM } from '../protocol/server-messages.js'
import { channelStream, inboxStream, type StreamRead } from './history.js'
import type { HistoryOptions } from './options.js'
import { INBOX_KEY } from './stream-copy.js'
import type { Streams } from './streams.js'

/** `recover` as the client sent it: by channel name; only own keys count (the object came from JSON.parse). */
export type RecoverRequest = Readonly<Record<string, ClientPosition>> | undefined

export function recoverFor (recover: RecoverRequest, channel: string): ClientPosition | undefined {
  return recover !== undefined && Object.hasOwn(recover, channel) ? recover[channel] : undefined
}

/**
 * A subscribe's channels with history: from now until their positions are
 * read, their live messages wait in the connection's gate. Call it before
 * the connection enters the channels. Returns the channels held.
 */
export function holdChannels (streams: Streams, connection: Connection, channels: readonly string[]): string[] {
  const held = channels.filter(channel => streams.historyOf(channel) !== undefined)
  if (held.length === 0) return held
  const gate = streams.gateOf(connection)
  for (const channel of held) gate.hold(channel)
  return held
}

export interface ChannelRecovery {
  readonly streams: Streams
  readonly connection: Connection
  /** Every channel of the request. */
  readonly channels: readonly string[]
  /** Those with history (holdChannels held them). */
  readonly held: readonly string[]
  readonly recover: RecoverRequest
  /** Sends subscription.confirmed, with the positions read. */
  readonly confirm: (positions: Record<string, StreamPosition> | undefined) => void
  /** Sends recovery.result. */
  readonly result: (streams: Record<string, StreamRecovery>) => void
}

/**
 * After a subscribe's authorization passed and its channels are routed to
 * this node: reads each history channel's position (and, for those in
 * `recover`, what came after the client's), then sends
 * subscription.confirmed, the replays in order, recovery.result, and only
 * then the live messages that arrived meanwhile, merged by offset.
 */
export async function confirmWithHistory (run: ChannelRecovery): Promise<void> {
  const { streams, connection, held, recover } = run
  // a subscribe sent before connection.established: its answer and replay come after the welcome's
  if (connection.recovery?.isPaused === true) await connection.recovery.whenResumed()
  const reads = await Promise.all(held.map(channel => streams.read(
    channelStream(channel), streams.historyOf(channel) as HistoryOptions, positionOf(recoverFor(recover, channel)))))
  const gate = streams.gateOf(connection)
  if (!connection.isOpen) {
    for (const channel of held) gate.discard(channel)
    return
  }
  const positions: Record<string, StreamPosition> = {}
  for (let i = 0; i < held.length; i++) {
    const read = reads[i]
    const channel = held[i] as string
    if (read !== undefined) {
      positions[channel] = read.position
      streams.watch.learned(channelStream(channel), false, channel, read.position, connection)
    }
  }
  run.confirm(held.length === 0 ? undefined : positions)

  const results: Record<string, StreamRecovery> = {}
  let hasResults = false
  for (let i = 0; i < held.length; i++) {
    const channel = held[i] as string
    const read = reads[i]
    const asked = recoverFor(recover, channel)
    if (!connection.channels.has(channel)) {
      // left (revoked) while its history was read: none of it is sent
      if (asked !== undefined) results[channel] = { recovered: false, reason: 'forbidden' }
      hasResults ||= asked !== undefined
      continue
    }
    if (read === undefined) {
      // no position to give: the client learns it has none
      results[channel] = { recovered: false, reason: 'unavailable' }
      hasResults = true
      continue
    }
    if (asked === undefined) continue
    results[channel] = replay(read, (text) => streams.sendReplay(connection, text))
    hasResults = true
  }
  for (const channel of run.channels) {
    if (recoverFor(recover, channel) !== undefined && !held.includes(channel)) {
      results[channel] = { recovered: false, reason: 'no_history' }
      hasResults = true
    }
  }
  if (hasResults) run.result(results)
  for (let i = 0; i < held.length; i++) {
    const channel = held[i] as string
    const read = reads[i]
    if (!connection.channels.has(channel)) gate.discard(channel)
    else gate.settle(channel, read?.position.offset ?? 0)
  }
  streams.release(connection)
}

/** recovery.result for the channels a subscribe's authorize refused, when the client asked to recover them. */
export function refusedRecovery (recover: RecoverRequest, refused: readonly string[]): Record<string, StreamRecovery> | undefined {
  let results: Record<string, StreamRecovery> | undefined
  for (const channel of refused) {
    if (recoverFor(recover, channel) === undefined) continue
    results ??= {}
    results[channel] = { recovered: false, reason: 'forbidden' }
  }
  return results
}

/** The client's position of the inbox, from the handshake: absent, malformed (null), or a position. */
export type InboxAsk = StreamPosition | null | undefined

export interface InboxWelcome {
  readonly streams: Streams
  readonly connection: Connection
  readonly asked: InboxAsk
  /** Sends connection.established (with the inbox position when there is one) past the gate; false if it could not. */
  readonly welcome: (inbox: StreamPosition | undefined) => boolean
  /** Sends recovery.result past the gate. */
  readonly result: (streams: Record<string, StreamRecovery>) => void
}

/**
 * A new connection with the inbox on: everything for it waits until its
 * inbox position is read, then connection.established (with `inbox`), the
 * replay the handshake asked for, recovery.result, and what waited.
 */
export function welcomeWithInbox (run: InboxWelcome): void {
  const { streams, connection, asked } = run
  const inbox = streams.inbox
  if (inbox === undefined) {
    if (run.welcome(undefined) && asked !== undefined) run.result({ [INBOX_STREAM]: { recovered: false, reason: 'no_history' } })
    return
  }
  const gate = streams.gateOf(connection)
  gate.pause()
  gate.hold(INBOX_KEY)
  const key = inboxStream(connection.userId)
  streams.read(key, inbox, asked ?? undefined).then((read) => {
    if (!connection.isOpen) return
    if (read !== undefined) streams.watch.learned(key, true, connection.userId, read.position, connection)
    if (!run.welcome(read?.position)) return
    if (asked !== undefined) {
      let result: StreamRecovery
      if (read === undefined) result = { recovered: false, reason: 'unavailable' }
      else if (asked === null) result = { recovered: false, reason: 'epoch_changed', position: read.position }
      else result = replay(read, (text) => streams.sendPastGate(connection, text))
      run.result({ [INBOX_STREAM]: result })
    }
    gate.settle(INBOX_KEY, read?.position.offset ?? 0)
    gate.resume()
    streams.release(connection)
  }, /* c8 ignore next */ () => {}) // Streams.read never rejects
}

/** Sends a read's entries (or nothing) and says what it did. */
function replay (read: StreamRead, send: (text: string) => void): StreamRecovery {
  if (read.recovered === false) return { recovered: false, reason: read.reason, position: read.position }
  /* c8 ignore next */ // a read with a position to recover from always answers recovered
  const entries = read.recovered === true ? read.entries : []
  for (const entry of entries) send(entry)
  return { recovered: true, missed: entries.length, position: read.position }
}

function positionOf (asked: ClientPosition | undefined): StreamPosition | undefined {
  return asked === undefined ? undefined : { epoch: asked.epoch, offset: asked.offset }
}
