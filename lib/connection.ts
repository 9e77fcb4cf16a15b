import type { ServerSocket } from './server-socket.js'
import type { RealtimeUser } from './host-types.js'
import type { FastifyBaseLogger } from 'fastify'
import { CloseCode } from './protocol/codes.js'
import { MAX_CLOSE_REASON_BYTES, truncateUtf8 } from './bounded-text.js'
import type { RefusalState } from './flood-guard.js'
import type { RecoveryGate } from './history/gate.js'
import type { RealtimeClock } from './clock.js'
import { beforeWrite, uncorkNow, COALESCE_MAX_BYTES, type Coalesced, type CorkableSocket } from './write-coalescer.js'

/** What handlers and hooks may know about a connection. */
export interface ConnectionInfo {
  readonly id: string
  readonly userId: string
  /** What `authenticate` returned as `user`, if anything (typed by RealtimeTypes). */
  readonly user: RealtimeUser
  readonly subscriptions: ReadonlySet<string>
  /** The channels (`namespace:id`) it is in: subscribed to, or joined by the server. */
  readonly channels: ReadonlySet<string>
  readonly connectedAt: number
}

/**
 * 'closed': this send found a slow consumer and closed it; 'gone': it was
 * already closing; 'failed': ws threw, and the connection was closed.
 */
export type SendResult = 'sent' | 'dropped' | 'closed' | 'gone' | 'failed'

/** ws internals that the pre-framed fast path reads: the raw socket and the sender's state. */
interface WsInternals {
  _socket: (CorkableSocket & { write (chunk: Buffer): boolean }) | null
  _sender: { _state: number } | null
}
const SENDER_IDLE = 0

const EMPTY: ReadonlySet<string> = new Set()

/**
 * One open connection. Once the node has accepted a socket, its sends, pings
 * and closes go through here (the node only attaches the listeners). Sockets
 * are also closed directly elsewhere: one refused after the upgrade, before
 * it has a Connection (endpoint.ts), and at shutdown the ws server's other
 * clients and any socket still open after the grace (shutdown.ts).
 * Kept small on purpose (thousands of them live at once): no timers, no
 * request or reply, the child logger made only when something is logged.
 */
export class Connection implements ConnectionInfo, Coalesced {
  readonly id: string
  readonly userId: string
  readonly user: RealtimeUser
  readonly connectedAt: number
  /** Last sign of life (a message or a pong), in ms since the epoch. */
  lastSeenAt: number
  /** When a protocol ping was last sent and not yet answered; 0 if none. */
  pingSentAt = 0
  /** The token's `exp` in ms, or Infinity. */
  readonly expiresAt: number
  /** What the rate limit's refusals cost this connection so far; made at its first refusal. */
  refusals: RefusalState | undefined = undefined
  /** Set while a recovery holds or filters some of this connection's messages (lib/history/gate.ts). */
  recovery: RecoveryGate | undefined = undefined
  /** For lib/write-coalescer.ts: the run of the loop this connection last wrote in, and its socket while corked. */
  lastWriteRun = -1
  corkedSocket: CorkableSocket | undefined = undefined
  #subscriptions: Set<string> | undefined
  #channels: Set<string> | undefined
  #isOpen = true
  readonly #socket: ServerSocket
  readonly #parentLog: FastifyBaseLogger
  /** The node's clock: when a close began, for the sweep's grace. */
  readonly #clock: RealtimeClock
  #log: FastifyBaseLogger | undefined

  constructor (socket: ServerSocket, id: string, userId: string, user: RealtimeUser, expiresAt: number, log: FastifyBaseLogger, clock: RealtimeClock, now: number) {
    this.#socket = socket
    this.#clock = clock
    this.id = id
    this.userId = userId
    this.user = user
    this.expiresAt = expiresAt
    this.#parentLog = log
    this.connectedAt = now
    this.lastSeenAt = now
  }

  get subscriptions (): ReadonlySet<string> {
    return this.#subscriptions ?? EMPTY
  }

  get channels (): ReadonlySet<string> {
    return this.#channels ?? EMPTY
  }

  /** Only the ChannelIndex calls these, so the channel's index and the connection agree. */
  addChannel (channel: string): boolean {
    this.#channels ??= new Set()
    if (this.#channels.has(channel)) return false
    this.#channels.add(channel)
    return true
  }

  removeChannel (channel: string): boolean {
    return this.#channels?.delete(channel) ?? false
  }

  get isOpen (): boolean {
    return this.#isOpen
  }

  get log (): FastifyBaseLogger {
    this.#log ??= this.#parentLog.child({ connectionId: this.id, userId: this.userId })
    return this.#log
  }

  /** Adds events; returns those that were new. */
  addSubscriptions (events: Iterable<string>): string[] {
    this.#subscriptions ??= new Set()
    const added: string[] = []
    for (const event of events) {
      if (!this.#subscriptions.has(event)) {
        this.#subscriptions.add(event)
        added.push(event)
      }
    }
    return added
  }

  /** Removes events; returns those that were subscribed. */
  removeSubscriptions (events: Iterable<string>): string[] {
    const removed: string[] = []
    if (this.#subscriptions === undefined) return removed
    for (const event of events) {
      if (this.#subscriptions.delete(event)) removed.push(event)
    }
    return removed
  }

  get bufferedAmount (): number {
    return this.#socket.bufferedAmount
  }

  /**
   * Sends one encoded frame. Past `maxBufferedBytes` of unsent data the
   * client is not reading: the frame is dropped, or the connection closed
   * (4008), as the slowConsumer option says.
   */
  send (payload: Buffer | string, frame: Buffer | undefined, maxBufferedBytes: number, closeSlowConsumer: boolean): SendResult {
    if (!this.#isOpen) return 'gone'
    const socket = this.#socket
    try {
      // what this run corked is not a slow reader's backlog: past the bound (or past
      // COALESCE_MAX_BYTES, so that a long burst is not held in memory) it goes to the kernel first
      let buffered = socket.bufferedAmount
      if (buffered > Math.min(maxBufferedBytes, COALESCE_MAX_BYTES)) {
        uncorkNow(this)
        buffered = socket.bufferedAmount
      }
      if (buffered > maxBufferedBytes) {
        if (closeSlowConsumer) {
          this.close(CloseCode.slowConsumer, 'slow consumer')
          return 'closed'
        }
        return 'dropped'
      }
      const internals = socket as unknown as WsInternals
      const raw = internals._socket
      // a second frame to this socket in one run of the loop waits, corked, for the rest of the run;
      // not behind a backlog the kernel has not taken (corking would only hold the frame longer)
      if (raw !== null && buffered <= COALESCE_MAX_BYTES) beforeWrite(this, raw)
      if (frame !== undefined && raw !== null && socket.readyState === 1 && internals._sender?._state === SENDER_IDLE) {
        // A broadcast's frame is built once; with compression off ws's sender
        // is idle between calls, so writing the finished frame is what ws would write.
        raw.write(frame)
        return 'sent'
      }
      socket.send(payload, { binary: false })
      return 'sent'
    } catch (err) {
      // sends run inside socket callbacks and timers: a throw here would take the process down
      this.log.warn({ err }, 'websocket send failed; closing the connection')
      this.close(CloseCode.internalError, 'send failed')
      return 'failed'
    }
  }

  ping (now: number): void {
    /* c8 ignore next */ // the sweep only pings registered connections, which are open
    if (!this.#isOpen) return
    this.pingSentAt = now
    try {
      this.#socket.ping()
    } catch (err) {
      this.log.warn({ err }, 'websocket ping failed; closing the connection')
      this.close(CloseCode.internalError, 'ping failed')
    }
  }

  /** When the server started closing this connection (ms since the epoch), 0 while open. */
  closingSince = 0

  /** The code the server closed with (metrics and logs), 0 while it has not. */
  closeCode = 0

  /**
   * Starts the closing handshake; the node cuts the socket off if the peer
   * never answers. The reason is cut to the 123 bytes a close frame holds
   * (between two characters). If ws still refuses (a code it does not
   * accept), the socket is terminated: a connection is never left marked
   * closed while its socket stays open.
   */
  close (code: number, reason: string): void {
    if (!this.#isOpen) return
    this.#isOpen = false
    this.closingSince = this.#clock.now()
    this.closeCode = code
    try {
      this.#socket.close(code, truncateUtf8(String(reason), MAX_CLOSE_REASON_BYTES))
    } catch (err) {
      this.log.warn({ err, closeCode: code }, 'websocket close refused; terminating the connection')
      this.closingSince = 0
      this.#socket.terminate()
    }
  }

  /** For a peer that cannot complete a closing handshake. */
  terminate (): void {
    this.#isOpen = false
    this.#socket.terminate()
  }

  markClosed (): void {
    this.#isOpen = false
  }
}
