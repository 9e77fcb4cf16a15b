import type { TSchema, Static } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import type { FastifyBaseLogger } from 'fastify'
import type { ConnectionInfo } from './connection.js'
import type { RealtimeEvents } from './protocol/server-messages.js'
import { WireError, type WireErrorCode } from './protocol/codes.js'
import type { RealtimeApi } from './realtime-api.js'
import { clipJsonString } from './bounded-text.js'
import { MAX_ERROR_TEXT_BYTES } from './error-frame.js'

/** A schema error's path names the client's own keys (additionalProperties, records): quote only this much of it. */
const MAX_PATH_BYTES = 128
/** A message type quoted in an error text. */
export const MAX_TYPE_BYTES = 64

/** What a message handler gets besides the message's data. */
export interface MessageContext {
  readonly connection: ConnectionInfo
  /** The client's `id` of the message being handled, if it sent one. */
  readonly requestId: string | undefined
  readonly log: FastifyBaseLogger
  readonly realtime: RealtimeApi
  /**
   * Sends a message to this connection only. Never throws, wherever it is
   * called from: a reply that cannot be sent (over maxMessageSize, data
   * JSON cannot encode) is logged with its coded error and the client gets
   * HANDLER_ERROR (with this message's request_id) instead.
   */
  reply<K extends keyof RealtimeEvents & string>(type: K, data: RealtimeEvents[K]): void
  reply (type: string, data: unknown): void
}

export type MessageHandler<T = unknown> = (data: T, context: MessageContext) => void | Promise<void>

interface Route {
  schema: TSchema
  check: TypeCheck<TSchema>
  handler: MessageHandler<never>
}

/** Outcome of decoding one frame, before it reaches a handler. */
export type Decoded =
  | { ok: true, route: Route, type: string, data: unknown, requestId: string | undefined }
  | { ok: false, code: WireErrorCode, message: string, requestId: string | undefined }

/**
 * Message type -> handler, each with its schema compiled once. Turns every
 * bad frame into a wire error code instead of an exception.
 */
export class MessageRouter {
  readonly #routes = new Map<string, Route>()

  add<T extends TSchema>(type: string, schema: T, handler: MessageHandler<Static<T>>): void {
    this.#routes.set(type, { schema, check: TypeCompiler.Compile(schema), handler: handler as MessageHandler<never> })
  }

  /** Each routed type with the data schema its frames are validated against, in the order added (the protocol reference lists them). */
  schemas (): Map<string, TSchema> {
    return new Map([...this.#routes].map(([type, route]) => [type, route.schema]))
  }

  /** The client's message id, for an error about a frame that is not decoded further (rate limited). */
  static requestIdOf (text: string): string | undefined {
    try {
      const message = JSON.parse(text) as { id?: unknown } | null
      return message !== null && typeof message === 'object' && typeof message.id === 'string' && message.id.length <= 128 ? message.id : undefined
    } catch {
      return undefined
    }
  }

  decode (text: string): Decoded {
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      return { ok: false, code: WireError.invalidJson, message: 'Message is not valid JSON', requestId: undefined }
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      return { ok: false, code: WireError.invalidJson, message: 'Message must be a JSON object', requestId: undefined }
    }
    const envelope = message as Record<string, unknown>
    const requestId = typeof envelope.id === 'string' && envelope.id.length <= 128 ? envelope.id : undefined
    const type = envelope.type
    if (typeof type !== 'string' || type.length === 0) {
      return { ok: false, code: WireError.invalidMessage, message: 'Message needs a string "type"', requestId }
    }
    // own properties only: a type such as "__proto__" or "constructor" must not find a route
    const route = this.#routes.get(type)
    if (route === undefined) {
      return { ok: false, code: WireError.invalidMessageType, message: clipJsonString(`Unknown message type: ${clipJsonString(type, MAX_TYPE_BYTES)}`, MAX_ERROR_TEXT_BYTES), requestId }
    }
    const data = envelope.data === undefined ? {} : envelope.data
    if (!route.check.Check(data)) {
      const first = route.check.Errors(data).First()
      const where = first === undefined || first.path === '' ? 'data' : `data${clipJsonString(first.path, MAX_PATH_BYTES).replaceAll('/', '.')}`
      /* c8 ignore next */ // a failed Check always yields a first error: the fallback is for the type only
      const message = `Invalid ${clipJsonString(type, MAX_TYPE_BYTES)} message: ${where} ${first?.message ?? 'is invalid'}`
      return { ok: false, code: WireError.invalidMessage, message: clipJsonString(message, MAX_ERROR_TEXT_BYTES), requestId }
    }
    return { ok: true, route, type, data, requestId }
  }
}
