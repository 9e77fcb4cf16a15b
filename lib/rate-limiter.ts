/**
 * Per-key sliding-window rate limiter with constant memory per key.
 *
 * The seed kept up to `max` timestamps per user in a deque. This keeps the
 * same sliding-window behaviour with two counters (the sliding window
 * counter approximation): the previous fixed window's count is weighted by
 * how much of it still overlaps the sliding window. No allocation per
 * message; one small object per key, pruned once its windows are over.
 */
export interface RateLimiterOptions {
  max: number
  windowMs: number
}

interface WindowState {
  start: number
  current: number
  previous: number
}

export class SlidingWindowRateLimiter {
  readonly #max: number
  readonly #windowMs: number
  readonly #windows = new Map<string, WindowState>()

  constructor ({ max, windowMs }: RateLimiterOptions) {
    this.#max = max
    this.#windowMs = windowMs
  }

  /** Counts one message for `key`. Returns 0 when allowed, else the milliseconds until one would be. */
  consume (key: string, now: number): number {
    const windowStart = now - (now % this.#windowMs)
    let state = this.#windows.get(key)
    if (state === undefined) {
      state = { start: windowStart, current: 0, previous: 0 }
      this.#windows.set(key, state)
    } else if (state.start !== windowStart) {
      state.previous = windowStart - state.start === this.#windowMs ? state.current : 0
      state.current = 0
      state.start = windowStart
    }
    const overlap = 1 - (now - windowStart) / this.#windowMs
    if (state.previous * overlap + state.current + 1 <= this.#max) {
      state.current++
      return 0
    }
    return this.#retryAfterMs(state, now)
  }

  #retryAfterMs (state: WindowState, now: number): number {
    const W = this.#windowMs
    const room = this.#max - 1 - state.current
    let allowedAt: number
    if (room >= 0 && state.previous > 0) {
      // the previous window's weight must fall to `room`
      allowedAt = state.start + W * (1 - room / state.previous)
    } else {
      // wait for the next window, where this window's count is the one that fades
      allowedAt = state.start + W + (state.current > 0 ? W * Math.max(0, 1 - (this.#max - 1) / state.current) : 0)
    }
    return Math.max(1, Math.ceil(allowedAt - now))
  }

  /** Forgets keys whose windows no longer affect any decision. */
  prune (now: number): void {
    const horizon = now - 2 * this.#windowMs
    for (const [key, state] of this.#windows) {
      if (state.start <= horizon) this.#windows.delete(key)
    }
  }

  get size (): number {
    return this.#windows.size
  }
}
