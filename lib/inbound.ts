import type { RawData } from 'ws'
import type { Connection } from './connection.js'
import type { RealtimeClock } from './clock.js'
import { SlidingWindowRateLimiter, type RateLimiterOptions } from './rate-limiter.js'
import { FloodGuard, Verdict, type FloodGuardOptions } from './flood-guard.js'
import type { ErrorExtra } from './error-frame.js'
import { clipJsonString } from './bounded-text.js'
import { MessageRouter, MAX_TYPE_BYTES } from './message-router.js'
import type { Counters } from './stats.js'
import { CloseCode, WireError } from './protocol/codes.js'
import type { CoreContext } from './handlers/context.js'
import { messageChannel, traceHandler } from './observability/tracing.js'

export interface InboundDeps {
  rateLimit: RateLimiterOptions & FloodGuardOptions
  /** The limiter and flood guard are pure (they take `now`): this is where now comes from. */
  clock: RealtimeClock
  router: MessageRouter
  counters: Counters
  /** The context a handler gets for one message. */
  context (connection: Connection, requestId: string | undefined): CoreContext
  /** Sends an error frame (never throws). */
  sendError (connection: Connection, code: string, message: string, requestId: string | undefined, extra?: ErrorExtra): void
  /** The node forgets a connection it closed. */
  forget (connection: Connection): void
}

/**
 * What happens to a frame a client sent: binary refused, the rate limit and
 * flood guard, decoding (size, JSON, schema) and the router's dispatch to
 * its handler, and the error replies for each failure.
 */
export class Inbound {
  readonly #deps: InboundDeps
  readonly #limiter: SlidingWindowRateLimiter
  readonly #floodGuard: FloodGuard
  /** Connections that had refused messages dropped unread since their last answer (see FloodGuard.owedAnswer). */
  readonly #owedAnswer = new Set<Connection>()

  constructor (deps: InboundDeps) {
    this.#deps = deps
    this.#limiter = new SlidingWindowRateLimiter(deps.rateLimit)
    this.#floodGuard = new FloodGuard(this.#limiter, deps.rateLimit)
  }

  /** On the sweep tick: owed answers, and the limiter forgets keys out of their window. */
  afterSweep (now: number): void {
    this.#answerOwed(now)
    this.#limiter.prune(now)
  }

  /** Answers, on the sweep tick, connections whose refused messages were dropped unread in the last interval. */
  #answerOwed (now: number): void {
    for (const connection of this.#owedAnswer) {
      const refusals = connection.refusals
      if (!connection.isOpen || refusals === undefined || !refusals.isOwed) {
        this.#owedAnswer.delete(connection)
        continue
      }
      const retryAfterMs = this.#floodGuard.owedAnswer(refusals, now)
      if (retryAfterMs === undefined) continue
      this.#owedAnswer.delete(connection)
      this.#sendRateLimited(connection, undefined, retryAfterMs)
    }
  }

  onMessage (connection: Connection, data: RawData, isBinary: boolean): void {
    if (!connection.isOpen) return
    const now = this.#deps.clock.now()
    connection.lastSeenAt = now
    this.#deps.counters.messagesIn++
    if (isBinary) {
      connection.close(CloseCode.unsupportedData, 'binary frames are not supported')
      this.#deps.forget(connection)
      return
    }
    const verdict = this.#floodGuard.check(connection, connection.userId, now)
    if (verdict !== Verdict.accept) {
      this.#onRefused(connection, verdict, data, now)
      return
    }
    const decoded = this.#deps.router.decode(data.toString())
    this.#deps.counters.countMessage(decoded.ok ? decoded.type : undefined)
    if (!decoded.ok) {
      this.#deps.sendError(connection, decoded.code, decoded.message, decoded.requestId)
      return
    }
    const context = this.#deps.context(connection, decoded.requestId)
    try {
      const result = messageChannel.hasSubscribers
        ? traceHandler(decoded.route.handler, decoded.data as never, context, { connectionId: connection.id, userId: connection.userId, type: decoded.type, requestId: decoded.requestId })
        : decoded.route.handler(decoded.data as never, context)
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).catch((err: unknown) => this.#onHandlerError(connection, decoded.type, err, decoded.requestId))
      }
    } catch (err) {
      this.#onHandlerError(connection, decoded.type, err, decoded.requestId)
    }
  }

  /** A message over the rate limit: one parse and one answer per interval at most, a close for a flood. */
  #onRefused (connection: Connection, verdict: Verdict, data: RawData, now: number): void {
    this.#deps.counters.rateLimited++
    if (verdict === Verdict.answer) {
      const refusals = connection.refusals as NonNullable<Connection['refusals']>
      this.#sendRateLimited(connection, MessageRouter.requestIdOf(data.toString()), refusals.allowedAt - now)
    } else if (verdict === Verdict.drop) {
      this.#owedAnswer.add(connection)
    } else {
      connection.log.warn({ refused: connection.refusals?.refused }, 'closing connection: it kept sending past the rate limit')
      connection.close(CloseCode.rateLimitFlood, 'rate limit flood')
      this.#deps.forget(connection)
    }
  }

  #sendRateLimited (connection: Connection, requestId: string | undefined, retryAfterMs: number): void {
    this.#deps.sendError(connection, WireError.rateLimited, 'Too many messages. Please slow down.', requestId, { retry_after: Math.max(1, Math.ceil(retryAfterMs / 1000)) })
  }

  #onHandlerError (connection: Connection, type: string, err: unknown, requestId: string | undefined): void {
    connection.log.error({ err, messageType: type }, 'message handler failed')
    this.#deps.sendError(connection, WireError.handlerError, `Could not handle ${clipJsonString(type, MAX_TYPE_BYTES)} message`, requestId)
  }
}
