import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { HeartbeatAckData, PongData, serializeEnvelope, serializerSchema } from '../lib/protocol/serializers.js'
import { SERVER_MESSAGE_SCHEMAS } from '../lib/protocol/server-messages.js'
import { PresenceSchemas } from '../lib/protocol/presence-messages.js'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** Strings JSON must escape (or must not): quotes, backslashes, controls, line separators, non-ASCII, lone surrogates, markup. */
const TRICKY = [
  '', 'plain', 'say "hi"', 'back\\slash', 'line\nbreak\ttab\r', '\u0000\u0001\u001f\u007f', '\u2028\u2029',
  'é ü ß 中文', '😀 pair', 'lone \uD800 high', 'lone \uDC00 low', 'reversed \uDC00\uD800', '</script><script>alert(1)</script>',
  'x'.repeat(100) + '"' + '\uD83D'
]

/**
 * What the envelope was before this serializer (lib/delivery.ts built it so):
 * the text to compare with byte for byte, using the timestamp and id the
 * serializer chose.
 */
function reference (type: string, data: unknown, channel: string | undefined, text: string): string {
  const { timestamp, id } = JSON.parse(text) as { timestamp: string, id: string }
  const envelope = { type, data: data ?? {}, timestamp, id }
  return JSON.stringify(channel === undefined ? envelope : { ...envelope, channel })
}

/** A test name with every character outside printable ASCII escaped (a raw U+2028 would break the TAP stream). */
function label (value: unknown): string {
  return String(JSON.stringify(value)).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function checkSame (t: Test, type: string, data: unknown, channel?: string): void {
  const text = serializeEnvelope(type, data, channel)
  t.equal(text, reference(type, data, channel, text), `${label(type)} ${label(data)}${channel === undefined ? '' : ` in ${label(channel)}`}`)
  const parsed = JSON.parse(text) as { timestamp: string, id: string }
  t.match(parsed.timestamp, ISO)
  t.match(parsed.id, UUID)
}

t.test('every server message type: the same bytes as JSON.stringify of the envelope, with and without channel', async (t) => {
  const schemas = { ...SERVER_MESSAGE_SCHEMAS, ...PresenceSchemas }
  for (const [type, schema] of Object.entries(schemas)) {
    const data = Value.Create(schema) as Record<string, unknown>
    checkSame(t, type, data)
    checkSame(t, type, data, 'room:1')
    // host data under a protocol type: extra keys, other key orders, wrong types all kept as JSON.stringify writes them
    checkSame(t, type, { extra: TRICKY, ...data, nested: { deep: [1, null, true, { x: 'y' }] }, n: 1.5 })
  }
  checkSame(t, 'host.event', { any: 'shape' })
  checkSame(t, 'presence.state', { users: [] })
})

t.test('strings that need escaping, in data, type and channel', async (t) => {
  for (const s of TRICKY) {
    checkSame(t, 'system.notification', { message: s, level: 'info', [s]: s })
    checkSame(t, 'x', s)
    checkSame(t, s === '' ? 'x' : s, { s })
    checkSame(t, 'x', { s }, s)
  }
})

t.test('pong and heartbeat.ack data written by their compiled serializers: the same bytes as their plain objects', async (t) => {
  const timestamp = new Date().toISOString()
  for (const pingId of [...TRICKY, 0, -1.5, 1e21, Number.MAX_SAFE_INTEGER, null, undefined]) {
    const pong = new PongData(timestamp, pingId)
    const plain = pingId === undefined ? { timestamp } : { timestamp, pingId }
    const text = serializeEnvelope('pong', pong, undefined)
    t.equal(text, reference('pong', plain, undefined, text), `pingId ${label(pingId)}`)
    t.same(JSON.parse(text).data, plain)
  }
  t.notOk('pingId' in new PongData(timestamp, undefined), 'no pingId key without a pingId')
  const ack = serializeEnvelope('heartbeat.ack', new HeartbeatAckData(timestamp), undefined)
  t.equal(ack, reference('heartbeat.ack', { timestamp }, undefined, ack))
  // the compiled path is taken only for the class, whatever the type: a plain pong of a host keeps its own keys
  checkSame(t, 'pong', { timestamp, pingId: 1, extra: true })
  const underOtherType = serializeEnvelope('host.event', new PongData(timestamp, 'p'), undefined)
  t.equal(underOtherType, reference('host.event', { timestamp, pingId: 'p' }, undefined, underOtherType))
})

t.test('values JSON.stringify treats specially behave as in the whole envelope', async (t) => {
  for (const data of [undefined, null, 0, NaN, Infinity, -0, true, 'text', [], [undefined, () => 1, Symbol('s')], new Date(0), { a: undefined, b: () => 1 }, Object.create(null)]) {
    checkSame(t, 'x', data)
  }
  // nothing JSON can write: no data key at all, as JSON.stringify left it out of the envelope
  for (const data of [() => 1, Symbol('s'), { toJSON: () => undefined }]) {
    const text = serializeEnvelope('x', data, undefined)
    t.equal(text, reference('x', data, undefined, text))
    t.notOk('data' in JSON.parse(text))
  }
  // toJSON gets the key it had in the envelope
  const keyed = { toJSON: (key: string) => ({ key }) }
  const text = serializeEnvelope('x', keyed, 'c')
  t.equal(text, reference('x', keyed, 'c', text))
  t.same(JSON.parse(text).data, { key: 'data' })
})

t.test('a BigInt or a cycle throws the TypeError JSON.stringify of the envelope threw', async (t) => {
  const cyclic: Record<string, unknown> = { a: { b: 1 } }
  cyclic.self = cyclic
  const inner: Record<string, unknown> = { }
  inner.loop = { back: inner }
  for (const data of [{ n: 1n }, 1n, cyclic, { wrapped: inner }, [cyclic]]) {
    let expected: unknown
    try {
      JSON.stringify({ type: 'x', data, timestamp: 't', id: 'i' })
    } catch (err) {
      expected = err
    }
    t.throws(() => serializeEnvelope('x', data, undefined), { name: 'TypeError', message: (expected as Error).message })
  }
})

t.test('serializerSchema keeps objects and plain types and leaves the rest to JSON.stringify', async (t) => {
  t.same(serializerSchema(Type.Object({
    s: Type.String({ format: 'date-time' }),
    n: Type.Number(),
    i: Type.Integer(),
    b: Type.Boolean(),
    u: Type.Union([Type.String(), Type.Null()]),
    r: Type.Record(Type.String(), Type.Number()),
    o: Type.Optional(Type.Object({ x: Type.Unknown() }))
  })), {
    type: 'object',
    properties: {
      s: { type: 'string' },
      n: { type: 'number' },
      i: { type: 'integer' },
      b: { type: 'boolean' },
      u: {},
      r: {},
      o: { type: 'object', properties: { x: {} }, required: ['x'] }
    },
    required: ['s', 'n', 'i', 'b', 'u', 'r']
  })
  t.same(serializerSchema(Type.Object({ x: Type.Optional(Type.String()) })), { type: 'object', properties: { x: { type: 'string' } }, required: [] })
  t.same(serializerSchema(Type.Array(Type.String())), {})
})
