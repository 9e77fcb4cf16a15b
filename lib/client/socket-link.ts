import { BEARER_PROTOCOL_PREFIX, SUBPROTOCOL } from '../protocol/constants.js'
import { ClientErrorCode, RealtimeClientError, messageOf } from './errors.js'
import type { Clock, WebSocketConstructor, WebSocketLike } from './types.js'

const CONNECTING = 0
const OPEN = 1

export interface SocketLinkOptions {
  readonly url: string
  readonly auth: 'subprotocol' | 'path'
  readonly WebSocket: WebSocketConstructor
  readonly clock: Clock
  readonly connectTimeoutMs: number
  /** The query the handshake carries (the inbox position), if any. */
  handshakeQuery (): string | undefined
  /** A frame arrived on the current socket. */
  frame (raw: unknown): void
  /** The current socket closed, or did not get connection.established within connectTimeoutMs (`cause`). */
  lost (code: number, reason: string, cause?: RealtimeClientError): void
}

/**
 * The one WebSocket of the client: opened with the token (beside the
 * subprotocol, or in the path), watched for the connect timeout, released
 * with its handlers detached.
 */
export class SocketLink {
  readonly #options: SocketLinkOptions
  #socket: WebSocketLike | undefined
  #connectTimer: unknown
  #token = ''

  constructor (options: SocketLinkOptions) {
    this.#options = options
  }

  get socket (): WebSocketLike | undefined { return this.#socket }
  /** The socket, if it is open at the WebSocket level. */
  get openSocket (): WebSocketLike | undefined { return this.#socket?.readyState === OPEN ? this.#socket : undefined }
  /** The token of the last attempt. */
  get token (): string { return this.#token }
  /** The URL the server answers a preflight at (with the token in it for `path`). */
  get preflightUrl (): string {
    return this.#options.auth === 'path' ? `${this.#options.url}/${encodeURIComponent(this.#token)}` : this.#options.url
  }

  /** Opens a socket; an error (a malformed URL, a token a subprotocol cannot carry) when none can be created. */
  open (token: string): RealtimeClientError | undefined {
    const options = this.#options
    this.#token = token
    let socket: WebSocketLike
    try {
      // the inbox is live from the first moment: its position rides in the handshake itself
      const query = options.handshakeQuery()
      socket = options.auth === 'path'
        ? new options.WebSocket(withQuery(`${options.url}/${encodeURIComponent(token)}`, query), [SUBPROTOCOL])
        : new options.WebSocket(withQuery(options.url, query), [SUBPROTOCOL, BEARER_PROTOCOL_PREFIX + token])
    } catch (cause) {
      return new RealtimeClientError(ClientErrorCode.refused, `could not open a WebSocket: ${messageOf(cause)}`, { cause })
    }
    this.#socket = socket
    socket.onmessage = (event) => { if (this.#socket === socket) options.frame(event.data) }
    socket.onclose = (event) => { if (this.#socket === socket) options.lost(event.code, event.reason) }
    // a close event always follows an error event: that is where it is handled
    socket.onerror = noop
    this.#connectTimer = options.clock.setTimeout(() => {
      // still this socket's: release() stops this timer
      this.#connectTimer = undefined
      options.lost(1006, 'connect timeout', new RealtimeClientError(ClientErrorCode.connectionLost,
        `no connection.established within ${options.connectTimeoutMs} ms`))
    }, options.connectTimeoutMs)
    return undefined
  }

  /** connection.established came: the connect timeout is over. */
  established (): void {
    if (this.#connectTimer !== undefined) this.#options.clock.clearTimeout(this.#connectTimer)
    this.#connectTimer = undefined
  }

  /** Forgets the socket: detaches its handlers and closes it if still open (`isDead`: drops it at once where possible). */
  release (code: number, reason: string, isDead: boolean): void {
    this.established()
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
}

function noop (): void {}

function withQuery (url: string, query: string | undefined): string {
  if (query === undefined) return url
  return `${url}${url.includes('?') ? '&' : '?'}${query}`
}
