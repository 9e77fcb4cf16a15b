import { CLIENT_DEFAULTS } from './client-options.js'
import type { Clock, WebSocketLike } from './types.js'

/** The prefix of a heartbeat ping's id: its pong answers no request. */
export const HEARTBEAT_ID_PREFIX = 'hb'

export interface HeartbeatOptions {
  readonly clock: Clock
  readonly pongTimeoutMs: number | undefined
  /** The socket to ping, if the client is open on it. */
  openSocket (): WebSocketLike | undefined
  nextPingId (): string
  /** No pong within timeoutMs: the link is dead (stop() is called whenever the socket changes, so it is this one). */
  dead (timeoutMs: number): void
}

/**
 * Pings while open and declares the link dead when nothing comes back:
 * a half-open link (a NAT that dropped its mapping) looks open forever.
 */
export class Heartbeat {
  readonly #options: HeartbeatOptions
  /** 0 or less: no heartbeat. */
  #intervalMs = 0
  #pingTimer: unknown
  #pongTimer: unknown

  constructor (options: HeartbeatOptions) {
    this.#options = options
  }

  /** A frame arrived: any frame proves the link alive, not only the pong (a rate-limited ping is answered by an error). */
  frameReceived (): void {
    if (this.#pongTimer === undefined) return
    this.#options.clock.clearTimeout(this.#pongTimer)
    this.#pongTimer = undefined
    this.#schedule()
  }

  /** The connection opened: pings every intervalMs (the option, or the server's). */
  start (intervalMs: number): void {
    this.#intervalMs = intervalMs
    this.#schedule()
  }

  // no ping is pending when this runs: start() follows a stop(), and a pong is awaited only once the ping timer fired
  #schedule (): void {
    const intervalMs = this.#intervalMs
    if (!(intervalMs > 0)) return
    const clock = this.#options.clock
    this.#pingTimer = clock.setTimeout(() => {
      this.#pingTimer = undefined
      const socket = this.#options.openSocket()
      if (socket === undefined) return
      const pingId = this.#options.nextPingId()
      socket.send(JSON.stringify({ type: 'ping', data: { pingId } }))
      const timeoutMs = this.#options.pongTimeoutMs ?? Math.min(CLIENT_DEFAULTS.maxPongTimeoutMs, intervalMs)
      this.#pongTimer = clock.setTimeout(() => {
        this.#pongTimer = undefined
        this.#options.dead(timeoutMs)
      }, timeoutMs)
    }, intervalMs)
  }

  stop (): void {
    const clock = this.#options.clock
    for (const timer of [this.#pingTimer, this.#pongTimer]) {
      if (timer !== undefined) clock.clearTimeout(timer)
    }
    this.#pingTimer = this.#pongTimer = undefined
  }
}
