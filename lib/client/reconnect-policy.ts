// When the client reconnects, and how soon: pure functions of the close
// code, the preflight's verdict and the attempt count. No timers, no state:
// the client (client.ts) keeps the count and runs the timer.
import { CloseCode, isReconnectable } from '../protocol/codes.js'
import { backoffDelay, type BackoffOptions } from './backoff.js'
import { ClientErrorCode, RealtimeClientError, messageOf } from './errors.js'
import type { PreflightVerdict } from './preflight.js'

/** Statuses that say a close frame never came: the attempt or the link failed below the protocol. */
const ABNORMAL_CLOSES = new Set([1005, 1006, 1015])

/** How the next attempt is timed (by default: the backoff of the current attempt count). */
export interface ReconnectHow {
  /** Exactly this delay, no backoff. */
  delayMs?: number
  /** Jittered over the first backoff step, whatever the count. */
  isFirstStep?: boolean
  /** Steps further up the backoff than the count says. */
  extraSteps?: number
  /** At least this long (a Retry-After). */
  minDelayMs?: number
  /** false: the attempt does not count towards the backoff nor maxReconnectAttempts. */
  countsAsAttempt?: boolean
}

/** What to do after a loss or a failed attempt; `error` is what the client reports. */
export type ReconnectDecision =
  | { readonly action: 'stop', readonly error: RealtimeClientError }
  | { readonly action: 'retry', readonly error: RealtimeClientError, readonly how: ReconnectHow, readonly isFreshTokenRetry?: true }

export interface SocketClose {
  readonly code: number
  readonly reason: string
  /** The connection was open (connection.established) when it closed. */
  readonly wasOpen: boolean
  /** Why the client itself declared the socket dead (heartbeat or connect timeout). */
  readonly cause?: RealtimeClientError | undefined
}

/**
 * A socket closed. A code that forbids reconnecting stops; a lost open
 * connection retries; a failed attempt is `explain`: a browser sees 1006
 * for every refused upgrade, so the server is asked why (afterPreflight).
 */
export function afterClose (close: SocketClose): ReconnectDecision | { readonly action: 'explain', readonly error: RealtimeClientError } {
  const { code, reason, wasOpen, cause } = close
  if (!ABNORMAL_CLOSES.has(code) && !isReconnectable(code)) {
    return {
      action: 'stop',
      error: new RealtimeClientError(ClientErrorCode.closedByServer,
        `the server closed the connection with ${code}${reason === '' ? '' : ` (${reason})`}; not reconnecting`, { closeCode: code })
    }
  }
  const error = cause ?? new RealtimeClientError(ClientErrorCode.connectionLost,
    wasOpen ? `connection lost (${code}${reason === '' ? '' : `: ${reason}`})` : `connection attempt failed (${code})`, { closeCode: code })
  if (!wasOpen) return { action: 'explain', error }
  // 4001: the token expired; the next attempt asks the token function for a fresh one
  if (code === CloseCode.tokenExpired) return { action: 'retry', error, how: { delayMs: 0 } }
  // 1001: a planned restart, and this connection worked: come back soon, jittered over the first step
  if (code === CloseCode.goingAway) return { action: 'retry', error, how: { isFirstStep: true } }
  return { action: 'retry', error, how: {} }
}

/**
 * What the server said about a failed attempt. A refused token is retried
 * once at once when a token function can give a fresh one.
 */
export function afterPreflight (verdict: PreflightVerdict, error: RealtimeClientError, canRetryWithFreshToken: boolean): ReconnectDecision {
  const withStatus = (code: string, message: string, statusCode: number): RealtimeClientError =>
    new RealtimeClientError(code, message, { statusCode, cause: error })
  switch (verdict.kind) {
    case 'unauthorized':
      if (canRetryWithFreshToken) {
        return { action: 'retry', error: withStatus(ClientErrorCode.unauthorized, verdict.message, verdict.statusCode), how: { delayMs: 0, countsAsAttempt: false }, isFreshTokenRetry: true }
      }
      return { action: 'stop', error: withStatus(ClientErrorCode.unauthorized, `the server refused the token: ${verdict.message}`, verdict.statusCode) }
    case 'refused':
      return { action: 'stop', error: withStatus(ClientErrorCode.refused, `the server refused the connection (${verdict.statusCode}): ${verdict.message}`, verdict.statusCode) }
    case 'busy':
      // the server is full or rate-limiting handshakes: wait longer than for an ordinary failure
      return {
        action: 'retry',
        error: withStatus(ClientErrorCode.connectionLost, `the server is busy (${verdict.statusCode}): ${verdict.message}`, verdict.statusCode),
        how: { extraSteps: 2, ...(verdict.retryAfterMs === undefined ? {} : { minDelayMs: verdict.retryAfterMs }) }
      }
    case 'unreachable':
      // connection refused: the server is down or restarting, not overloaded; no reason to wait longer
      return {
        action: 'retry',
        error: new RealtimeClientError(ClientErrorCode.connectionLost, `the server is unreachable: ${messageOf(verdict.cause)}`, { cause: verdict.cause }),
        how: {}
      }
    default:
      return { action: 'retry', error, how: {} }
  }
}

/** The token function failed: a RealtimeClientError UNAUTHORIZED from it says "logged out: stop"; anything else is retried. */
export function afterTokenFailure (cause: unknown): ReconnectDecision {
  if (cause instanceof RealtimeClientError && cause.code === ClientErrorCode.unauthorized) return { action: 'stop', error: cause }
  // often: the token endpoint is down with the rest of the server
  return { action: 'retry', error: new RealtimeClientError(ClientErrorCode.tokenUnavailable, `could not get a token: ${messageOf(cause)}`, { cause }), how: {} }
}

export interface AttemptLimits {
  readonly reconnect: boolean
  readonly maxReconnectAttempts: number
  readonly backoff: BackoffOptions
}

/**
 * The delay before the next attempt and the attempt count after it, or
 * stop: reconnecting is off, or `attempt` failed attempts reached
 * maxReconnectAttempts. `random` is the backoff's jitter.
 */
export function nextAttempt (attempt: number, how: ReconnectHow, error: RealtimeClientError, limits: AttemptLimits, random: () => number):
  { readonly action: 'stop', readonly error: RealtimeClientError } | { readonly action: 'wait', readonly delayMs: number, readonly attempt: number } {
  if (!limits.reconnect) return { action: 'stop', error }
  if (attempt >= limits.maxReconnectAttempts) {
    return { action: 'stop', error: new RealtimeClientError(ClientErrorCode.reconnectFailed, `gave up after ${attempt} failed attempts: ${error.message}`, { cause: error }) }
  }
  const delayMs = how.delayMs ?? Math.max(
    backoffDelay(how.isFirstStep === true ? 0 : attempt + (how.extraSteps ?? 0), limits.backoff, random),
    how.minDelayMs ?? 0)
  return { action: 'wait', delayMs, attempt: how.countsAsAttempt === false ? attempt : attempt + 1 }
}

/** A connection that stayed open stableAfterMs resets the count: the next loss starts the backoff over. */
export function attemptAfterLoss (attempt: number, openedAt: number | undefined, nowMs: number, stableAfterMs: number): number {
  return openedAt !== undefined && nowMs - openedAt >= stableAfterMs ? 0 : attempt
}
