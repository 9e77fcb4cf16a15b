import { tracingChannel } from 'node:diagnostics_channel'
import type { FastifyRequest } from 'fastify'
import type { DeliveryTarget } from '../adapters/adapter.js'

/**
 * node:diagnostics_channel tracing channels, so OpenTelemetry or any tracer
 * can follow handshakes, messages and deliveries without this package
 * depending on one. Each is a TracingChannel: subscribe to
 * `tracing:fastify-realtime:<name>:start|end|asyncStart|asyncEnd|error`
 * or with `diagnostics_channel.tracingChannel('fastify-realtime:<name>').subscribe({...})`.
 * Every call site checks `hasSubscribers` first: with nobody listening they cost one property read.
 */

/** A handshake: from the plugin's checks starting to their outcome (admitted: the upgrade follows; or refused). */
export interface HandshakeTraceContext {
  /** The upgrade request. Its headers may carry a traceparent, and the token: never record them whole. */
  readonly request: FastifyRequest
  /** Set when the checks passed. */
  userId?: string
  /** Set when the handshake was refused: the FST_REALTIME_* error, with its `code` and `statusCode`. */
  error?: Error
}

/** A client message, around its handler (a declared type only: undecodable frames never reach one). */
export interface MessageTraceContext {
  readonly connectionId: string
  readonly userId: string
  readonly type: string
  /** The client's message id, when it sent one. */
  readonly requestId: string | undefined
  /** What the handler threw or its promise rejected with. */
  error?: unknown
  result?: unknown
}

/** An app.realtime delivery: encode, local fan-out (sync), then the publish to other nodes (async). */
export interface DeliveryTraceContext {
  readonly target: DeliveryTarget
  readonly type: string
  /** Connections on this node the message was written to, once the delivery settled. */
  result?: number
  error?: unknown
}

export const CHANNEL_NAMES = {
  handshake: 'fastify-realtime:handshake',
  message: 'fastify-realtime:message',
  delivery: 'fastify-realtime:delivery'
} as const

export const handshakeChannel = tracingChannel<unknown, HandshakeTraceContext>(CHANNEL_NAMES.handshake)
export const messageChannel = tracingChannel<unknown, MessageTraceContext>(CHANNEL_NAMES.message)
export const deliveryChannel = tracingChannel<unknown, DeliveryTraceContext>(CHANNEL_NAMES.delivery)

type Handler<D, C> = (data: D, context: C) => void | Promise<void>

/**
 * Runs a message handler inside the message channel's start/end (so a
 * tracer's async context is the handler's); an async handler's settling
 * publishes asyncStart/asyncEnd. Returns what the handler returned, for the
 * node's own error handling.
 */
export function traceHandler<D, C> (handler: Handler<D, C>, data: D, context: C, trace: MessageTraceContext): void | Promise<void> {
  const result = messageChannel.traceSync(handler, trace, undefined, data, context)
  if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
    (result as Promise<void>).then(() => settled(trace), (err: unknown) => {
      trace.error = err
      messageChannel.error.publish(trace)
      settled(trace)
    })
  }
  return result
}

function settled (trace: MessageTraceContext): void {
  messageChannel.asyncStart.publish(trace)
  messageChannel.asyncEnd.publish(trace)
}
