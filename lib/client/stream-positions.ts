import type { RecoveryFailureReason, StreamPosition } from '../protocol/server-messages.js'

export type { RecoveryFailureReason, StreamPosition }

/**
 * The inbox's key among the streams (a channel name always has a colon);
 * the protocol's INBOX_STREAM, here again so the browser bundle takes no TypeBox.
 */
export const INBOX_STREAM = 'inbox'

/**
 * Why the client has a hole in a stream: the server's reason, or `gap` when
 * the client found offsets missing and could not ask for them again.
 */
export type GapReason = RecoveryFailureReason | 'gap'

/** The server's answer for one stream of a recovery.result (`gap`: an answer the client could not read). */
export type StreamRecoveryOutcome = { recovered: true, missed: number } | { recovered: false, reason: GapReason, position?: StreamPosition }

/** What a message's offsets say: seen already, taken by a stream, and which streams have a hole before it. */
export interface OffsetVerdict {
  /** A stream of the message has it already: it was delivered. */
  readonly isSeen: boolean
  /** A stream took it as its next message (or started with it). */
  readonly isTaken: boolean
  /** Streams where the message jumps past the next offset (none of them recovering already). */
  readonly gaps: ReadonlyArray<{ stream: string, offset: number }>
}

interface Tracked {
  /** Undefined while the client knows an offset but not yet the epoch (a channel the server joined it to). */
  epoch: string | undefined
  offset: number
  /**
   * The client saw every message after this and up to `offset`; at or below
   * it, it does not know (before it joined, or skipped by a failed recovery).
   */
  baseline: number
  /** A recovery was asked on this connection and its recovery.result has not come. */
  isRecovering: boolean
  /** The stream's top the server reported while this recovery runs (where a failed one resumes). */
  top: StreamPosition | undefined
  /** A failed recovery with no known top: the next message is the new baseline, whatever its offset. */
  isResyncing: boolean
}

/**
 * The client's positions and the rules that use them. Pure bookkeeping, no
 * I/O: the client asks it what to do and acts.
 *
 * The rules: a message is delivered once (an offset at or below the
 * position was seen; a message in two streams is dropped if either saw
 * it), in order (the position advances one by one), and a jump is a gap
 * the client asks about instead of delivering past it. A stream that
 * starts somewhere (its top when subscribed, where a failed recovery
 * resumes) has not seen what came before: a message of two streams that
 * one of them skipped is still delivered by the other.
 */
export class StreamPositions {
  readonly #streams = new Map<string, Tracked>()

  constructor (initial: Readonly<Record<string, StreamPosition>> = {}) {
    for (const [stream, position] of Object.entries(initial)) {
      if (isPosition(position)) this.#streams.set(stream, startingAt(position.epoch, position.offset))
    }
  }

  /** The positions a recovery can start from (epoch known). */
  snapshot (): Record<string, StreamPosition> {
    const positions: Record<string, StreamPosition> = {}
    for (const [stream, state] of this.#streams) {
      if (state.epoch !== undefined) positions[stream] = { epoch: state.epoch, offset: state.offset }
    }
    return positions
  }

  isRecovering (stream: string): boolean {
    return this.#streams.get(stream)?.isRecovering === true
  }

  /** The client left the stream: a later subscribe starts from the server's top. */
  forget (stream: string): void {
    this.#streams.delete(stream)
  }

  /**
   * A recovery is being asked for this stream: returns the position to send
   * (none if the epoch is unknown) and holds gap detection until the result.
   */
  beginRecovery (stream: string): StreamPosition | undefined {
    const state = this.#streams.get(stream)
    if (state?.epoch === undefined) return undefined
    state.isRecovering = true
    state.top = undefined
    return { epoch: state.epoch, offset: state.offset }
  }

  /** No result will come for the recovery asked (its request failed): gap detection is back. */
  endRecovery (stream: string): void {
    const state = this.#streams.get(stream)
    if (state === undefined) return
    state.isRecovering = false
    state.top = undefined
  }

  /**
   * The server's top of a stream (subscription.confirmed `positions`,
   * connection.established `inbox`). A new stream starts there; another
   * epoch means the history the client was in is gone, so it starts there
   * too; the same epoch keeps the client's own position (messages up to the
   * top may still be on their way, or are about to be replayed).
   */
  serverTop (stream: string, top: StreamPosition): { isPossibleHole: boolean } {
    if (!isPosition(top)) return { isPossibleHole: false }
    const state = this.#streams.get(stream)
    if (state === undefined) {
      this.#streams.set(stream, startingAt(top.epoch, top.offset))
      return { isPossibleHole: false }
    }
    if (state.isRecovering) state.top = top
    if (state.epoch === undefined) {
      // offsets came without an epoch (a channel the server joined the client to): a top past them is a hole it cannot ask about
      state.epoch = top.epoch
      if (top.offset <= state.offset) return { isPossibleHole: top.offset < state.offset }
      resumeAt(state, top.offset)
      return { isPossibleHole: true }
    }
    if (state.epoch !== top.epoch) {
      state.epoch = top.epoch
      resumeAt(state, top.offset)
    }
    return { isPossibleHole: false }
  }

  /**
   * The server's recovery.result for one stream (asked for, or unasked when
   * the epoch changed under the client). A failure resumes where the server
   * says the stream is, else from the top it told (nothing before it will
   * come), else from the next message; a success that leaves the client
   * below that top is reported as a gap.
   */
  settle (stream: string, outcome: StreamRecoveryOutcome): { recovered: true, missed: number } | { recovered: false, reason: GapReason } {
    const state = this.#streams.get(stream)
    const top = state?.top
    if (state !== undefined) {
      state.isRecovering = false
      state.top = undefined
    }
    if (outcome.recovered) {
      if (state === undefined || top === undefined || state.offset >= top.offset) return { recovered: true, missed: outcome.missed }
      resumeAt(state, top.offset)
      return { recovered: false, reason: 'gap' }
    }
    const failure = { recovered: false, reason: outcome.reason } as const
    if (outcome.reason === 'no_history' || outcome.reason === 'forbidden') {
      this.#streams.delete(stream)
      return failure
    }
    if (state === undefined) return failure
    const resume = isPosition(outcome.position) ? outcome.position : top
    if (resume === undefined) {
      state.isResyncing = true
    } else if (state.epoch !== resume.epoch || resume.offset > state.offset) {
      state.epoch = resume.epoch
      resumeAt(state, resume.offset)
    }
    return failure
  }

  /** The client gives up asking about a hole: the message at `offset` is where the stream resumes. */
  skipTo (stream: string, offset: number): void {
    const state = this.#streams.get(stream)
    if (state !== undefined && offset > state.offset) resumeAt(state, offset - 1, offset)
  }

  /**
   * Judges one message by its offsets (one per stream it belongs to) and
   * advances the positions it is next in. Untracked streams start at its offset.
   */
  receive (offsets: ReadonlyArray<readonly [stream: string, offset: number]>): OffsetVerdict {
    let isSeen = false
    let isTaken = false
    const gaps: Array<{ stream: string, offset: number }> = []
    for (const [stream, offset] of offsets) {
      const state = this.#streams.get(stream)
      if (state === undefined) {
        // the first offset of a stream with no position: it starts here, epoch unknown
        this.#streams.set(stream, { ...startingAt(undefined, offset - 1), offset })
        isTaken = true
      } else if (offset <= state.offset) {
        // at or below the baseline it is not known as seen: another stream of the message may take it
        if (offset > state.baseline) isSeen = true
      } else if (offset === state.offset + 1) {
        state.offset = offset
        isTaken = true
      } else if (state.isResyncing) {
        resumeAt(state, offset - 1, offset)
        isTaken = true
      } else if (!state.isRecovering) {
        // while recovering, the replay brings everything after the position: a jump is dropped and comes again in order
        gaps.push({ stream, offset })
      }
    }
    return { isSeen, isTaken, gaps }
  }

  /** The connection ended: recoveries in flight are asked again on the next one. */
  connectionLost (): void {
    for (const state of this.#streams.values()) {
      state.isRecovering = false
      state.top = undefined
      state.isResyncing = false
    }
  }
}

/** A stream that starts at `offset`: what came before is not known as seen. */
function startingAt (epoch: string | undefined, offset: number): Tracked {
  return { epoch, offset, baseline: offset, isRecovering: false, top: undefined, isResyncing: false }
}

/** The stream goes on after `baseline` (nothing up to it known as seen); `offset` when the message at it is taken too. */
function resumeAt (state: Tracked, baseline: number, offset: number = baseline): void {
  state.baseline = baseline
  state.offset = offset
  state.isResyncing = false
}

export function isPosition (value: unknown): value is StreamPosition {
  if (value === null || typeof value !== 'object') return false
  const { epoch, offset } = value as { epoch?: unknown, offset?: unknown }
  return typeof epoch === 'string' && Number.isSafeInteger(offset) && (offset as number) >= 0
}
