/**
 * What a message over the rate limit may cost the server. The limiter (per
 * user) says whether a message passes; this decides, per connection, what a
 * refused one gets: an answer (RATE_LIMIT_EXCEEDED, its one JSON parse and
 * frame) at most once per ANSWER_INTERVAL_MS, silence in between (dropped
 * unread, not even counted against the limiter), and a close once the
 * connection keeps flooding. Pure: takes `now`, no timers, no I/O.
 */

/** The interface of the rate limiter this relies on: 0 = allowed, else ms until a message would be. */
export interface RateLimiterLike {
  consume (key: string, now: number): number
}

/** Kept on the connection from its first refused message. */
export interface RefusalState {
  /** Until then refused messages are dropped unread; never later than `allowedAt`. */
  quietUntil: number
  /** When the limiter would accept a message again, as of the last answer. */
  allowedAt: number
  /** Start of the flood window, and the refused messages counted in it. */
  windowStart: number
  refused: number
  /** A message was dropped unread since the last answer: one answer is owed (see `owedAnswer`). */
  isOwed: boolean
}

export interface FloodGuardOptions {
  max: number
  windowMs: number
  /** Close a connection refused more than `max` x this many times within `windowMs`; 0 never closes. */
  floodFactor: number
}

/**
 * At most one answer a second: the work a flood costs is bounded, and a
 * client's heartbeat ping (every few seconds) still sees a frame come back.
 */
export const ANSWER_INTERVAL_MS = 1000

export const Verdict = {
  /** Under the limit: handle the message. */
  accept: 'accept',
  /** Refused: answer RATE_LIMIT_EXCEEDED with retry_after. */
  answer: 'answer',
  /** Refused, and already answered within the interval: drop it unread. */
  drop: 'drop',
  /** Refused past the flood bound: close the connection (4009). */
  close: 'close'
} as const
export type Verdict = typeof Verdict[keyof typeof Verdict]

interface HasRefusals {
  refusals: RefusalState | undefined
}

export class FloodGuard {
  readonly #limiter: RateLimiterLike
  readonly #windowMs: number
  readonly #floodLimit: number

  constructor (limiter: RateLimiterLike, options: FloodGuardOptions) {
    this.#limiter = limiter
    this.#windowMs = options.windowMs
    this.#floodLimit = options.floodFactor * options.max
  }

  /** One message from `holder`, counted against `key`'s limit (the user's). */
  check (holder: HasRefusals, key: string, now: number): Verdict {
    const state = holder.refusals
    if (state !== undefined && now < state.quietUntil) {
      state.isOwed = true
      return this.#isFlood(state, now) ? Verdict.close : Verdict.drop
    }
    const retryAfterMs = this.#limiter.consume(key, now)
    if (retryAfterMs <= 0) {
      if (state !== undefined) {
        // this message's reply is the sign of life the dropped ones did not get
        state.isOwed = false
        if (now - state.windowStart >= this.#windowMs) holder.refusals = undefined
      }
      return Verdict.accept
    }
    const refused = state ?? (holder.refusals = { quietUntil: 0, allowedAt: 0, windowStart: now, refused: 0, isOwed: false })
    this.#answered(refused, now, now + retryAfterMs)
    return this.#isFlood(refused, now) ? Verdict.close : Verdict.answer
  }

  /**
   * For the sweep: if messages were dropped unread since the last answer and
   * the interval is over, the ms until a message would be accepted (at least
   * 1), for one more answer; else undefined. A client whose only message in
   * the interval was a heartbeat ping still gets a frame back.
   */
  owedAnswer (state: RefusalState, now: number): number | undefined {
    if (!state.isOwed || now < state.quietUntil) return undefined
    this.#answered(state, now, state.allowedAt)
    return Math.max(1, state.allowedAt - now)
  }

  #answered (state: RefusalState, now: number, allowedAt: number): void {
    state.allowedAt = allowedAt
    // quiet never outlasts the limit: once a message would be accepted, the limiter decides again
    state.quietUntil = Math.min(now + ANSWER_INTERVAL_MS, allowedAt)
    state.isOwed = false
  }

  #isFlood (state: RefusalState, now: number): boolean {
    if (now - state.windowStart >= this.#windowMs) {
      state.windowStart = now
      state.refused = 0
    }
    state.refused++
    return this.#floodLimit > 0 && state.refused > this.#floodLimit
  }
}
