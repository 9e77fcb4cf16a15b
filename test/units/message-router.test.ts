// decode() as a plain function: a frame's text in, a route or a wire error out.
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { MessageRouter, MAX_TYPE_BYTES } from '../../lib/message-router.js'
import { MAX_ERROR_TEXT_BYTES } from '../../lib/error-frame.js'

const jsonBytes = (text: string): number => Buffer.byteLength(JSON.stringify(text)) - 2

function router (): MessageRouter {
  const routed = new MessageRouter()
  routed.add('echo', Type.Object({ text: Type.String({ maxLength: 10 }), deep: Type.Optional(Type.Record(Type.String(), Type.Integer())) }, { additionalProperties: false }), () => {})
  routed.add('ping', Type.Object({ pingId: Type.Optional(Type.String()) }), () => {})
  return routed
}

t.test('a valid frame decodes to its route, type, data and request id', async (t) => {
  const decoded = router().decode(JSON.stringify({ type: 'echo', id: 'r1', data: { text: 'hi' } }))
  t.match(decoded, { ok: true, type: 'echo', data: { text: 'hi' }, requestId: 'r1' })
  t.ok(decoded.ok && typeof decoded.route.handler === 'function')
})

t.test('absent data is {} (checked against the schema like any data)', async (t) => {
  t.match(router().decode('{"type":"ping"}'), { ok: true, data: {}, requestId: undefined })
  t.match(router().decode('{"type":"echo"}'), { ok: false, code: 'INVALID_MESSAGE', message: /^Invalid echo message: data/ })
})

t.test('not JSON, or not an object: INVALID_JSON, no request id', async (t) => {
  for (const text of ['{', '', 'undefined']) t.match(router().decode(text), { ok: false, code: 'INVALID_JSON', message: 'Message is not valid JSON', requestId: undefined }, JSON.stringify(text))
  for (const text of ['null', '[]', '"echo"', '42', 'true']) t.match(router().decode(text), { ok: false, code: 'INVALID_JSON', message: 'Message must be a JSON object' }, text)
})

t.test('no string type: INVALID_MESSAGE, with the request id when there is one', async (t) => {
  for (const type of [undefined, '', 5, null, ['echo']]) {
    t.match(router().decode(JSON.stringify({ type, id: 'r2' })), { ok: false, code: 'INVALID_MESSAGE', message: 'Message needs a string "type"', requestId: 'r2' })
  }
})

t.test('an unknown type, prototype names included: INVALID_MESSAGE_TYPE, the type quoted within its bound', async (t) => {
  for (const type of ['nope', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    t.match(router().decode(JSON.stringify({ type })), { ok: false, code: 'INVALID_MESSAGE_TYPE', message: `Unknown message type: ${type}` })
  }
  const long = router().decode(JSON.stringify({ type: '"'.repeat(10_000) }))
  t.equal(long.ok, false)
  if (!long.ok) {
    t.ok(jsonBytes(long.message) <= MAX_ERROR_TEXT_BYTES, 'the whole text fits an error frame')
    t.ok(long.message.length - 'Unknown message type: '.length <= MAX_TYPE_BYTES, 'the type is clipped')
  }
})

t.test('data that fails the schema: INVALID_MESSAGE naming the first failing path, with dots, bounded', async (t) => {
  t.match(router().decode(JSON.stringify({ type: 'echo', data: { text: 'x'.repeat(11) } })), { ok: false, code: 'INVALID_MESSAGE', message: /^Invalid echo message: data\.text / })
  t.match(router().decode(JSON.stringify({ type: 'echo', data: 'text' })), { message: /^Invalid echo message: data / }, 'the root: "data"')
  const key = '\u0001'.repeat(5000)
  const deep = router().decode(JSON.stringify({ type: 'echo', id: 'r3', data: { text: 'ok', deep: { [key]: 'not an integer' } } }))
  t.match(deep, { ok: false, code: 'INVALID_MESSAGE', requestId: 'r3' })
  if (!deep.ok) t.ok(jsonBytes(deep.message) <= MAX_ERROR_TEXT_BYTES, 'a path of the client\'s own keys stays within the bound once escaped')
})

t.test('a request id is kept only as a string of at most 128 characters', async (t) => {
  t.equal(router().decode(JSON.stringify({ type: 'ping', id: 'x'.repeat(128) })).requestId, 'x'.repeat(128))
  t.equal(router().decode(JSON.stringify({ type: 'ping', id: 'x'.repeat(129) })).requestId, undefined)
  t.equal(router().decode(JSON.stringify({ type: 'ping', id: 7 })).requestId, undefined)
})

t.test('requestIdOf reads the id of a frame not decoded further, and never throws', async (t) => {
  t.equal(MessageRouter.requestIdOf('{"type":"x","id":"abc"}'), 'abc')
  t.equal(MessageRouter.requestIdOf(JSON.stringify({ id: 'y'.repeat(129) })), undefined)
  t.equal(MessageRouter.requestIdOf('{"id":5}'), undefined)
  t.equal(MessageRouter.requestIdOf('null'), undefined)
  t.equal(MessageRouter.requestIdOf('"id"'), undefined)
  t.equal(MessageRouter.requestIdOf('{'), undefined)
})

t.test('schemas() lists each routed type with its schema, in the order added', async (t) => {
  const routes = router()
  t.same([...routes.schemas().keys()], ['echo', 'ping'])
  routes.add('echo', Type.Object({}), () => {})
  t.same([...routes.schemas().keys()], ['echo', 'ping'], 'adding a type again replaces its route in place')
  t.match(routes.decode('{"type":"echo","data":{"anything":1}}'), { ok: true })
})
