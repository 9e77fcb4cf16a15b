import { randomUUID } from 'node:crypto'
import build from 'fast-json-stringify'
import type { TSchema } from '@sinclair/typebox'
import { HeartbeatAckSchema, PongSchema, SERVER_MESSAGE_SCHEMAS } from './server-messages.js'
import { isoNow } from '../timestamp.js'

/** The part of a JSON schema fast-json-stringify reads. */
export type SerializerSchema = Record<string, unknown>

/**
 * A server message's data schema as fast-json-stringify should compile it:
 * objects with their properties and required keys, plain types, and
 * everything else (a union such as pingId's string | number | null, a
 * record, unknown) left untyped, which fast-json-stringify writes with
 * JSON.stringify: for a union it would otherwise run a validator on every
 * value to pick the branch. `format` is dropped (the server's timestamps are
 * ISO text already; fast-json-stringify would only re-check them).
 */
export function serializerSchema (schema: TSchema): SerializerSchema {
  if (schema.type === 'object' && schema.properties !== undefined) {
    const properties: Record<string, SerializerSchema> = {}
    for (const [key, property] of Object.entries(schema.properties as Record<string, TSchema>)) properties[key] = serializerSchema(property)
    return { type: 'object', properties, required: schema.required ?? [] }
  }
  if (schema.type === 'string' || schema.type === 'number' || schema.type === 'integer' || schema.type === 'boolean') return { type: schema.type }
  return {}
}

type Serialize<T> = (data: T) => string

/** Compiled once per process from the message's TypeBox schema. */
function compile<T> (schema: TSchema): Serialize<T> {
  return build(serializerSchema(schema)) as Serialize<T>
}

/**
 * The data of a pong, as handlers/ping.ts builds it. Its shape is closed and
 * known, so its envelope writes it with the serializer compiled from
 * PongSchema. A host's data of any shape (even under the type `pong`) is a
 * plain value, written by JSON.stringify: only this class takes the
 * compiled path, which would drop unknown keys or coerce mistyped ones.
 */
export class PongData {
  readonly timestamp: string
  declare readonly pingId?: string | number | null

  constructor (timestamp: string, pingId: string | number | null | undefined) {
    this.timestamp = timestamp
    if (pingId !== undefined) this.pingId = pingId
  }
}

/** The data of a heartbeat.ack, as handlers/heartbeat.ts builds it (see PongData). */
export class HeartbeatAckData {
  readonly timestamp: string

  constructor (timestamp: string) {
    this.timestamp = timestamp
  }
}

/**
 * Data whose JSON the server wrote itself (connection.established's, from a
 * template: most of it is the same for every connection of a node). The
 * envelope takes the text as it is.
 */
export class JsonText {
  readonly json: string

  constructor (json: string) {
    this.json = json
  }
}

const serializePong = compile<PongData>(PongSchema)
const serializeHeartbeatAck = compile<HeartbeatAckData>(HeartbeatAckSchema)

/** `{"type":"<type>"` of every protocol message type, escaped once. */
const TYPE_HEADS = new Map(Object.keys(SERVER_MESSAGE_SCHEMAS).map((type) => [type, `{"type":${JSON.stringify(type)}`]))

/** `{"data":` */
const DATA_KEY_LENGTH = 8

/** The data's JSON, or undefined where JSON.stringify writes nothing (a function, a symbol, a toJSON giving undefined). */
function dataText (data: unknown): string | undefined {
  if (data instanceof PongData) return serializePong(data)
  if (data instanceof HeartbeatAckData) return serializeHeartbeatAck(data)
  if (data instanceof JsonText) return data.json
  if (data === undefined || data === null) return '{}'
  // JSON.stringify hands toJSON its key, which was 'data' in the envelope: keep it for a toJSON that reads it
  if (typeof (data as { toJSON?: unknown }).toJSON === 'function') {
    const wrapped = JSON.stringify({ data })
    return wrapped.length === 2 ? undefined : wrapped.slice(DATA_KEY_LENGTH, -1)
  }
  return JSON.stringify(data)
}

/**
 * One server message as JSON text, stamped now (`timestamp`, reused within
 * a millisecond) with a fresh UUID `id`: the same bytes as
 * `JSON.stringify({ type, data: data ?? {}, timestamp, id, channel })`,
 * written without building that object. The envelope is a template: the
 * timestamp is ISO text and the id a UUID, so neither needs escaping, and
 * each protocol type's head is escaped once; measured faster than an
 * envelope compiled by fast-json-stringify, which reads the object back.
 * Data that JSON.stringify cannot write (a cycle, a BigInt) throws its
 * TypeError, as JSON.stringify of the whole envelope did.
 */
export function serializeEnvelope (type: string, data: unknown, channel: string | undefined): string {
  const head = TYPE_HEADS.get(type) ?? `{"type":${JSON.stringify(type)}`
  const body = dataText(data)
  // without a data key when JSON.stringify would have left it out of the envelope
  const text = `${body === undefined ? head : `${head},"data":${body}`},"timestamp":"${isoNow()}","id":"${randomUUID()}"`
  return channel === undefined ? `${text}}` : `${text},"channel":${JSON.stringify(channel)}}`
}
