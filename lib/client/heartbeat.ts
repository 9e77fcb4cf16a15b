import { CLIENT_DEFAULTS } from './client-options.js'
import type { Clock, WebSocketLike } from './types.js'

/** The prefix of a heartbeat ping's id: its pong answers no request. */
export const HEARTBEAT_ID_PREFIX = 'hb'

export interface HeartbeatOptions {
  readonly clock: Clock
  /** The interval now (the option, or the server's); 0 or less: no heartbeat. */
  intervalMs (): number
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
    this.schedule()
  }

  /** The next ping, one interval from now. */
  schedule (): void {
    const intervalMs = this.#options.intervalMs()
    if (!(intervalMs > 0)) return
    const clock = this.#options.clock
    if (this.#pingTimer !== undefined) clock.clearTimeout(this.#pingTimer)
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
