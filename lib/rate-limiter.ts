/**
 * Per-key sliding-window rate limiter: an exact sliding log.
 *
 * The seed's promise is "at most `max` messages in any `windowMs`". An
 * approximation (two fixed-window counters) breaks it: it admits up to
 * 2 * max - 1 in a real window. So each active key keeps the timestamps of
 * its accepted messages in a ring, oldest first. A message is accepted when
 * fewer than `max` accepted ones are younger than `windowMs`; otherwise the
 * wait is exact: until the oldest of them leaves the window.
 *
 * Memory: at most `max` numbers per active key. The ring starts small and
 * doubles up to `max`, so a user who sends a few messages costs a few slots,
 * and a steady sender reaches its final size after log2(max) growths: no
 * allocation per message. A key is forgotten by prune() once its newest
 * message has left the window.
 */
export interface RateLimiterOptions {
  max: number
  windowMs: number
}

/** Slots a new key starts with: enough for chatty-but-polite users without growing. */
const INITIAL_CAPACITY = 8

/** The accepted timestamps of one key, oldest at `head`, in a ring of `times.length` slots. */
interface SlidingLog {
  times: Float64Array
  head: number
  count: number
}

export class SlidingWindowRateLimiter {
  readonly #max: number
  readonly #windowMs: number
  readonly #logs = new Map<string, SlidingLog>()

  constructor ({ max, windowMs }: RateLimiterOptions) {
    this.#max = max
    this.#windowMs = windowMs
  }

  /**
   * Counts one message for `key` at `now` (ms). Returns 0 when it is accepted,
   * else the exact milliseconds until one would be: the oldest accepted
   * timestamp in the window + windowMs - now. A refused message is not counted.
   */
  consume (key: string, now: number): number {
    let log = this.#logs.get(key)
    if (log === undefined) {
      log = { times: new Float64Array(Math.min(this.#max, INITIAL_CAPACITY)), head: 0, count: 0 }
      this.#logs.set(key, log)
    }
    const at = this.#inOrder(log, now)
    this.#expire(log, at)
    if (log.count < this.#max) {
      if (log.count === log.times.length) this.#grow(log)
      log.times[(log.head + log.count) % log.times.length] = at
      log.count++
      return 0
    }
    return (log.times[log.head] as number) + this.#windowMs - now
  }

  /** Forgets keys whose newest accepted message is out of the window: they can no longer refuse anything. */
  prune (now: number): void {
    for (const [key, log] of this.#logs) {
      if (log.count === 0 || now - this.#newest(log) >= this.#windowMs) this.#logs.delete(key)
    }
  }

  /** Keys currently tracked. */
  get size (): number {
    return this.#logs.size
  }

  /**
   * Date.now() can step back (NTP). A small step counts the message at the
   * newest time seen, so the log stays in order; a step back by a whole window
   * or more starts the key afresh rather than refusing it until the clock
   * catches up.
   */
  #inOrder (log: SlidingLog, now: number): number {
    if (log.count === 0) return now
    const newest = this.#newest(log)
    if (now >= newest) return now
    if (newest - now < this.#windowMs) return newest
    log.head = 0
    log.count = 0
    return now
  }

  /** Drops the timestamps that the half-open window (now - windowMs, now] no longer holds. */
  #expire (log: SlidingLog, now: number): void {
    const capacity = log.times.length
    while (log.count > 0 && now - (log.times[log.head] as number) >= this.#windowMs) {
      log.head = (log.head + 1) % capacity
      log.count--
    }
    if (log.count === 0) log.head = 0
  }

  #newest (log: SlidingLog): number {
    return log.times[(log.head + log.count - 1) % log.times.length] as number
  }

  /** Doubles the ring (up to `max`), unrolling it so the oldest is at 0. */
  #grow (log: SlidingLog): void {
    const old = log.times
    const times = new Float64Array(Math.min(this.#max, old.length * 2))
    for (let i = 0; i < log.count; i++) times[i] = old[(log.head + i) % old.length] as number
    log.times = times
    log.head = 0
  }
}
