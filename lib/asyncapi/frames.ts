import { Type, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ServerEnvelopeSchema } from '../protocol/server-messages.js'
import { CHANNEL_ID_PATTERN } from '../channels/names.js'
import type { JsonSchema } from './types.js'

/** TypeBox schemas are JSON Schema plus symbol keys: JSON drops the symbols. */
function toJsonSchema (schema: TSchema): JsonSchema {
  return JSON.parse(JSON.stringify(schema)) as JsonSchema
}

/**
 * The router reads a missing `data` as `{}`: `data` may be left out exactly
 * when the type's schema accepts an empty object. (A schema TypeBox cannot
 * check never gets here: the router's compile refused it at register.)
 */
function acceptsEmptyData (schema: TSchema): boolean {
  return Value.Check(schema, {})
}

/** A client frame of `type`, as the router reads it: the envelope around the type's data schema. */
export function clientFrameSchema (type: string, data: TSchema): JsonSchema {
  const id = Type.String({ description: 'The client\'s own id: answers to this message echo it as `request_id` when it is at most 128 characters' })
  const timestamp = Type.String({ description: 'The client\'s own; the server does not read it' })
  return toJsonSchema(Type.Object({
    type: Type.Literal(type),
    data: acceptsEmptyData(data) ? Type.Optional(data) : data,
    id: Type.Optional(id),
    timestamp: Type.Optional(timestamp)
  }))
}

/** A server frame of `type`: the very envelope schema the protocol exports. */
export function serverFrameSchema (type: string, data: TSchema): JsonSchema {
  return toJsonSchema(ServerEnvelopeSchema(type, data))
}

/** Any message published to a channel of `namespace`: any type, any data, `channel` always set. */
export function publishedFrameSchema (namespace: string): JsonSchema {
  return toJsonSchema(Type.Object({
    type: Type.String({ description: 'Whatever type the host published (app.realtime.publish)' }),
    data: Type.Unknown(),
    timestamp: Type.String({ format: 'date-time' }),
    id: Type.String(),
    channel: Type.String({ pattern: `^${namespace}:${CHANNEL_ID_PATTERN.source.slice(1, -1)}$`, description: 'The channel it was published to' })
  }))
}
