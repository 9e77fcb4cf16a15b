import type { ClientMessages, ClientMessageType, SubscribeData, UnsubscribeData } from '../protocol/client-messages.js'
import type {
  ConnectionEstablished, Pong, RealtimeEventName, ServerEnvelope, ServerMessage, SubscriptionConfirmed, UnsubscriptionConfirmed
} from '../protocol/server-messages.js'

/** Who connects: a user id (the kit signs a token for it) or a token of your own. */
export type TestIdentity =
  | { userId: string, /** Extra claims of the signed token (`exp`, roles...). */ claims?: Record<string, unknown> }
  | { token: string }

/** Signs the claims of a test token (`{ sub, ...claims }`): your own key, algorithm or issuer. */
export type TokenSigner = (claims: Record<string, unknown> & { sub: string }) => string | Promise<string>

/** How the token travels: as the `bearer.<jwt>` subprotocol (what the client does), in the path, or in `Authorization`. */
export type TokenTransport = 'protocol' | 'path' | 'header'

export interface ConnectOptions {
  /**
   * The endpoint path, register prefix included (`/api/v1/ws`). Default `/ws`;
   * checked against the app's routes, so a wrong path fails with a clear error.
   */
  path?: string
  /** HS256 secret to sign `{ userId }` tokens with: the plugin's `jwt` secret. */
  secret?: string
  /** Signs `{ userId }` tokens (RS256 keys, extra claims...); wins over `secret`. */
  sign?: TokenSigner
  /** Default 'protocol'. */
  auth?: TokenTransport
  /** Extra handshake headers (`origin`, `x-forwarded-for`...). */
  headers?: Record<string, string>
  /** Bound on the handshake and on every wait of this client (next, expectNothing, subscribe, close). Default 5000 ms. */
  timeoutMs?: number
  /** A query string for the endpoint URL (`{ inbox: '<epoch>:<offset>' }`, or `'inbox=...'`). */
  query?: string | Record<string, string>
  /** The local address the socket binds (`127.0.0.2`...): tests of per-IP limits. */
  localAddress?: string
}

/** subscribe's argument: event types, or the message's data (`events`, `channels`, `recover`). */
export type SubscribeRequest = readonly string[] | SubscribeData
/** unsubscribe's argument: event types, or `{ events, channels }`. */
export type UnsubscribeRequest = readonly string[] | UnsubscribeData

/** What expectNothing's `via` sends its marker with: the app holding (or not holding) the connection. */
export interface MarkerSender {
  realtime: { sendToConnection (connectionId: string, message: { type: string, data: { marker: string } }): Promise<number> }
}

export interface WaitOptions {
  /** Default: the client's timeoutMs. */
  timeoutMs?: number
}

export interface ExpectNothingOptions extends WaitOptions {
  /**
   * The sentinel is your own message instead of a ping: the first message
   * this matches. Use it when the message you expect not to get would come
   * another way than this connection's own request/reply (through another
   * node, say): send the marker the same way, after the action.
   */
  until?: (message: ServerEnvelope) => boolean
  /**
   * The sentinel is a marker `via.realtime.sendToConnection` sends this
   * connection once the call is made: pass the app that did the action (or,
   * across nodes, another node's app, so the marker crosses the bus behind
   * the action's publish).
   */
  via?: MarkerSender
}

/** How a connection ended: the close code and reason the client saw (1006 when no close frame came). */
export interface CloseInfo {
  code: number
  reason: string
}

/**
 * A test's WebSocket client of the realtime endpoint, over a real socket.
 * Every message it receives is queued until a `next()` takes it, so a test
 * never races the socket and nothing arrives unseen.
 */
export interface RealtimeTestClient {
  /** The `connection.established` data (connection_id, user_id, ...). */
  readonly connection: ConnectionEstablished
  readonly connectionId: string
  readonly userId: string
  /** Messages received and not taken yet, oldest first. */
  readonly queued: readonly ServerEnvelope[]
  /** Resolves when the socket closes, with the code and reason the client saw. Never rejects. */
  readonly closed: Promise<CloseInfo>
  readonly isOpen: boolean

  /**
   * The next message, or the next of `type` (messages of other types stay
   * queued for later calls). Rejects after timeoutMs, or when the connection
   * closes first.
   */
  next<K extends RealtimeEventName>(type: K, options?: WaitOptions): Promise<ServerMessage<K>>
  next (type?: string, options?: WaitOptions): Promise<ServerEnvelope>
  /** The next message `match` accepts; the others stay queued, in order. */
  next (match: (message: ServerEnvelope) => boolean, options?: WaitOptions): Promise<ServerEnvelope>

  /**
   * Sends `{ type, data, id }` with a fresh id and resolves with the frame
   * whose `data.request_id` echoes it: the reply, or an `error` frame (not
   * thrown: the test asserts on it). A recovery.result carrying the id too
   * is not the reply and stays queued.
   */
  request (type: string, data?: unknown, options?: WaitOptions): Promise<ServerEnvelope>

  /**
   * Proves that nothing was queued for this connection: sends a ping with a
   * unique pingId and resolves if the first message to arrive (or already
   * waiting in `queued`) is its pong; rejects, listing what came first,
   * otherwise. The server handles a connection's messages in order, so any
   * delivery made before this call is ahead of the pong. It says nothing of
   * a message still travelling from another node: use `until` with a marker
   * sent the same way for that.
   */
  expectNothing (options?: ExpectNothingOptions): Promise<void>

  /** Sends a client message `{ type, data, id? }`; data typed from ClientMessages for the types it names. */
  send<K extends string>(type: K, data?: K extends ClientMessageType ? ClientMessages[K] : unknown, options?: { id?: string }): void
  /** Sends a frame as is (invalid JSON, oversized frames...). */
  sendRaw (frame: string | Uint8Array): void

  /**
   * Subscribes to event types, or to `{ events, channels, recover }`;
   * resolves with the confirmation, rejects with the server's error (its
   * `code` on the error). With `recover`, the recovered messages and
   * recovery.result follow the confirmation: take them with next().
   */
  subscribe (request: SubscribeRequest, options?: WaitOptions): Promise<SubscriptionConfirmed>
  unsubscribe (request: UnsubscribeRequest, options?: WaitOptions): Promise<UnsubscriptionConfirmed>
  /** A protocol ping; resolves with the pong. */
  ping (options?: WaitOptions): Promise<Pong>

  /** Closes with a close frame and resolves once closed (the socket is destroyed if the server never answers). */
  close (code?: number, reason?: string): Promise<CloseInfo>
  /** A network loss: destroys the TCP socket, no close frame. The server sees the socket end (1006). */
  drop (): Promise<CloseInfo>
  /** Stops reading from the socket (a slow consumer), and reads again. */
  pause (): void
  resume (): void
}
