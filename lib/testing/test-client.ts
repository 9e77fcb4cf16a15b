import { randomUUID } from 'node:crypto'
import type WebSocket from 'ws'
import type { ConnectionEstablished, Pong, RealtimeEventName, ServerEnvelope, ServerMessage, SubscriptionConfirmed, UnsubscriptionConfirmed } from '../protocol/server-messages.js'
import type { CloseInfo, ExpectNothingOptions, RealtimeTestClient, SubscribeRequest, UnsubscribeRequest, WaitOptions } from './types.js'
import { TestTimeoutError, connectionClosed, errorReply, unexpectedMessages } from './errors.js'

interface Waiter {
  readonly what: string
  readonly match: (message: ServerEnvelope) => boolean
  resolve (message: ServerEnvelope): void
  reject (err: Error): void
}

/** The type of expectNothing's `via` marker: no server code sends it. */
export const MARKER_TYPE = 'testing.marker'

function requestIdOf (message: ServerEnvelope): unknown {
  return (message.data as { request_id?: unknown } | null)?.request_id
}

/** An array is event types; an object is the subscribe data itself. */
function listsOf<T extends object> (request: readonly string[] | T): { events: readonly string[] } | T {
  return isEventList(request) ? { events: request } : request
}

function isEventList (request: unknown): request is readonly string[] {
  return Array.isArray(request)
}

/** After this long without an answer to its close frame, close() destroys the socket. */
const CLOSE_ANSWER_MS = 2000

/**
 * The kit's client over one ws socket (see RealtimeTestClient for the
 * behaviour). Made by connect(), which hands it an open socket whose
 * messages it has buffered since the upgrade.
 */
export class TestClient implements RealtimeTestClient {
  readonly closed: Promise<CloseInfo>
  readonly #socket: WebSocket
  readonly #timeoutMs: number
  readonly #queue: ServerEnvelope[] = []
  readonly #waiters: Waiter[] = []
  #closeInfo: CloseInfo | undefined
  #connection: ConnectionEstablished | undefined

  constructor (socket: WebSocket, timeoutMs: number) {
    this.#socket = socket
    this.#timeoutMs = timeoutMs
    socket.on('message', (raw: Buffer) => this.#onMessage(raw))
    this.closed = new Promise((resolve) => {
      socket.once('close', (code: number, reason: Buffer) => {
        this.#closeInfo = { code, reason: reason.toString() }
        for (const waiter of this.#waiters.splice(0)) waiter.reject(connectionClosed(waiter.what, this.#closeInfo))
        resolve(this.#closeInfo)
      })
    })
  }

  /** Called by connect() once connection.established has been taken. */
  established (connection: ConnectionEstablished): void {
    this.#connection = connection
  }

  get connection (): ConnectionEstablished {
    /* c8 ignore next */ // connect() sets it before it hands the client out
    if (this.#connection === undefined) throw new Error('fastify-realtime/testing: not established yet')
    return this.#connection
  }

  get connectionId (): string { return this.connection.connection_id }
  get userId (): string { return this.connection.user_id }
  get queued (): readonly ServerEnvelope[] { return [...this.#queue] }
  get isOpen (): boolean { return this.#closeInfo === undefined && this.#socket.readyState === 1 }

  #onMessage (raw: Buffer): void {
    let message: ServerEnvelope
    try {
      message = JSON.parse(raw.toString()) as ServerEnvelope
    } catch {
      // the server only sends JSON: keep what came, for the test to see, rather than throw in a socket callback
      message = { type: '(invalid JSON)', data: raw.toString(), timestamp: '', id: '' }
    }
    const index = this.#waiters.findIndex(waiter => waiter.match(message))
    if (index === -1) {
      this.#queue.push(message)
      return
    }
    const [waiter] = this.#waiters.splice(index, 1)
    waiter?.resolve(message)
  }

  /** Takes the first queued message that matches, or waits for one. */
  #take (what: string, match: (message: ServerEnvelope) => boolean, options: WaitOptions | undefined): Promise<ServerEnvelope> {
    const index = this.#queue.findIndex(match)
    if (index !== -1) return Promise.resolve(this.#queue.splice(index, 1)[0] as ServerEnvelope)
    if (this.#closeInfo !== undefined) return Promise.reject(connectionClosed(what, this.#closeInfo))
    const timeoutMs = options?.timeoutMs ?? this.#timeoutMs
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        what,
        match,
        resolve: (message) => { clearTimeout(timer); resolve(message) },
        reject: (err) => { clearTimeout(timer); reject(err) }
      }
      const timer = setTimeout(() => {
        const at = this.#waiters.indexOf(waiter)
        if (at !== -1) this.#waiters.splice(at, 1)
        reject(new TestTimeoutError(what, timeoutMs))
      }, timeoutMs)
      this.#waiters.push(waiter)
    })
  }

  next<K extends RealtimeEventName>(type: K, options?: WaitOptions): Promise<ServerMessage<K>>
  next (type?: string, options?: WaitOptions): Promise<ServerEnvelope>
  next (match: (message: ServerEnvelope) => boolean, options?: WaitOptions): Promise<ServerEnvelope>
  next (type?: string | ((message: ServerEnvelope) => boolean), options?: WaitOptions): Promise<ServerEnvelope> {
    if (typeof type === 'function') return this.#take('matching message', type, options)
    const match = type === undefined ? () => true : (message: ServerEnvelope) => message.type === type
    return this.#take(type ?? 'message', match, options)
  }

  request (type: string, data?: unknown, options?: WaitOptions): Promise<ServerEnvelope> {
    const id = `test-${randomUUID()}`
    const reply = this.#take(`the reply to ${type} (request ${id})`, (message) => message.type !== 'recovery.result' && requestIdOf(message) === id, options)
    this.send(type, data, { id })
    return reply
  }

  async expectNothing (options: ExpectNothingOptions = {}): Promise<void> {
    let isSentinel = options.until
    if (options.via !== undefined) {
      const label = `expect-nothing-${randomUUID()}`
      isSentinel = (message) => message.type === MARKER_TYPE && (message.data as { marker?: unknown } | null)?.marker === label
      await options.via.realtime.sendToConnection(this.connectionId, { type: MARKER_TYPE, data: { marker: label } })
    } else if (isSentinel === undefined) {
      const pingId = `expect-nothing-${randomUUID()}`
      isSentinel = (message) => message.type === 'pong' && (message.data as { pingId?: unknown } | null)?.pingId === pingId
      this.send('ping', { pingId })
    }
    const sentinel = isSentinel
    // everything queued before the sentinel, and the sentinel itself: waited for in one go
    const before: ServerEnvelope[] = []
    for (;;) {
      const message = await this.#take('the expectNothing sentinel', () => true, options)
      if (sentinel(message)) break
      before.push(message)
    }
    if (before.length > 0) throw unexpectedMessages(before)
  }

  send (type: string, data?: unknown, options?: { id?: string }): void {
    const message: { type: string, data?: unknown, id?: string } = { type }
    if (data !== undefined) message.data = data
    if (options?.id !== undefined) message.id = options.id
    this.#socket.send(JSON.stringify(message))
  }

  sendRaw (frame: string | Uint8Array): void {
    this.#socket.send(frame, { binary: typeof frame !== 'string' })
  }

  /** Sends with a fresh id and takes the reply that echoes it as request_id (an `error` rejects). */
  async #request<T> (type: string, data: unknown, options: WaitOptions | undefined): Promise<T> {
    const message = await this.request(type, data, options)
    if (message.type === 'error') throw errorReply(message.data as Record<string, unknown>)
    return message.data as T
  }

  subscribe (request: SubscribeRequest, options?: WaitOptions): Promise<SubscriptionConfirmed> {
    return this.#request('subscribe', listsOf(request), options)
  }

  unsubscribe (request: UnsubscribeRequest, options?: WaitOptions): Promise<UnsubscriptionConfirmed> {
    return this.#request('unsubscribe', listsOf(request), options)
  }

  async ping (options?: WaitOptions): Promise<Pong> {
    const pingId = `ping-${randomUUID()}`
    const pong = this.#take('pong', (message) => message.type === 'pong' && (message.data as { pingId?: unknown } | null)?.pingId === pingId, options)
    this.send('ping', { pingId })
    return (await pong).data as Pong
  }

  async close (code?: number, reason?: string): Promise<CloseInfo> {
    if (this.#closeInfo !== undefined) return this.#closeInfo
    this.#socket.close(code, reason)
    const timer = setTimeout(() => this.#socket.terminate(), CLOSE_ANSWER_MS)
    try {
      return await this.closed
    } finally {
      clearTimeout(timer)
    }
  }

  async drop (): Promise<CloseInfo> {
    // terminate() destroys the TCP socket without a close frame: what the server sees of a lost network
    this.#socket.terminate()
    return this.closed
  }

  pause (): void { this.#socket.pause() }
  resume (): void { this.#socket.resume() }
}
