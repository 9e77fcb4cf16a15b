import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import { defineMessage, resolveOptions } from '../../lib/index.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { openSocket, type Envelope, type TestClient } from '../helpers/client.js'

// The server's own replies never throw and never grow with the client's
// input: error texts quoting the client's keys are cut, every error frame
// fits maxMessageSize (down to its minimum), and a reply too big for it is
// answered with HANDLER_ERROR instead of an exception in a socket callback.

const MIN_MESSAGE_SIZE = 1024
/** An unpaired surrogate: what a cut through the middle of a character would leave. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Every frame the client receives, with its size on the wire. */
function recordSizes (client: TestClient): number[] {
  const sizes: number[] = []
  client.ws.on('message', (raw: Buffer) => sizes.push(raw.length))
  return sizes
}

async function stillServes (t: Test, client: TestClient, marker: string): Promise<void> {
  const pong = await client.request({ type: 'ping', data: { pingId: marker } }, 'pong')
  t.equal(pong.data.pingId, marker, 'the connection still works')
}

const strict = defineMessage({
  schema: Type.Object({ name: Type.String() }, { additionalProperties: false }),
  handler (_data, context) { context.reply('strict.ok', {}) }
})
const record = defineMessage({
  schema: Type.Object({ scores: Type.Record(Type.String(), Type.Number()) }),
  handler (_data, context) { context.reply('record.ok', {}) }
})

async function serverWithHostTypes (t: Test, maxMessageSize?: number): Promise<TestServer> {
  return startServer(t, {
    realtime: {
      ...(maxMessageSize === undefined ? {} : { maxMessageSize }),
      rateLimit: { max: 10_000 },
      messages: { strict, record }
    }
  })
}

t.test('a 33 KB unexpected key gets a short INVALID_MESSAGE, not a crash', async (t) => {
  const server = await serverWithHostTypes(t)
  const client = await server.connect('alice')
  const bystander = await server.connect('bob')
  const sizes = recordSizes(client)
  const keys = {
    ascii: 'k'.repeat(33 * 1024),
    quotes: '"'.repeat(16 * 1024), // 32 KB inbound, 2 bytes each again in a JSON reply
    control: '\u0001'.repeat(5400), // 6 bytes each as JSON both ways
    emoji: '😀'.repeat(8 * 1024), // a cut must fall between two characters
    tildes: '~'.repeat(33 * 1024) // a schema error path escapes each as ~0: a 33 KB frame, a 66 KB path
  }
  for (const [name, key] of Object.entries(keys)) {
    const additional = await client.request({ type: 'strict', id: `s-${name}`, data: { name: 'x', [key]: 1 } }, 'error')
    t.match(additional.data, { code: 'INVALID_MESSAGE', request_id: `s-${name}` }, `additionalProperties, ${name} key`)
    const inRecord = await client.request({ type: 'record', id: `r-${name}`, data: { scores: { [key]: 'not a number' } } }, 'error')
    t.match(inRecord.data, { code: 'INVALID_MESSAGE', request_id: `r-${name}` }, `record, ${name} key`)
    for (const error of [additional, inRecord]) {
      const message = error.data.message as string
      t.ok(Buffer.byteLength(JSON.stringify(message)) <= 258, `${name}: the text is at most 256 bytes as JSON (${Buffer.byteLength(JSON.stringify(message))})`)
      t.notOk(LONE_SURROGATE.test(message), `${name}: cut between two characters`)
    }
  }
  t.ok(Math.max(...sizes) < 1024, `every error frame stayed small (largest ${Math.max(...sizes)} bytes)`)
  await stillServes(t, client, 'alive')
  await stillServes(t, bystander, 'bystander')
})

t.test('maxMessageSize has a floor of 1024 bytes that fits every frame the plugin sends', async (t) => {
  t.throws(() => resolveOptions({ jwt: 's', maxMessageSize: MIN_MESSAGE_SIZE - 1 }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /maxMessageSize/ })
  t.equal(resolveOptions({ jwt: 's', maxMessageSize: MIN_MESSAGE_SIZE }).maxMessageSize, MIN_MESSAGE_SIZE)
})

t.test('at the smallest maxMessageSize, errors about long ids and keys still arrive, request id included', async (t) => {
  const server = await startServer(t, {
    realtime: {
      maxMessageSize: MIN_MESSAGE_SIZE,
      rateLimit: { max: 10_000 },
      messages: {
        strict,
        'throws.always': defineMessage({ schema: Type.Object({}), handler () { throw new Error('host failure') } })
      }
    }
  })
  const client = await server.connect('alice')
  const sizes = recordSizes(client)
  // the longest id the server echoes (128 characters), each 6 bytes in JSON
  const id = '\u0001'.repeat(128)
  const unknownType = '\u0002'.repeat(64)
  // each frame as big as the inbound limit allows, so that the reply (which quotes it) would not fit
  const cases: Array<{ send: { type: string, id: string, data?: unknown }, code: string }> = [
    { send: { type: '\u0002'.repeat(35), id }, code: 'INVALID_MESSAGE_TYPE' },
    { send: { type: 'strict', id, data: { name: 'x', ['\u0003'.repeat(25)]: 1 } }, code: 'INVALID_MESSAGE' },
    { send: { type: 'throws.always', id }, code: 'HANDLER_ERROR' },
    { send: { type: 'subscribe', id, data: { events: ['\u0004'.repeat(30)] } }, code: 'INVALID_EVENT' }
  ]
  for (const { send, code } of cases) {
    t.ok(Buffer.byteLength(JSON.stringify(send)) <= MIN_MESSAGE_SIZE, `the ${code} request fits maxMessageSize`)
    const error = await client.request(send, 'error')
    t.match(error.data, { code, request_id: id }, code)
    t.equal(typeof error.data.message, 'string')
  }
  t.equal(client.received.length, 0, 'nothing else was sent')
  t.ok(sizes.every(size => size <= MIN_MESSAGE_SIZE), `every frame fit maxMessageSize (largest ${Math.max(...sizes)})`)
  const ping = await client.request({ type: 'ping', id, data: { pingId: 'p'.repeat(128) } }, 'pong')
  t.equal(ping.data.pingId, 'p'.repeat(128), 'the longest pingId is echoed within the minimum')
})

t.test('INVALID_EVENT details are bounded', async (t) => {
  const server = await startServer(t, { realtime: { rateLimit: { max: 10_000 } } })
  const client = await server.connect('alice')
  const events = Array.from({ length: 100 }, (_, i) => `${'x'.repeat(120)}${i}`)
  const error = await client.request({ type: 'subscribe', id: 'many', data: { events } }, 'error')
  t.match(error.data, { code: 'INVALID_EVENT', request_id: 'many' })
  const details = error.data.details as string[]
  t.ok(details.length > 0 && details.length < events.length, `some refused events are named (${details.length})`)
  t.ok(Buffer.byteLength(JSON.stringify(details)) <= 300, 'details stay within their budget')
  t.ok(details.every(detail => events.some(event => event.startsWith(detail))), 'each detail is the start of a refused event')

  // 'a' then pairs: a cut at 64 code units would split one
  const split = await client.request({ type: 'subscribe', data: { events: ['a' + '😀'.repeat(40)] } }, 'error')
  t.notOk(LONE_SURROGATE.test(split.data.message as string), 'the text quotes the event cut between two characters')
  t.notOk((split.data.details as string[]).some(detail => LONE_SURROGATE.test(detail)), 'and so do the details')
})

t.test('a host reply too big for maxMessageSize, even sent outside the handler, is HANDLER_ERROR and a log line', async (t) => {
  const server = await startServer(t, {
    realtime: {
      maxMessageSize: MIN_MESSAGE_SIZE,
      messages: {
        // a reply sent later (a timer, an event): no handler promise to catch a throw
        'later.big': defineMessage({
          schema: Type.Object({}),
          handler (_data, context) { setImmediate(() => context.reply('later.big', { big: 'y'.repeat(5000) })) }
        }),
        'later.circular': defineMessage({
          schema: Type.Object({}),
          handler (_data, context) {
            const circular: Record<string, unknown> = {}
            circular.self = circular
            setImmediate(() => context.reply('later.circular', circular))
          }
        }),
        'now.big': defineMessage({
          schema: Type.Object({}),
          handler (_data, context) { context.reply('now.big', { big: 'y'.repeat(5000) }) }
        })
      }
    }
  })
  const client = await server.connect('alice')
  for (const [type, code] of [['later.big', 'FST_REALTIME_MESSAGE_TOO_LARGE'], ['later.circular', 'FST_REALTIME_MESSAGE_INVALID'], ['now.big', 'FST_REALTIME_MESSAGE_TOO_LARGE']] as const) {
    const error = await client.request({ type, id: type }, 'error')
    t.match(error.data, { code: 'HANDLER_ERROR', request_id: type, message: new RegExp(code) }, type)
  }
  const logs = server.logs.join('')
  t.match(logs, /reply not sent/)
  t.match(logs, /FST_REALTIME_MESSAGE_TOO_LARGE/)
  t.notMatch(logs, /yyyyyyyy/, 'the payload is not logged')
  await stillServes(t, client, 'alive')
})

t.test('a welcome that cannot fit maxMessageSize (a huge user id) closes 1008 instead of crashing', async (t) => {
  const server = await startServer(t, { realtime: { maxMessageSize: MIN_MESSAGE_SIZE } })
  const huge = await openSocket(`${server.wsUrl}/${server.token('u'.repeat(800))}`)
  t.teardown(() => huge.close())
  const closed = await huge.closed
  t.same(closed, { code: 1008, reason: 'user id too long' })
  t.equal(server.app.realtime.stats().connections, 0, 'it left no connection behind')
  t.match(server.logs.join(''), /welcome does not fit maxMessageSize/)
  // a user id that the minimum promises to fit
  const long = await server.connect('u'.repeat(600))
  const bystander = await server.connect('bob')
  await stillServes(t, long, 'long')
  await stillServes(t, bystander, 'bob')
  t.equal(server.app.realtime.stats().connections, 2)
})

t.test('error frames never carry more than the budgets, whatever the request', async (t) => {
  const server = await startServer(t, { realtime: { rateLimit: { max: 10_000 }, messages: { strict } } })
  const client = await server.connect('alice')
  const replies: Envelope[] = []
  const keys = ['a'.repeat(300), 'é'.repeat(300), '\\'.repeat(300), '\u2028'.repeat(300)]
  for (const key of keys) replies.push(await client.request({ type: 'strict', data: { name: 'x', [key]: 1 } }, 'error'))
  for (const reply of replies) {
    const message = reply.data.message as string
    t.ok(Buffer.byteLength(JSON.stringify(message)) - 2 <= 256, `at most 256 bytes: ${Buffer.byteLength(JSON.stringify(message)) - 2}`)
    t.match(message, /^Invalid strict message: data\./)
  }
})
