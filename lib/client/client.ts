import { CloseCode, isReconnectable } from '../protocol/codes.js'
import { BEARER_PROTOCOL_PREFIX, SUBPROTOCOL } from '../protocol/constants.js'
import type { ClientMessages } from '../protocol/client-messages.js'
import type { PresenceState } from '../protocol/presence-messages.js'
import type {
  ConnectionEstablished, ErrorData, Pong, ServerEnvelope, SubscriptionConfirmed, SubscriptionEnded, SubscriptionJoined,
  UnsubscriptionConfirmed
} from '../protocol/server-messages.js'
import { backoffDelay } from './backoff.js'
import { resolveClientOptions, type ResolvedClientOptions } from './client-options.js'
import { TypedEmitter, type Listener } from './emitter.js'
import { ClientErrorCode, RealtimeClientError } from './errors.js'
import { preflight, type PreflightVerdict } from './preflight.js'
import { Recovery } from './recovery.js'
import type { StreamPosition } from './stream-positions.js'
import { SubscriptionState, normalizeRequest, type SubscriptionLists, type SubscriptionRequest } from './subscription-state.js'
import {
  ConnectionState, type ChannelMessage, type ClientEventMap, type ConnectionStateValue, type RealtimeClientOptions,
  type StateChange, type WebSocketLike
} from './types.js'

export { SUBPROTOCOL }
const OPEN = 1
const CONNECTING = 0
/** Statuses that say a close frame never came: the attempt or the link failed below the protocol. */
const ABNORMAL_CLOSES = new Set([1005, 1006, 1015])

type RequestKind = 'subscribe' | 'unsubscribe' | 'ping' | 'presence'
/** The first letter of a request's id, by kind (ids are unique per client; the letter helps reading a trace). */
const ID_PREFIX: Record<RequestKind, string> = { subscribe: 's', unsubscribe: 's', ping: 'p', presence: 'q' }

interface PendingRequest {
  readonly id: string
  readonly kind: RequestKind
  /** The data sent as is (a presence request's); otherwise built from `lists` when written (a subscribe's positions are read then). */
  readonly data?: object
  /** What a subscribe or unsubscribe asks for (empty lists for a ping or a presence request). */
  readonly lists: SubscriptionLists
  /** A subscribe the client makes itself to restore subscriptions: nobody awaits it. */
  readonly isInternal: boolean
  resolve (value: unknown): void
  reject (error: RealtimeClientError): void
  timer: unknown
  sentAt: number
}

/** A plain message (its text), or a request (its text is written when it is sent: a subscribe carries the positions of then). */
type Outgoing = { readonly text: string, readonly request?: undefined } | { readonly request: PendingRequest }


export interface WaitForOpenOptions {
  /** Reject with REQUEST_TIMEOUT after this long. */
  timeoutMs?: number
  signal?: AbortSignal
}

/**
 * The fastify-realtime client for browsers and Node.
 *
 * ```ts
 * const client = new RealtimeClient({ url: '/api/v1/ws', token: () => getToken() })
 * client.on('upload.progress', (data) => bar.value = data.progress)
 * client.connect()
 * await client.subscribe(['upload.progress'])
 * ```
 */
export class RealtimeClient {
  readonly #options: ResolvedClientOptions
  readonly #emitter: TypedEmitter<ClientEventMap>
  #state: ConnectionStateValue = ConnectionState.closed
  #socket: WebSocketLike | undefined
  /** Bumped by connect() and by stopping: async work of an older session finds it changed and gives up. */
  #session = 0
  /** Failed attempts in a row (the backoff exponent); reset by a stable connection. */
  #attempt = 0
  #openedAt: number | undefined
  #established: ConnectionEstablished | undefined
  #lastToken = ''
  #hasRetriedWithFreshToken = false
  /** Why the client stopped; undefined before the first connect(). */
  #stopError: RealtimeClientError | undefined
  /** The events and channels the app is in: restored on every connection. */
  readonly #subscriptions = new SubscriptionState()
  /** Per-channel listeners (onChannel). */
  readonly #channelListeners = new Map<string, Set<(message: ChannelMessage) => void>>()
  /** Positions in each stream with history, and what to do about duplicates and holes. */
  readonly #recovery: Recovery
  readonly #queue: Outgoing[] = []
  readonly #inflight = new Map<string, PendingRequest>()
  #nextId = 0
  #reconnectTimer: unknown
  #connectTimer: unknown
  #pingTimer: unknown
  #pongTimer: unknown

  constructor (options: RealtimeClientOptions) {
    this.#options = resolveClientOptions(options)
    this.#emitter = new TypedEmitter<ClientEventMap>((err, event) => {
      if (event === 'error') {
        // an 'error' listener failed: nothing is left to report to, so let it surface
        queueMicrotask(() => { throw err })
        return
      }
      this.#emitter.emit('error', new RealtimeClientError(ClientErrorCode.listenerFailed, `a '${String(event)}' listener threw`, { cause: err }))
    })
    this.#recovery = new Recovery({
      positions: options.positions,
      now: () => this.#options.clock.now(),
      actions: {
        resubscribe: (channel) => this.#restore([{ events: [], channels: [channel] }]),
        reconnect: () => this.#reconnectToRecover(),
        recovered: (event) => this.#emitter.emit('recovered', event),
        gap: (event) => this.#emitter.emit('gap', event)
      }
    })
    for (const event of options.subscriptions ?? []) this.#subscriptions.events.add(event)
    for (const channel of options.channels ?? []) this.#subscriptions.channels.add(channel)
    if (options.autoConnect === true) void this.connect().catch(() => {})
  }

  /** connecting, open, reconnecting or closed. */
  get state (): ConnectionStateValue { return this.#state }
  /** The server's connection.established of the current connection, while open. */
  get connection (): ConnectionEstablished | undefined { return this.#state === ConnectionState.open ? this.#established : undefined }
  /** The events restored on every connection. */
  get subscriptions (): string[] { return [...this.#subscriptions.events] }
  /** The channels restored on every connection: subscribed, or joined by the server (re-authorized on each restore). */
  get channels (): string[] { return [...this.#subscriptions.channels] }
  /** Messages waiting for a connection. */
  get queuedMessages (): number { return this.#queue.length }
  /**
   * Where the client is in each stream with history (channels, and
   * `inbox`): sent on every reconnect to get what was missed. Save it to
   * recover across page loads (the `positions` option).
   */
  get positions (): Record<string, StreamPosition> { return this.#recovery.positions }

  /**
   * Adds a listener: a client event (state, open, close, reconnect, error,
   * message) or a server message type, whose listener gets (data, envelope)
   * typed from RealtimeEvents. Returns the function that removes it.
   */
  on<K extends keyof ClientEventMap>(event: K, listener: Listener<ClientEventMap[K]>): () => void {
    return this.#emitter.on(event, listener)
  }

  once<K extends keyof ClientEventMap>(event: K, listener: Listener<ClientEventMap[K]>): () => void {
    return this.#emitter.once(event, listener)
  }

  off<K extends keyof ClientEventMap>(event: K, listener: Listener<ClientEventMap[K]>): void {
    this.#emitter.off(event, listener)
  }

  /**
   * Starts connecting (and reconnecting as needed). Resolves on the first
   * open, rejects when the client stops (refused token...). Ignoring the
   * promise is safe: it never becomes an unhandled rejection.
   */
  connect (): Promise<ConnectionEstablished> {
    if (this.#state === ConnectionState.closed) {
      this.#session++
      this.#attempt = 0
      this.#hasRetriedWithFreshToken = false
      this.#stopError = undefined
      this.#setState(ConnectionState.connecting)
      void this.#attemptOpen()
    }
    const opened = this.waitForOpen()
    opened.catch(() => {})
    return opened
  }

  /**
   * Resolves when the client is open (now, or at the next open). Rejects if
   * the client stops first, or after `timeoutMs`.
   */
  waitForOpen (options: WaitForOpenOptions = {}): Promise<ConnectionEstablished> {
    if (this.#state === ConnectionState.open && this.#established !== undefined) return Promise.resolve(this.#established)
    if (this.#state === ConnectionState.closed && this.#stopError !== undefined) return Promise.reject(this.#stopError)
    const { signal, timeoutMs } = options
    if (signal?.aborted === true) return Promise.reject(signal.reason)
    return new Promise((resolve, reject) => {
      let timer: unknown
      const clock = this.#options.clock
      const cleanup = (): void => {
        offOpen()
        offState()
        if (timer !== undefined) clock.clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      const onAbort = (): void => { cleanup(); reject(signal?.reason) }
      const offOpen = this.#emitter.on('open', (established) => { cleanup(); resolve(established) })
      const offState = this.#emitter.on('state', (change) => {
        if (change.state !== ConnectionState.closed) return
        cleanup()
        reject(change.error ?? new RealtimeClientError(ClientErrorCode.closed, 'the client was closed'))
      })
      signal?.addEventListener('abort', onAbort)
      if (timeoutMs !== undefined) {
        timer = clock.setTimeout(() => {
          cleanup()
          reject(new RealtimeClientError(ClientErrorCode.timeout, `not open within ${timeoutMs} ms`))
        }, timeoutMs)
      }
    })
  }

  /** Same as waitForOpen(). */
  ready (options?: WaitForOpenOptions): Promise<ConnectionEstablished> {
    return this.waitForOpen(options)
  }

  /**
   * Subscribes to events (a name or a list) or to `{ events?, channels? }`,
   * now and after every reconnect. Resolves with the server's
   * subscription.confirmed; rejects with its error, and then nothing of the
   * request is subscribed: INVALID_EVENT / INVALID_CHANNEL (`details` names
   * them), CHANNEL_FORBIDDEN (`details` the channels, `reasons` why),
   * TOO_MANY_SUBSCRIPTIONS. Queued while not connected.
   */
  subscribe (request: string | readonly string[] | SubscriptionRequest): Promise<SubscriptionConfirmed> {
    return this.#subscriptionRequest<SubscriptionConfirmed>('subscribe', request)
  }

  /** Unsubscribes (and stops restoring them). Resolves with unsubscription.confirmed. */
  unsubscribe (request: string | readonly string[] | SubscriptionRequest): Promise<UnsubscriptionConfirmed> {
    return this.#subscriptionRequest<UnsubscriptionConfirmed>('unsubscribe', request)
  }

  /**
   * Listens to the messages published to one channel (their envelope
   * carries `channel`). Does not subscribe: call subscribe({ channels }) or
   * let the server join. Returns the function that removes the listener.
   */
  onChannel (channel: string, listener: (message: ChannelMessage) => void): () => void {
    let listeners = this.#channelListeners.get(channel)
    if (listeners === undefined) {
      listeners = new Set()
      this.#channelListeners.set(channel, listeners)
    }
    listeners.add(listener)
    return () => {
      listeners.delete(listener)
      if (listeners.size === 0 && this.#channelListeners.get(channel) === listeners) this.#channelListeners.delete(channel)
    }
  }

  /** A bad argument rejects the returned promise rather than throwing. */
  #subscriptionRequest<T> (type: 'subscribe' | 'unsubscribe', request: string | readonly string[] | SubscriptionRequest): Promise<T> {
    let lists: SubscriptionLists
    try {
      lists = normalizeRequest(request)
    } catch (err) {
      return Promise.reject(err)
    }
    if (type === 'unsubscribe') {
      this.#subscriptions.forget(lists)
      this.#recovery.forget(lists.channels)
    }
    return this.#request<T>(type, lists)
  }

  /** Sends a ping; resolves with the round trip in milliseconds. */
  ping (): Promise<number> {
    return this.#request<number>('ping', NO_LISTS)
  }

  /**
   * Asks who is in a channel this connection is subscribed to (a namespace
   * with `presence`). Resolves with the server's presence.state: `count`,
   * and `users` unless the namespace keeps counts only or the channel is
   * past the server's cap. Rejects with the server's code: NOT_SUBSCRIBED,
   * PRESENCE_DISABLED, INVALID_CHANNEL. Queued while not connected. Keep the
   * list live with the `presence.joined` / `presence.left` events.
   */
  presence (channel: string): Promise<PresenceState> {
    if (typeof channel !== 'string' || channel.length === 0) return Promise.reject(new TypeError('channel must be a non-empty string'))
    return this.#request<PresenceState>('presence', NO_LISTS, false, { channel })
  }

  /**
   * Asks the server to stop an upload (the host app answers with
   * upload.cancelled, or an error). True if sent now, false if queued.
   */
  cancelUpload (uploadId: string): boolean {
    return this.send('upload.cancel', { upload_id: uploadId })
  }

  /**
   * Sends a client message: now if open (true), otherwise queued until the
   * next open (false). Throws QUEUE_FULL when the queue is at maxQueueSize.
   */
  send<K extends keyof ClientMessages & string>(type: K, data: ClientMessages[K]): boolean {
    return this.#dispatch({ text: JSON.stringify({ type, data }) })
  }

  /**
   * Closes the connection and stops reconnecting. Pending requests and
   * queued messages are rejected/discarded with CLIENT_CLOSED. connect()
   * starts again.
   */
  close (code: number = CloseCode.normal, reason = 'client closed'): void {
    this.#session++
    this.#clearReconnectTimer()
    this.#releaseSocket(code, reason, false)
    const error = new RealtimeClientError(ClientErrorCode.closed, 'the client was closed')
    this.#stopError = error
    const discardedMessages = this.#rejectAll(error)
    this.#setState(ConnectionState.closed, discardedMessages > 0 ? { discardedMessages } : {})
  }

  // ---- sending ------------------------------------------------------------

  /** `given` is the data sent as is (a presence request's); by default, the lists (or a ping's id). */
  #request<T>(kind: RequestKind, lists: SubscriptionLists, isInternal = false, given?: object): Promise<T> {
    return new Promise<T>((resolve, reject) => {

      const request: PendingRequest = {
        id: `${ID_PREFIX[kind]}${++this.#nextId}`,
        kind,
        ...(given === undefined ? {} : { data: given }),
        lists,
        isInternal,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: undefined,
        sentAt: 0
      }
      if (isInternal) this.#write({ request })
      else this.#dispatch({ request })
    })
  }

  /** Writes now if open, otherwise queues (bounded). */
  #dispatch (outgoing: Outgoing): boolean {
    if (this.#state === ConnectionState.open && this.#socket?.readyState === OPEN) {
      this.#write(outgoing)
      return true
    }
    if (this.#queue.length >= this.#options.maxQueueSize) {
      throw new RealtimeClientError(ClientErrorCode.queueFull,
        `not connected and ${this.#queue.length} messages are already queued (maxQueueSize); message not sent`)
    }
    this.#queue.push(outgoing)
    return false
  }

  #write (outgoing: Outgoing): void {
    const socket = this.#socket
    /* c8 ignore next 4 */ // callers check the socket is open; kept so a frame is never silently dropped
    if (socket === undefined || socket.readyState !== OPEN) {
      this.#queue.unshift(outgoing)
      return
    }
    const request = outgoing.request
    if (request === undefined) {
      socket.send(outgoing.text)
      return
    }
    socket.send(this.#requestText(request))
    request.sentAt = this.#options.clock.now()
    this.#inflight.set(request.id, request)
    request.timer = this.#options.clock.setTimeout(() => {
      request.timer = undefined
      if (this.#inflight.get(request.id) !== request) return
      this.#inflight.delete(request.id)
      if (request.kind === 'subscribe') this.#recovery.abandon(request.lists.channels)
      const error = new RealtimeClientError(ClientErrorCode.timeout, `no answer to ${request.kind} within ${this.#options.requestTimeoutMs} ms`, { requestId: request.id })
      if (request.isInternal) this.#emitter.emit('error', error)
      else request.reject(error)
    }, this.#options.requestTimeoutMs)
  }

  #requestText (request: PendingRequest): string {
    if (request.data !== undefined) return JSON.stringify({ type: request.kind, data: request.data, id: request.id })
    if (request.kind === 'ping') return JSON.stringify({ type: 'ping', data: { pingId: request.id }, id: request.id })
    const data: WireLists & { recover?: Record<string, StreamPosition> } = wireLists(request.lists)
    // a subscribe asks for what was missed in each channel the client has a position in
    const recover = request.kind === 'subscribe' ? this.#recovery.recoverFor(request.lists.channels) : undefined
    if (recover !== undefined) data.recover = recover
    return JSON.stringify({ type: request.kind, data, id: request.id })
  }

  #settle (request: PendingRequest, value: unknown): void {
    if (request.timer !== undefined) this.#options.clock.clearTimeout(request.timer)
    this.#inflight.delete(request.id)
    request.resolve(value)
  }

  /** Rejects every pending and queued request; returns how many plain messages were discarded. */
  #rejectAll (error: RealtimeClientError): number {
    const requests = [...this.#inflight.values()]
    this.#inflight.clear()
    let discarded = 0
    for (const outgoing of this.#queue.splice(0)) {
      if (outgoing.request === undefined) discarded++
      else requests.push(outgoing.request)
    }
    for (const request of requests) {
      if (request.timer !== undefined) this.#options.clock.clearTimeout(request.timer)
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
      if (session !== this.#session) return
      // the token function may throw a RealtimeClientError UNAUTHORIZED to say "logged out: stop"
      if (cause instanceof RealtimeClientError && cause.code === ClientErrorCode.unauthorized) {
        this.#stop(cause)
        return
      }
      // anything else (often: the token endpoint is down with the rest of the server) is retried
      this.#scheduleReconnect(new RealtimeClientError(ClientErrorCode.tokenUnavailable, `could not get a token: ${messageOf(cause)}`, { cause }))
      return
    }
    if (session !== this.#session) return
    this.#lastToken = token

    let socket: WebSocketLike
    try {
      // the inbox is live from the first moment: its position rides in the handshake itself
      const query = this.#recovery.handshakeQuery()
      socket = this.#options.auth === 'path'
        ? new this.#options.WebSocket(withQuery(`${this.#options.url}/${encodeURIComponent(token)}`, query), [SUBPROTOCOL])
        : new this.#options.WebSocket(withQuery(this.#options.url, query), [SUBPROTOCOL, BEARER_PROTOCOL_PREFIX + token])
    } catch (cause) {
      // a malformed URL, or a token with characters a subprotocol cannot carry
      this.#stop(new RealtimeClientError(ClientErrorCode.refused, `could not open a WebSocket: ${messageOf(cause)}`, { cause }))
      return
    }
    this.#socket = socket
    socket.onmessage = (event) => { if (this.#socket === socket) this.#onFrame(event.data) }
    socket.onclose = (event) => { if (this.#socket === socket) this.#onLoss(event.code, event.reason) }
    // a close event always follows an error event: that is where it is handled
    socket.onerror = noop
    this.#connectTimer = this.#options.clock.setTimeout(() => {
      this.#connectTimer = undefined
      if (this.#socket !== socket) return
      this.#onLoss(1006, 'connect timeout', new RealtimeClientError(ClientErrorCode.connectionLost,
        `no connection.established within ${this.#options.connectTimeoutMs} ms`))
    }, this.#options.connectTimeoutMs)
  }

  /** The socket closed, or the client declared it dead. */
  #onLoss (code: number, reason: string, cause?: RealtimeClientError): void {
    const wasOpen = this.#state === ConnectionState.open
    const openedAt = this.#openedAt
    this.#releaseSocket(CloseCode.heartbeatTimeout, cause?.message ?? reason, true)

    if (!ABNORMAL_CLOSES.has(code) && !isReconnectable(code)) {
      if (wasOpen) this.#emitter.emit('close', { code, reason, willReconnect: false })
      this.#stop(new RealtimeClientError(ClientErrorCode.closedByServer,
        `the server closed the connection with ${code}${reason === '' ? '' : ` (${reason})`}; not reconnecting`, { closeCode: code }))
      return
    }
    const error = cause ?? new RealtimeClientError(ClientErrorCode.connectionLost,
      wasOpen ? `connection lost (${code}${reason === '' ? '' : `: ${reason}`})` : `connection attempt failed (${code})`, { closeCode: code })

    if (wasOpen) {
      if (openedAt !== undefined && this.#options.clock.now() - openedAt >= this.#options.stableAfterMs) this.#attempt = 0
      this.#emitter.emit('close', { code, reason, willReconnect: this.#options.reconnect })
      // 4001: the token expired; the next attempt asks the token function for a fresh one
      if (code === CloseCode.tokenExpired) this.#scheduleReconnect(error, { delayMs: 0 })
      // 1001: a planned restart, and this connection worked: come back soon, jittered over the first step
      else if (code === CloseCode.goingAway) this.#scheduleReconnect(error, { isFirstStep: true })
      else this.#scheduleReconnect(error)
      return
    }
    void this.#explainFailure(error)
  }

  /** A browser sees 1006 for every refused upgrade: ask the server why, then decide. */
  async #explainFailure (error: RealtimeClientError): Promise<void> {
    const session = this.#session
    const verdict = await this.#preflight()
    if (session !== this.#session) return
    const withStatus = (code: string, message: string): RealtimeClientError =>
      new RealtimeClientError(code, message, 'statusCode' in verdict ? { statusCode: verdict.statusCode, cause: error } : { cause: error })
    switch (verdict.kind) {
      case 'unauthorized':
        if (typeof this.#options.token === 'function' && !this.#hasRetriedWithFreshToken) {
          this.#hasRetriedWithFreshToken = true
          this.#scheduleReconnect(withStatus(ClientErrorCode.unauthorized, verdict.message), { delayMs: 0, countsAsAttempt: false })
          return
        }
        this.#stop(withStatus(ClientErrorCode.unauthorized, `the server refused the token: ${verdict.message}`))
        return
      case 'refused':
        this.#stop(withStatus(ClientErrorCode.refused, `the server refused the connection (${verdict.statusCode}): ${verdict.message}`))
        return
      case 'busy':
        // the server is full or rate-limiting handshakes: wait longer than for an ordinary failure
        this.#scheduleReconnect(withStatus(ClientErrorCode.connectionLost, `the server is busy (${verdict.statusCode}): ${verdict.message}`),
          { extraSteps: 2, ...(verdict.retryAfterMs === undefined ? {} : { minDelayMs: verdict.retryAfterMs }) })
        return
      case 'unreachable':
        // connection refused: the server is down or restarting, not overloaded; no reason to wait longer
        this.#scheduleReconnect(new RealtimeClientError(ClientErrorCode.connectionLost, `the server is unreachable: ${messageOf(verdict.cause)}`, { cause: verdict.cause }))
        return
      default:
        this.#scheduleReconnect(error)
    }
  }

  async #preflight (): Promise<PreflightVerdict> {
    const fetch = this.#options.fetch
    if (fetch === undefined) return { kind: 'unknown', message: 'no fetch to ask the server with' }
    const clock = this.#options.clock
    const controller = typeof AbortController === 'function' ? new AbortController() : undefined
    const timer = controller === undefined ? undefined : clock.setTimeout(() => controller.abort(), this.#options.preflightTimeoutMs)
    try {
      const request: Parameters<typeof preflight>[0] = { fetch, url: this.#preflightUrl(), token: this.#lastToken, nowMs: Date.now() }
      if (controller !== undefined) request.signal = controller.signal
      return await preflight(request)
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer)
    }
  }

  #preflightUrl (): string {
    return this.#options.auth === 'path' ? `${this.#options.url}/${encodeURIComponent(this.#lastToken)}` : this.#options.url
  }

  #scheduleReconnect (error: RealtimeClientError, how: { delayMs?: number, isFirstStep?: boolean, extraSteps?: number, minDelayMs?: number, countsAsAttempt?: boolean } = {}): void {
    if (!this.#options.reconnect) {
      this.#stop(error)
      return
    }
    if (this.#attempt >= this.#options.maxReconnectAttempts) {
      this.#stop(new RealtimeClientError(ClientErrorCode.reconnectFailed,
        `gave up after ${this.#attempt} failed attempts: ${error.message}`, { cause: error }))
      return
    }
    const delayMs = how.delayMs ?? Math.max(
      backoffDelay(how.isFirstStep === true ? 0 : this.#attempt + (how.extraSteps ?? 0), this.#options.backoff, this.#options.random),
      how.minDelayMs ?? 0)
    if (how.countsAsAttempt !== false) this.#attempt++
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
  #reconnectToRecover (): boolean {
    if (!this.#options.reconnect || this.#state !== ConnectionState.open) return false
    this.#releaseSocket(CloseCode.normal, 'recovering missed messages', false)
    this.#emitter.emit('close', { code: CloseCode.normal, reason: 'recovering missed messages', willReconnect: true })
    this.#scheduleReconnect(new RealtimeClientError(ClientErrorCode.connectionLost, 'offsets missing in the inbox: reconnecting to recover them'),
      { delayMs: 0, countsAsAttempt: false })
    return true
  }

  /** Gives up: a refusal that retrying cannot fix, or reconnecting is off. */
  #stop (error: RealtimeClientError): void {
    this.#session++
    this.#clearReconnectTimer()
    this.#releaseSocket(CloseCode.normal, 'client stopped', false)
    this.#stopError = error
    const discardedMessages = this.#rejectAll(error)
    this.#setState(ConnectionState.closed, discardedMessages > 0 ? { error, discardedMessages } : { error })
    this.#emitter.emit('error', error)
  }

  /**
   * Forgets the current socket: detaches its handlers, stops its timers,
   * puts its unanswered requests back in front of the queue (they are sent
   * again on the next connection) and closes it if still open.
   */
  #releaseSocket (code: number, reason: string, isDead: boolean): void {
    const clock = this.#options.clock
    for (const timer of [this.#connectTimer, this.#pingTimer, this.#pongTimer]) {
      if (timer !== undefined) clock.clearTimeout(timer)
    }
    this.#connectTimer = this.#pingTimer = this.#pongTimer = undefined
    this.#openedAt = undefined
    this.#recovery.connectionLost()

    const unanswered: Outgoing[] = []
    for (const request of this.#inflight.values()) {
      if (request.timer !== undefined) clock.clearTimeout(request.timer)
      request.timer = undefined
      // a restore is redone from #subscriptions on the next open
      if (!request.isInternal) unanswered.push({ request })
    }
    this.#inflight.clear()
    this.#queue.unshift(...unanswered)

    const socket = this.#socket
    if (socket === undefined) return
    this.#socket = undefined
    socket.onopen = null
    socket.onmessage = null
    socket.onclose = null
    // `ws` throws an 'error' nobody listens to when a socket closes before its handshake ends
    socket.onerror = noop
    if (socket.readyState !== CONNECTING && socket.readyState !== OPEN) return
    const terminate = (socket as { terminate?: () => void }).terminate
    try {
      // a dead link never answers a close frame: drop it at once where the implementation can
      if (isDead && typeof terminate === 'function') terminate.call(socket)
      else socket.close(code, reason.slice(0, 120))
    /* c8 ignore next 3 */ // close() only throws for an invalid code, and ours are valid
    } catch {
      // nothing left to close
    }
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

  // ---- receiving ----------------------------------------------------------

  #onFrame (raw: unknown): void {
    let message: ServerEnvelope
    try {
      if (typeof raw !== 'string') throw new TypeError('binary frame')
      const parsed: unknown = JSON.parse(raw)
      if (parsed === null || typeof parsed !== 'object' || typeof (parsed as { type?: unknown }).type !== 'string') {
        throw new TypeError('no message type')
      }
      message = parsed as ServerEnvelope
    } catch (cause) {
      this.#emitter.emit('error', new RealtimeClientError(ClientErrorCode.invalidFrame, `the server sent an unreadable frame: ${messageOf(cause)}`, { cause }))
      return
    }
    // any frame proves the link alive, not only the pong (a rate-limited ping is answered by an error)
    if (this.#pongTimer !== undefined) this.#onSignOfLife()
    // positions advance here, before any listener runs: a listener that throws cannot bring a message back
    if (!this.#recovery.receive(message) || this.#socket === undefined) return
    this.#emitter.emit('message', message)
    switch (message.type) {
      case 'connection.established':
        this.#onEstablished(message.data as ConnectionEstablished)
        break
      case 'pong':
        this.#onPong(message.data as Pong)
        break
      case 'subscription.confirmed':
      case 'unsubscription.confirmed':
        this.#onConfirmed(message.type === 'subscription.confirmed' ? 'subscribe' : 'unsubscribe', message.data as SubscriptionConfirmed)
        break
      case 'presence.state':
        this.#onPresenceState(message.data as PresenceState)
        break
      case 'subscription.joined':
        this.#subscriptions.channels.add((message.data as SubscriptionJoined).channel)
        break
      case 'subscription.ended':
        this.#subscriptions.channels.delete((message.data as SubscriptionEnded).channel)
        break
      case 'error':
        // 'error' listeners get the client's errors: a server error nobody awaited is one of them
        this.#onServerError(message.data as ErrorData)
        return
    }
    if (typeof message.channel === 'string') this.#onChannelMessage(message as ChannelMessage)
    // typed listeners by message type (the map is keyed by the names RealtimeEvents declares)
    const emit = this.#emitter.emit.bind(this.#emitter) as (event: string, data: unknown, envelope: ServerEnvelope) => void
    emit(message.type, message.data, message)
  }

  #onEstablished (established: ConnectionEstablished): void {
    if (this.#state === ConnectionState.open || this.#socket === undefined) return
    const clock = this.#options.clock
    if (this.#connectTimer !== undefined) clock.clearTimeout(this.#connectTimer)
    this.#connectTimer = undefined
    this.#established = established
    this.#openedAt = clock.now()
    this.#hasRetriedWithFreshToken = false
    this.#restore(this.#subscriptions.restoreRequests())
    for (const outgoing of this.#queue.splice(0)) this.#write(outgoing)
    this.#setState(ConnectionState.open)
    this.#scheduleHeartbeat()
    this.#emitter.emit('open', established)
  }

  #restore (requests: SubscriptionLists[]): void {
    for (const lists of requests) this.#request('subscribe', lists, true).catch(() => {})
  }

  #onConfirmed (kind: 'subscribe' | 'unsubscribe', data: SubscriptionConfirmed): void {
    const lists: SubscriptionLists = { events: data.events ?? [], channels: data.channels ?? [] }
    this.#subscriptions.confirmed(kind, lists)
    // by the request id the server echoes; else (an older server) the oldest request naming the same events
    const byId = data.request_id === undefined ? undefined : this.#inflight.get(data.request_id)
    if (byId !== undefined) {
      this.#settle(byId, data)
      return
    }
    const confirmed = new Set(lists.events)
    let match: PendingRequest | undefined
    let oldest: PendingRequest | undefined
    for (const request of this.#inflight.values()) {
      if (request.kind !== kind) continue
      oldest ??= request
      if (request.lists.events.length === confirmed.size && request.lists.events.every(event => confirmed.has(event))) {
        match = request
        break
      }
    }
    const request = match ?? oldest
    if (request !== undefined) this.#settle(request, data)
  }

  /** A message published to a channel: its per-channel listeners. */
  #onChannelMessage (message: ChannelMessage): void {
    const listeners = this.#channelListeners.get(message.channel)
    if (listeners === undefined) return
    for (const listener of [...listeners]) {
      try {
        listener(message)
      } catch (cause) {
        this.#emitter.emit('error', new RealtimeClientError(ClientErrorCode.listenerFailed, `a listener of channel ${message.channel} threw`, { cause }))
      }
    }
  }

  /** The answer to a presence request, by the request id the server echoes. */
  #onPresenceState (data: PresenceState): void {
    const request = typeof data.request_id === 'string' ? this.#inflight.get(data.request_id) : undefined
    if (request?.kind === 'presence') this.#settle(request, data)
  }

  #onPong (data: Pong): void {
    const pingId = data.pingId
    if (typeof pingId !== 'string') return
    if (pingId.startsWith('hb')) return // a heartbeat's: #onSignOfLife has handled it
    const request = this.#inflight.get(pingId)
    if (request?.kind === 'ping') this.#settle(request, this.#options.clock.now() - request.sentAt)
  }

  #onServerError (data: ErrorData): void {
    const init: ConstructorParameters<typeof RealtimeClientError>[2] = {}
    if (data.request_id !== undefined) init.requestId = data.request_id
    if (data.details !== undefined) init.details = data.details
    if (data.reasons !== undefined) init.reasons = data.reasons
    if (data.retry_after !== undefined) init.retryAfterMs = data.retry_after * 1000
    const error = new RealtimeClientError(String(data.code), String(data.message), init)
    const request = data.request_id === undefined ? undefined : this.#inflight.get(data.request_id)
    if (request === undefined) {
      this.#emitter.emit('error', error)
      return
    }
    if (request.timer !== undefined) this.#options.clock.clearTimeout(request.timer)
    this.#inflight.delete(request.id)
    // no replay follows a refused subscribe: its channels' holes are watched for again
    if (request.kind === 'subscribe') this.#recovery.abandon(request.lists.channels)
    if (!request.isInternal) {
      request.reject(error)
      return
    }
    // a restore refused: the server no longer allows some events or channels. Drop those, restore the rest.
    const rest = this.#subscriptions.refused(request.lists, data.details ?? [])
    this.#recovery.forget(data.details ?? [])
    this.#emitter.emit('error', error)
    this.#restore(rest)
  }

  // ---- heartbeat ----------------------------------------------------------

  #onSignOfLife (): void {
    if (this.#pongTimer !== undefined) this.#options.clock.clearTimeout(this.#pongTimer)
    this.#pongTimer = undefined
    this.#scheduleHeartbeat()
  }

  #pingIntervalMs (): number {
    return this.#options.pingIntervalMs ?? this.#established?.heartbeat_interval_ms ?? 30_000
  }

  #scheduleHeartbeat (): void {
    const intervalMs = this.#pingIntervalMs()
    if (!(intervalMs > 0)) return
    const clock = this.#options.clock
    if (this.#pingTimer !== undefined) clock.clearTimeout(this.#pingTimer)
    this.#pingTimer = clock.setTimeout(() => {
      this.#pingTimer = undefined
      const socket = this.#socket
      if (this.#state !== ConnectionState.open || socket === undefined || socket.readyState !== OPEN) return
      const pingId = `hb${++this.#nextId}`
      socket.send(JSON.stringify({ type: 'ping', data: { pingId } }))
      const timeoutMs = this.#options.pongTimeoutMs ?? Math.min(10_000, intervalMs)
      this.#pongTimer = clock.setTimeout(() => {
        this.#pongTimer = undefined
        if (this.#socket !== socket) return
        // half-open: the socket looks open, but nothing comes back
        this.#onLoss(CloseCode.heartbeatTimeout, 'heartbeat timeout',
          new RealtimeClientError(ClientErrorCode.heartbeatTimeout, `no pong within ${timeoutMs} ms: the connection is dead`, { closeCode: CloseCode.heartbeatTimeout }))
      }, timeoutMs)
    }, intervalMs)
  }
}

function noop (): void {}

function withQuery (url: string, query: string | undefined): string {
  if (query === undefined) return url
  return `${url}${url.includes('?') ? '&' : '?'}${query}`
}

function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

const NO_LISTS: SubscriptionLists = { events: [], channels: [] }

/** Only the lists that have names go on the wire (an events-only subscribe is the seed's message). */
interface WireLists { events?: readonly string[], channels?: readonly string[] }

function wireLists (lists: SubscriptionLists): WireLists {
  const data: WireLists = {}
  if (lists.events.length > 0) data.events = lists.events
  if (lists.channels.length > 0) data.channels = lists.channels
  return data
}
