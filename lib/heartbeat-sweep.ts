import { unrefTimer, type RealtimeClock, type TimerHandle } from './clock.js'

/**
 * One sweep for all connections (never a timer per connection): pings the
 * quiet ones, closes those silent past the timeout and those whose token
 * expired; afterSweep does the rest that is due at a coarse tick (the node:
 * cutting off closes never answered, owed RATE_LIMIT_EXCEEDED answers, pruning
 * the rate limiter, the load sample).
 */
export interface Sweepable {
  lastSeenAt: number
  pingSentAt: number
  readonly expiresAt: number
  ping (now: number): void
}

export interface SweepHandlers<C extends Sweepable> {
  connections (): Iterable<C>
  onTimeout (connection: C): void
  onExpired (connection: C): void
  afterSweep (now: number): void
}

export interface SweepOptions {
  heartbeatIntervalMs: number
  connectionTimeoutMs: number
  closeOnTokenExpiry: boolean
  clockToleranceMs: number
}

export function sweep<C extends Sweepable> (now: number, options: SweepOptions, handlers: SweepHandlers<C>): void {
  const timedOut: C[] = []
  const expired: C[] = []
  for (const connection of handlers.connections()) {
    const quietFor = now - connection.lastSeenAt
    if (quietFor >= options.connectionTimeoutMs) timedOut.push(connection)
    else if (options.closeOnTokenExpiry && connection.expiresAt + options.clockToleranceMs <= now) expired.push(connection)
    else if (quietFor >= options.heartbeatIntervalMs && connection.pingSentAt <= connection.lastSeenAt) connection.ping(now)
  }
  // closing removes from the collection being iterated: do it after
  for (const connection of timedOut) handlers.onTimeout(connection)
  for (const connection of expired) handlers.onExpired(connection)
  handlers.afterSweep(now)
}

/** The tick: often enough to honour the interval and token expiry within about a second. */
export function sweepTickMs (heartbeatIntervalMs: number): number {
  return Math.max(5, Math.min(1000, Math.floor(heartbeatIntervalMs / 2)))
}

export class SweepTimer {
  readonly #clock: RealtimeClock
  #timer: TimerHandle | undefined

  constructor (clock: RealtimeClock) {
    this.#clock = clock
  }

  start (tickMs: number, run: () => void): void {
    this.stop()
    this.#timer = this.#clock.setInterval(run, tickMs)
    unrefTimer(this.#timer)
  }

  stop (): void {
    if (this.#timer !== undefined) this.#clock.clearInterval(this.#timer)
    this.#timer = undefined
  }
}
