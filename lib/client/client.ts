import type { ClientMessages } from '../protocol/client-messages.js'
import { CloseCode } from '../protocol/codes.js'
import type { PresenceState } from '../protocol/presence-messages.js'
import type { ConnectionEstablished, SubscriptionConfirmed, UnsubscriptionConfirmed } from '../protocol/server-messages.js'
import { ChannelListeners } from './channel-listeners.js'
import { resolveClientOptions, type ResolvedClientOptions } from './client-options.js'
import { ConnectionMachine } from './connection-machine.js'
import { TypedEmitter, type Listener } from './emitter.js'
import { ClientErrorCode, RealtimeClientError } from './errors.js'
import { Inbound } from './inbound.js'
import { Outbox } from './outbox.js'
import { Recovery } from './recovery.js'
import { RequestMatcher, type RequestKind } from './request-matcher.js'
import type { StreamPosition } from './stream-positions.js'
import { SubscriptionState, normalizeRequest, type SubscriptionLists, type SubscriptionRequest } from './subscription-state.js'
import {
  ConnectionState, type ChannelMessage, type ClientEventMap, type ConnectionStateValue, type RealtimeClientOptions
} from './types.js'
import { nextOpen, type WaitForOpenOptions } from './wait-for-open.js'

const NO_LISTS: SubscriptionLists = { events: [], channels: [] }

/**
 * The fastify-realtime client for browsers and Node. This class is its
 * public API and puts the parts together: the connection state machine
 * (connection-machine.ts), requests and their answers (request-matcher.ts,
 * outbox.ts), the frames received (inbound.ts), subscriptions and recovery.
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
  /** The events and channels the app is in: restored on every connection. */
  readonly #subscriptions = new SubscriptionState()
  readonly #channelListeners = new ChannelListeners()
  /** Positions in each stream with history, and what to do about duplicates and holes. */
  readonly #recovery: Recovery
  readonly #matcher: RequestMatcher
  readonly #outbox: Outbox
  readonly #machine: ConnectionMachine

  constructor (options: RealtimeClientOptions) {
    const resolved = this.#options = resolveClientOptions(options)
    const clock = resolved.clock
    const emitter = this.#emitter = new TypedEmitter<ClientEventMap>((err, event) => {
      if (event === 'error') {
        // an 'error' listener failed: nothing is left to report to, so let it surface
        queueMicrotask(() => { throw err })
        return
      }
      emitter.emit('error', new RealtimeClientError(ClientErrorCode.listenerFailed, `a '${String(event)}' listener threw`, { cause: err }))
    })
    const recovery = this.#recovery = new Recovery({
      positions: options.positions,
      now: () => clock.now(),
      actions: {
        resubscribe: (channel) => this.#restore([{ events: [], channels: [channel] }]),
        reconnect: () => machine.reconnectToRecover(),
        recovered: (event) => emitter.emit('recovered', event),
        gap: (event) => emitter.emit('gap', event)
      }
    })
    const matcher = this.#matcher = new RequestMatcher({
      clock,
      timeoutMs: resolved.requestTimeoutMs,
      timedOut: (request, error) => {
        if (request.kind === 'subscribe') recovery.abandon(request.lists.channels)
        if (request.isInternal) emitter.emit('error', error)
        else request.reject(error)
      }
    })
    const outbox = this.#outbox = new Outbox({
      maxQueueSize: resolved.maxQueueSize,
      matcher,
      socket: () => machine.socket,
      isOpen: () => machine.state === ConnectionState.open,
      recoverFor: (channels) => recovery.recoverFor(channels)
    })
    const machine: ConnectionMachine = this.#machine = new ConnectionMachine({
      options: resolved,
      emitter,
      recovery,
      matcher,
      outbox,
      frame: (raw) => inbound.receive(raw),
      restore: () => this.#restore(this.#subscriptions.restoreRequests())
    })
    const inbound = new Inbound({
      emitter,
      clock,
      heartbeat: machine.heartbeat,
      recovery,
      subscriptions: this.#subscriptions,
      matcher,
      channelListeners: this.#channelListeners,
      hasSocket: () => machine.socket !== undefined,
      established: (data) => machine.opened(data),
      restore: (requests) => this.#restore(requests)
    })
    for (const event of options.subscriptions ?? []) this.#subscriptions.events.add(event)
    for (const channel of options.channels ?? []) this.#subscriptions.channels.add(channel)
    if (options.autoConnect === true) void this.connect().catch(() => {})
  }

  /** connecting, open, reconnecting or closed. */
  get state (): ConnectionStateValue { return this.#machine.state }
  /** The server's connection.established of the current connection, while open. */
  get connection (): ConnectionEstablished | undefined { return this.#machine.state === ConnectionState.open ? this.#machine.established : undefined }
  /** The events restored on every connection. */
  get subscriptions (): string[] { return [...this.#subscriptions.events] }
  /** The channels restored on every connection: subscribed, or joined by the server (re-authorized on each restore). */
  get channels (): string[] { return [...this.#subscriptions.channels] }
  /** Messages waiting for a connection. */
  get queuedMessages (): number { return this.#outbox.size }
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
    this.#machine.connect()
    const opened = this.waitForOpen()
    opened.catch(() => {})
    return opened
  }

  /**
   * Resolves when the client is open (now, or at the next open). Rejects if
   * the client stops first, or after `timeoutMs`.
   */
  waitForOpen (options: WaitForOpenOptions = {}): Promise<ConnectionEstablished> {
    const { state, established, stopError } = this.#machine
    if (state === ConnectionState.open && established !== undefined) return Promise.resolve(established)
    if (state === ConnectionState.closed && stopError !== undefined) return Promise.reject(stopError)
    return nextOpen(this.#emitter, this.#options.clock, options)
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
    return this.#channelListeners.add(channel, listener)
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
    return this.#outbox.dispatch({ text: JSON.stringify({ type, data }) })
  }

  /**
   * Closes the connection and stops reconnecting. Pending requests and
   * queued messages are rejected/discarded with CLIENT_CLOSED. connect()
   * starts again.
   */
  close (code: number = CloseCode.normal, reason = 'client closed'): void {
    this.#machine.close(code, reason)
  }


  // ---- requests -----------------------------------------------------------

  /** `data` is sent as is (a presence request's); by default, the lists (or a ping's id). */
  #request<T>(kind: RequestKind, lists: SubscriptionLists, isInternal = false, data?: object): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const request = this.#matcher.create(kind, lists, isInternal, { resolve: resolve as (value: unknown) => void, reject }, data)
      if (isInternal) this.#outbox.write({ request })
      else this.#outbox.dispatch({ request })
    })
  }

  #restore (requests: SubscriptionLists[]): void {
    for (const lists of requests) this.#request('subscribe', lists, true).catch(() => {})
  }
}
