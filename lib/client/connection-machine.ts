import { CloseCode } from '../protocol/codes.js'
import type { ConnectionEstablished } from '../protocol/server-messages.js'
import { CLIENT_DEFAULTS, type ResolvedClientOptions } from './client-options.js'
import type { TypedEmitter } from './emitter.js'
import { ClientErrorCode, RealtimeClientError } from './errors.js'
import { HEARTBEAT_ID_PREFIX, Heartbeat } from './heartbeat.js'
import type { Outbox } from './outbox.js'
import { askServer } from './preflight.js'
import { afterClose, afterPreflight, afterTokenFailure, attemptAfterLoss, nextAttempt, type ReconnectDecision, type ReconnectHow } from './reconnect-policy.js'
import type { Recovery } from './recovery.js'
import type { RequestMatcher } from './request-matcher.js'
import { SocketLink } from './socket-link.js'
import { ConnectionState, type ClientEventMap, type ConnectionStateValue, type StateChange, type WebSocketLike } from './types.js'

/** What the machine drives besides the socket: the client's parts. */
export interface ConnectionParts {
  readonly options: ResolvedClientOptions
  readonly emitter: TypedEmitter<ClientEventMap>
  readonly recovery: Recovery
  readonly matcher: RequestMatcher
  readonly outbox: Outbox
  /** A frame arrived on the current socket. */
  frame (raw: unknown): void
  /** The connection opened: send the subscribes that restore the subscriptions (before the queue). */
  restore (): void
}

/**
 * The connection state machine of the client: connecting, open,
 * reconnecting, closed, and the socket's life through them (open it with a
 * token, lose it, reconnect after the policy's delay, stop).
 */
export class ConnectionMachine {
  readonly #options: ResolvedClientOptions
  readonly #emitter: TypedEmitter<ClientEventMap>
  readonly #recovery: Recovery
  readonly #matcher: RequestMatcher
  readonly #outbox: Outbox
  readonly #restore: () => void
  readonly #link: SocketLink
  readonly #heartbeat: Heartbeat
  #state: ConnectionStateValue = ConnectionState.closed
  /** Bumped by connect() and by stopping: async work of an older session finds it changed and gives up. */
  #session = 0
  /** Failed attempts in a row (the backoff exponent); reset by a stable connection. */
  #attempt = 0
  #openedAt: number | undefined
  #established: ConnectionEstablished | undefined
  #hasRetriedWithFreshToken = false
  /** Why the client stopped; undefined before the first connect(). */
  #stopError: RealtimeClientError | undefined
  #reconnectTimer: unknown

  constructor (parts: ConnectionParts) {
    const options = this.#options = parts.options
    this.#emitter = parts.emitter
    this.#recovery = parts.recovery
    this.#matcher = parts.matcher
    this.#outbox = parts.outbox
    this.#restore = () => parts.restore()
    const link = this.#link = new SocketLink({
      ...options,
      handshakeQuery: () => parts.recovery.handshakeQuery(),
      frame: (raw) => parts.frame(raw),
      lost: (code, reason, cause) => this.#onLoss(code, reason, cause)
    })
    this.#heartbeat = new Heartbeat({
      clock: options.clock,
      pongTimeoutMs: options.pongTimeoutMs,
      // the heartbeat runs only while open: every way out of open stops it first
      openSocket: () => link.openSocket,
      nextPingId: () => parts.matcher.nextId(HEARTBEAT_ID_PREFIX),
      // half-open: the socket looks open, but nothing comes back
      dead: (timeoutMs) => this.#onLoss(CloseCode.heartbeatTimeout, 'heartbeat timeout',
        new RealtimeClientError(ClientErrorCode.heartbeatTimeout, `no pong within ${timeoutMs} ms: the connection is dead`, { closeCode: CloseCode.heartbeatTimeout }))
    })
  }

  get state (): ConnectionStateValue { return this.#state }
  /** The last connection.established (of the current connection while open). */
  get established (): ConnectionEstablished | undefined { return this.#established }
  get stopError (): RealtimeClientError | undefined { return this.#stopError }
  get socket (): WebSocketLike | undefined { return this.#link.socket }
  get heartbeat (): Heartbeat { return this.#heartbeat }

  /** Starts connecting, unless already connecting, open or reconnecting. */
  connect (): void {
    if (this.#state !== ConnectionState.closed) return
    this.#session++
    this.#attempt = 0
    this.#hasRetriedWithFreshToken = false
    this.#stopError = undefined
    this.#setState(ConnectionState.connecting)
    void this.#attemptOpen()
  }

  /** close(): pending requests and queued messages are rejected/discarded with CLIENT_CLOSED. */
  close (code: number, reason: string): void {
    this.#session++
    this.#clearReconnectTimer()
    this.#release(code, reason, false)
    const error = new RealtimeClientError(ClientErrorCode.closed, 'the client was closed')
    this.#stopError = error
    const discardedMessages = this.#rejectAll(error)
    this.#setState(ConnectionState.closed, discardedMessages > 0 ? { discardedMessages } : {})
  }

  /** Rejects every pending and queued request; returns how many plain messages were discarded. */
  #rejectAll (error: RealtimeClientError): number {
    const inflight = this.#matcher.drain()
    const { requests, discarded } = this.#outbox.discard()
    for (const request of [...inflight, ...requests]) {
      if (!request.isInternal) request.reject(error)
    }
    return discarded
  }

  // ---- connecting ---------------------------------------------------------

  async #attemptOpen (): Promise<void> {
    const session = this.#session
    let token: string
    try {
      const source = this.#options.token
      token = typeof source === 'function' ? await source() : source
      if (typeof token !== 'string' || token.length === 0) throw new TypeError('the token function returned no token')
    } catch (cause) {
      if (session === this.#session) this.#follow(afterTokenFailure(cause))
      return
    }
    if (session !== this.#session) return
    const refused = this.#link.open(token)
    if (refused !== undefined) this.#stop(refused)
  }

  /** connection.established arrived on the current socket. */
  opened (established: ConnectionEstablished): void {
    if (this.#state === ConnectionState.open) return
    this.#link.established()
    this.#established = established
    this.#openedAt = this.#options.clock.now()
    this.#hasRetriedWithFreshToken = false
    this.#restore()
    this.#outbox.flush()
    this.#setState(ConnectionState.open)
    this.#heartbeat.start(this.#options.pingIntervalMs ?? established.heartbeat_interval_ms ?? CLIENT_DEFAULTS.pingIntervalMs)
    this.#emitter.emit('open', established)
  }

  /** The socket closed, or the client declared it dead. */
  #onLoss (code: number, reason: string, cause?: RealtimeClientError): void {
    const wasOpen = this.#state === ConnectionState.open
    const openedAt = this.#openedAt
    this.#release(CloseCode.heartbeatTimeout, cause?.message ?? reason, true)
    const decision = afterClose({ code, reason, wasOpen, cause })
    if (decision.action === 'explain') {
      void this.#explainFailure(decision.error)
      return
    }
    if (wasOpen) {
      this.#attempt = attemptAfterLoss(this.#attempt, openedAt, this.#options.clock.now(), this.#options.stableAfterMs)
      this.#emitter.emit('close', { code, reason, willReconnect: decision.action === 'retry' && this.#options.reconnect })
    }
    this.#follow(decision)
  }

  /** A browser sees 1006 for every refused upgrade: ask the server why, then decide. */
  async #explainFailure (error: RealtimeClientError): Promise<void> {
    const session = this.#session
    const verdict = await askServer({
      fetch: this.#options.fetch,
      url: this.#link.preflightUrl,
      token: this.#link.token,
      clock: this.#options.clock,
      timeoutMs: this.#options.preflightTimeoutMs
    })
    if (session !== this.#session) return
    const decision = afterPreflight(verdict, error, typeof this.#options.token === 'function' && !this.#hasRetriedWithFreshToken)
    if (decision.action === 'retry' && decision.isFreshTokenRetry === true) this.#hasRetriedWithFreshToken = true
    this.#follow(decision)
  }

  #follow (decision: ReconnectDecision): void {
    if (decision.action === 'stop') this.#stop(decision.error)
    else this.#scheduleReconnect(decision.error, decision.how)
  }

  #scheduleReconnect (error: RealtimeClientError, how: ReconnectHow = {}): void {
    const next = nextAttempt(this.#attempt, how, error, this.#options, this.#options.random)
    if (next.action === 'stop') {
      this.#stop(next.error)
      return
    }
    const delayMs = next.delayMs
    this.#attempt = next.attempt
    this.#setState(ConnectionState.reconnecting, { error })
    this.#emitter.emit('reconnect', { attempt: this.#attempt, delayMs, error })
    const session = this.#session
    this.#clearReconnectTimer()
    this.#reconnectTimer = this.#options.clock.setTimeout(() => {
      this.#reconnectTimer = undefined
      if (session === this.#session) void this.#attemptOpen()
    }, delayMs)
  }

  /** A hole in the inbox: only a new handshake replays it. False if reconnecting is off. */
  reconnectToRecover (): boolean {
    if (!this.#options.reconnect || this.#state !== ConnectionState.open) return false
    this.#release(CloseCode.normal, 'recovering missed messages', false)
    this.#emitter.emit('close', { code: CloseCode.normal, reason: 'recovering missed messages', willReconnect: true })
    this.#scheduleReconnect(new RealtimeClientError(ClientErrorCode.connectionLost, 'offsets missing in the inbox: reconnecting to recover them'),
      { delayMs: 0, countsAsAttempt: false })
    return true
  }

  /** Gives up: a refusal that retrying cannot fix, or reconnecting is off. */
  #stop (error: RealtimeClientError): void {
    this.#session++
    this.#clearReconnectTimer()
    this.#release(CloseCode.normal, 'client stopped', false)
    this.#stopError = error
    const discardedMessages = this.#rejectAll(error)
    this.#setState(ConnectionState.closed, discardedMessages > 0 ? { error, discardedMessages } : { error })
    this.#emitter.emit('error', error)
  }

  /**
   * Forgets the current socket: stops its timers, puts its unanswered
   * requests back in front of the queue (they are sent again on the next
   * connection) and closes it if still open.
   */
  #release (code: number, reason: string, isDead: boolean): void {
    this.#heartbeat.stop()
    this.#openedAt = undefined
    this.#recovery.connectionLost()
    this.#outbox.requeue(this.#matcher.release())
    this.#link.release(code, reason, isDead)
  }

  #clearReconnectTimer (): void {
    if (this.#reconnectTimer !== undefined) this.#options.clock.clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = undefined
  }

  #setState (state: ConnectionStateValue, extra: Omit<StateChange, 'state' | 'previous'> = {}): void {
    const previous = this.#state
    if (previous === state) return
    this.#state = state
    this.#emitter.emit('state', { state, previous, ...extra })
  }
}
