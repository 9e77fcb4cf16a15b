import type { TSchema } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import { clientFrameSchema, serverFrameSchema } from './frames.js'
import { MESSAGE_SUMMARIES } from './summaries.js'
import type { AsyncApiMessage, MessageOrigin } from './types.js'

/** Component keys allow `[A-Za-z0-9_.-]`; a host's type may hold anything else. */
export class ComponentKeys {
  readonly #taken = new Set<string>()

  take (prefix: string, type: string): string {
    const base = `${prefix}.${type.replace(/[^\w.-]/g, '_')}`
    let key = base
    for (let n = 2; this.#taken.has(key); n++) key = `${base}_${n}`
    this.#taken.add(key)
    return key
  }
}

function summaryOf (type: string, data: TSchema): { summary?: string } {
  const own = typeof data.description === 'string' ? data.description : undefined
  const summary = own ?? MESSAGE_SUMMARIES[type]
  return summary === undefined ? {} : { summary }
}

/** A client message: the frame the router validates for `type`. */
export function clientMessage (type: string, data: TSchema, origin: MessageOrigin): AsyncApiMessage {
  return {
    name: type,
    title: type,
    ...summaryOf(type, data),
    contentType: 'application/json',
    payload: clientFrameSchema(type, data),
    correlationId: { location: '$message.payload#/id', description: 'Echoed as `data.request_id` by an error or a subscription confirmation answering it' },
    'x-fastify-realtime-direction': 'client-to-server',
    'x-fastify-realtime-origin': origin
  }
}

/** The replies that carry the client's id back as `data.request_id`. */
const ANSWERS_WITH_REQUEST_ID = new Set(['error', 'subscription.confirmed', 'unsubscription.confirmed'])

/**
 * A server message; `data` undefined for a host event declared only by name
 * in `events` (its data is the host's own). `subscribable` for events.
 */
export function serverMessage (type: string, data: TSchema | undefined, origin: MessageOrigin, subscribable?: boolean): AsyncApiMessage {
  const schema = data ?? Type.Unknown({ description: 'The host\'s own data: this event is declared by name only (events option)' })
  return {
    name: type,
    title: type,
    ...summaryOf(type, schema),
    contentType: 'application/json',
    payload: serverFrameSchema(type, schema),
    ...(ANSWERS_WITH_REQUEST_ID.has(type) ? { correlationId: { location: '$message.payload#/data/request_id' } } : {}),
    'x-fastify-realtime-direction': 'server-to-client',
    'x-fastify-realtime-origin': origin,
    ...(subscribable === undefined ? {} : { 'x-fastify-realtime-subscribable': subscribable })
  }
}
