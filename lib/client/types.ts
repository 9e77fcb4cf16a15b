import type { ConnectionEstablished, RealtimeEvents, ServerEnvelope } from '../protocol/server-messages.js'
import type { BackoffOptions } from './backoff.js'
import type { RealtimeClientError } from './errors.js'
import type { FetchLike } from './preflight.js'
import type { StreamGap, StreamRecovered } from './recovery.js'
import type { StreamPosition } from './stream-positions.js'

/** A message published to a channel, as onChannel() listeners get it. */
export type ChannelMessage = ServerEnvelope & { channel: string }

/** The connection states, in the order a healthy client goes through them. */
export const ConnectionState = {
  /** The first attempt after connect(). */
  connecting: 'connecting',
  /** connection.established received: messages flow. */
  open: 'open',
  /** Lost or failed: waiting for the next attempt, or making it. */
  reconnecting: 'reconnecting',
  /** Not connected and not trying: before connect(), after close(), or stopped by a refusal. */
  closed: 'closed'
} as const
export type ConnectionStateValue = typeof ConnectionState[keyof typeof ConnectionState]

// Listener parameters are declared as methods so that handlers typed against
// the DOM WebSocket or the `ws` package are accepted (method parameters are bivariant).
interface MessageHandlerSlot { handle (event: { data: unknown }): void }
interface CloseHandlerSlot { handle (event: { code: number, reason: string }): void }
interface EventHandlerSlot { handle (event: unknown): void }

/**
 * What the client needs of a WebSocket: the browser's native one, Node's
 * global one (Node 22+), or the `ws` package's class all fit.
 */
export interface WebSocketLike {
  readonly readyState: number
  readonly protocol: string
  onopen: EventHandlerSlot['handle'] | null
  onmessage: MessageHandlerSlot['handle'] | null
  onclose: CloseHandlerSlot['handle'] | null
  onerror: EventHandlerSlot['handle'] | null
  send (data: string): void
  close (code?: number, reason?: string): void
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike

/** Timers and time, injectable so tests drive them with a fake clock. */
export interface Clock {
  setTimeout (callback: () => void, ms: number): unknown
  clearTimeout (handle: unknown): void
  now (): number
}

/** Returns the token for one connection attempt (called again before every attempt). */
export type TokenProvider = () => string | Promise<string>

export interface RealtimeClientOptions {
  /**
   * The endpoint: `ws(s)://host/prefix/ws`, or `http(s)://` (converted), or
   * in a browser a path such as `/api/v1/ws` (resolved against the page).
   */
  url: string
  /** A token, or a function returning a fresh one for each attempt (so 4001 and 401 can renew it). */
  token: string | TokenProvider
  /**
   * How the token travels: `'subprotocol'` (default; `bearer.<jwt>`, never
   * echoed nor logged in URLs) or `'path'` (`/ws/<jwt>`, the seed's form).
   */
  auth?: 'subprotocol' | 'path'
  /** A WebSocket class; the global one by default (browsers, Node 22+). Pass `ws` on Node 20. */
  WebSocket?: WebSocketConstructor
  /**
   * Used to ask the server why a connection attempt failed (a plain GET on
   * the same URL). The global fetch by default; `false` turns it off (every
   * failure is then treated as transient).
   */
  fetch?: FetchLike | false
  /** Reconnect after a lost connection or a failed attempt. Default true. */
  reconnect?: boolean
  /** Reconnect delays: full jitter under min(maxDelayMs, initialDelayMs * multiplier ** attempt). */
  backoff?: Partial<BackoffOptions>
  /** A connection open this long resets the backoff to its first step. Default 10000. */
  stableAfterMs?: number
  /** Failed attempts in a row before giving up with RECONNECT_FAILED. Default Infinity. */
  maxReconnectAttempts?: number
  /** Time between pings; default the server's heartbeat_interval_ms from connection.established. */
  pingIntervalMs?: number
  /** A ping unanswered this long means the connection is dead. Default min(10000, ping interval). */
  pongTimeoutMs?: number
  /** From creating the socket to connection.established. Default 10000. */
  connectTimeoutMs?: number
  /** Answer time of subscribe/unsubscribe/ping, counted from when the message is sent. Default 10000. */
  requestTimeoutMs?: number
  /** Preflight answer time. Default 5000. */
  preflightTimeoutMs?: number
  /** Messages kept while not connected; past it they are refused with QUEUE_FULL. Default 100. */
  maxQueueSize?: number
  /** Events to subscribe to on every connection, as if subscribe() had been called. */
  subscriptions?: readonly string[]
  /** Channels to subscribe to on every connection (the server authorizes each, every time). */
  channels?: readonly string[]
  /**
   * Positions to recover from on the first connection (`client.positions`
   * saved by an earlier page): the inbox's is sent in the handshake, a
   * channel's with its first subscribe.
   */
  positions?: Readonly<Record<string, StreamPosition>>
  /** Call connect() from the constructor. Default false. */
  autoConnect?: boolean
  /** Timers and time (tests pass a fake clock). */
  clock?: Partial<Clock>
  /** Chance for the backoff jitter, in [0, 1). Default Math.random. */
  random?: () => number
}

export interface StateChange {
  state: ConnectionStateValue
  previous: ConnectionStateValue
  /** Why the client stopped or is reconnecting. */
  error?: RealtimeClientError
  /** On 'closed': queued plain messages (send/cancelUpload) that were never sent. */
  discardedMessages?: number
}

export interface ReconnectScheduled {
  /** 1 for the first retry after a failure or a loss. */
  attempt: number
  delayMs: number
  error: RealtimeClientError
}

export interface ConnectionClosed {
  code: number
  reason: string
  willReconnect: boolean
}

/** The client's own events. */
export interface ClientEvents {
  state: [change: StateChange]
  /** connection.established: each time a connection opens. */
  open: [established: ConnectionEstablished]
  /** An open connection ended. */
  close: [closed: ConnectionClosed]
  /** A retry is scheduled. */
  reconnect: [scheduled: ReconnectScheduled]
  /** Connection failures, refusals, server errors nobody awaited, listener failures. */
  error: [error: RealtimeClientError]
  /** Every message from the server, before its typed listeners (never one already delivered). */
  message: [message: ServerEnvelope]
  /** The server replayed what a stream missed (after a reconnect, or a hole): the messages came first. */
  recovered: [recovered: StreamRecovered]
  /** A stream has a hole the server could not fill (`reason`): refetch what it carries. */
  gap: [gap: StreamGap]
}

/** Server message types a listener can take: every RealtimeEvents key not shadowed by a client event. */
export type ServerEventName = Exclude<keyof RealtimeEvents & string, keyof ClientEvents>

/** Listener arguments by name: client events, then server messages as (data, envelope). */
export type ClientEventMap = ClientEvents & {
  [K in ServerEventName]: [data: RealtimeEvents[K], message: ServerEnvelope<K, RealtimeEvents[K]>]
}
