import type { WireErrorCode } from '../protocol/codes.js'

/**
 * Codes of the errors the client itself reports. They are API, like the
 * server's wire codes (which a `RealtimeClientError` carries unchanged when
 * the server answered with an `error` message).
 */
export const ClientErrorCode = {
  /** The server refused the token (HTTP 401 before the upgrade). The client stops. */
  unauthorized: 'UNAUTHORIZED',
  /** The server refused the origin (HTTP 403), or another 4xx that retrying cannot fix. The client stops. */
  refused: 'CONNECTION_REFUSED',
  /** The server closed with a code that forbids reconnecting (1008, 4500-4999). The client stops. */
  closedByServer: 'CLOSED_BY_SERVER',
  /** A connection attempt failed or an open connection was lost; the client reconnects. */
  connectionLost: 'CONNECTION_LOST',
  /** No pong (nor any other frame) within pongTimeoutMs: the link is dead; the client reconnects. */
  heartbeatTimeout: 'HEARTBEAT_TIMEOUT',
  /**
   * The token function threw or returned no token; the client retries with
   * backoff (throw a RealtimeClientError with code UNAUTHORIZED from it to stop instead).
   */
  tokenUnavailable: 'TOKEN_UNAVAILABLE',
  /** maxReconnectAttempts failed attempts in a row. The client stops. */
  reconnectFailed: 'RECONNECT_FAILED',
  /** The outbound queue is full while disconnected: the message was not accepted. */
  queueFull: 'QUEUE_FULL',
  /** close() was called: pending requests and queued messages are rejected with this. */
  closed: 'CLIENT_CLOSED',
  /** A request got no answer within requestTimeoutMs of being sent. */
  timeout: 'REQUEST_TIMEOUT',
  /** The server sent something that is not a JSON message envelope. */
  invalidFrame: 'INVALID_FRAME',
  /** An event listener threw; the error is the cause. */
  listenerFailed: 'LISTENER_FAILED'
} as const
export type ClientErrorCodeValue = typeof ClientErrorCode[keyof typeof ClientErrorCode]

export interface RealtimeClientErrorInit {
  /** The WebSocket close code, when a close caused this. */
  closeCode?: number
  /** The HTTP status of the preflight, when it explained a refused handshake. */
  statusCode?: number
  /** How long the server asked to wait (RATE_LIMIT_EXCEEDED, 429, 503). */
  retryAfterMs?: number
  /** The client message id this answers (the server's request_id). */
  requestId?: string
  /** Offending values (e.g. the events INVALID_EVENT refused, the channels CHANNEL_FORBIDDEN refused). */
  details?: readonly string[]
  /** On CHANNEL_FORBIDDEN: why each channel of `details` was refused, in the same order. */
  reasons?: readonly string[]
  cause?: unknown
}

/** Every error the client rejects a promise with or emits on 'error'. */
export class RealtimeClientError extends Error {
  /** A ClientErrorCode, or the server's wire code (INVALID_EVENT, RATE_LIMIT_EXCEEDED, ...). */
  readonly code: ClientErrorCodeValue | WireErrorCode | (string & {})
  readonly closeCode: number | undefined
  readonly statusCode: number | undefined
  readonly retryAfterMs: number | undefined
  readonly requestId: string | undefined
  readonly details: readonly string[] | undefined
  readonly reasons: readonly string[] | undefined

  constructor (code: RealtimeClientError['code'], message: string, init: RealtimeClientErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause })
    this.name = 'RealtimeClientError'
    this.code = code
    this.closeCode = init.closeCode
    this.statusCode = init.statusCode
    this.retryAfterMs = init.retryAfterMs
    this.requestId = init.requestId
    this.details = init.details
    this.reasons = init.reasons
  }
}

/** An error's message, or whatever was thrown as text. */
export function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
