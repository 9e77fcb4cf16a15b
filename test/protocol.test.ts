import t from 'tap'
import { startServer } from './helpers/server.js'
import { messagesBeforeMarker, openSocket } from './helpers/client.js'
import { Type } from '@sinclair/typebox'
import { defineMessage } from '../lib/index.js'

t.test('first message is connection.established in the envelope', async (t) => {
  const server = await startServer(t)
  const client = await openSocket(`${server.wsUrl}/${server.token('42')}`)
  t.teardown(() => client.close())
  const welcome = await client.next('connection.established')
  t.match(welcome, {
    type: 'connection.established',
    data: { connection_id: String, user_id: '42', server_time: String, features: ['heartbeat', 'subscriptions', 'rate_limiting'] },
    timestamp: String,
    id: String
  })
  t.ok(!Number.isNaN(Date.parse(welcome.timestamp)), 'timestamp is ISO 8601')
  t.equal(new Date(welcome.timestamp).toISOString(), welcome.timestamp)
  t.ok(!Number.isNaN(Date.parse(welcome.data.server_time as string)))
})

t.test('ping is answered by pong echoing pingId; every message has a unique id', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('u1')
  const first = await client.request({ type: 'ping', data: { pingId: 'test-ping-123' } }, 'pong')
  t.equal(first.type, 'pong')
  t.equal(first.data.pingId, 'test-ping-123')
  t.ok(Date.parse(first.data.timestamp as string) > 0)
  const second = await client.request({ type: 'ping', data: {} }, 'pong')
  t.notOk('pingId' in second.data, 'no pingId when none was sent')
  t.not(first.id, second.id)
})

t.test('heartbeat is acknowledged; data may be left out', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('u1')
  const ack = await client.request({ type: 'heartbeat' }, 'heartbeat.ack')
  t.match(ack.data, { timestamp: String })
})

t.test('subscribe and unsubscribe are confirmed with the events', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('u1')
  const confirmed = await client.request({ type: 'subscribe', data: { events: ['upload.progress', 'system.notification'] } }, 'subscription.confirmed')
  t.same(confirmed.data.events, ['upload.progress', 'system.notification'])
  t.same([...(confirmed.data.subscriptions as string[])].sort(), ['system.notification', 'upload.progress'])
  const removed = await client.request({ type: 'unsubscribe', data: { events: ['upload.progress'] } }, 'unsubscription.confirmed')
  t.same(removed.data.events, ['upload.progress'])
  t.same(removed.data.subscriptions, ['system.notification'])
  t.same(server.app.realtime.stats().subscriptions, { 'system.notification': 1 })
})

t.test('bad frames get error codes and the connection stays open', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('u1')
  const cases: Array<[string, unknown, string]> = [
    ['not JSON', 'hello {', 'INVALID_JSON'],
    ['a JSON array', '[1,2]', 'INVALID_JSON'],
    ['a JSON number', '42', 'INVALID_JSON'],
    ['JSON null', 'null', 'INVALID_JSON'],
    ['no type', { data: {} }, 'INVALID_MESSAGE'],
    ['a numeric type', { type: 7 }, 'INVALID_MESSAGE'],
    ['subscribe without events', { type: 'subscribe', data: {} }, 'INVALID_MESSAGE'],
    ['subscribe with events not a list', { type: 'subscribe', data: { events: 'upload.progress' } }, 'INVALID_MESSAGE'],
    ['ping with an object pingId', { type: 'ping', data: { pingId: { a: 1 } } }, 'INVALID_MESSAGE'],
    ['an unknown type', { type: 'launch.missiles', data: {} }, 'INVALID_MESSAGE_TYPE'],
    ['a prototype key as type', { type: '__proto__', data: {} }, 'INVALID_MESSAGE_TYPE'],
    ['upload.cancel when the host did not register it', { type: 'upload.cancel', data: { upload_id: 'x' } }, 'INVALID_MESSAGE_TYPE']
  ]
  for (const [name, frame, code] of cases) {
    const reply = client.next('error')
    client.send(frame)
    const { data } = await reply
    t.equal(data.code, code, name)
    t.type(data.message, 'string')
  }
  const pong = await client.request({ type: 'ping', data: { pingId: 'still-here' } }, 'pong')
  t.equal(pong.data.pingId, 'still-here', 'the connection is still open and working')
})

t.test('errors carry the request id of the message they answer', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('u1')
  const error = await client.request({ type: 'nope', id: 'msg_123' }, 'error')
  t.equal(error.data.request_id, 'msg_123')
})

t.test('subscribing to an event that is not allowed subscribes to nothing', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('u1')
  const error = await client.request({ type: 'subscribe', data: { events: ['upload.progress', 'secret.admin.feed'] } }, 'error')
  t.equal(error.data.code, 'INVALID_EVENT')
  t.same(error.data.details, ['secret.admin.feed'])
  t.same(server.app.realtime.stats().subscriptions, {}, 'not even the valid event was subscribed')
  const delivered = await server.app.realtime.broadcastToSubscribers('upload.progress', {
    type: 'upload.progress', data: { upload_id: 'u', progress: 1, bytes_uploaded: 1, total_bytes: 100, timestamp: new Date().toISOString() }
  })
  t.equal(delivered, 0)
  t.same(await messagesBeforeMarker(client, server.app.realtime), [], 'the client got nothing')
})

t.test('the events option decides what can be subscribed to', async (t) => {
  const server = await startServer(t, { realtime: { events: ['orders.shipped'] } })
  const client = await server.connect('u1')
  const ok = await client.request({ type: 'subscribe', data: { events: ['orders.shipped'] } }, 'subscription.confirmed')
  t.same(ok.data.events, ['orders.shipped'])
  const error = await client.request({ type: 'subscribe', data: { events: ['upload.progress'] } }, 'error')
  t.equal(error.data.code, 'INVALID_EVENT')
})

t.test('confirmations and rate-limit errors carry the request id', async (t) => {
  const server = await startServer(t, { realtime: { rateLimit: { max: 2, windowMs: 60000 } } })
  const client = await server.connect('u1')
  const confirmed = await client.request({ type: 'subscribe', id: 'sub-1', data: { events: ['file.ready'] } }, 'subscription.confirmed')
  t.equal(confirmed.data.request_id, 'sub-1')
  const removed = await client.request({ type: 'unsubscribe', id: 'unsub-1', data: { events: ['file.ready'] } }, 'unsubscription.confirmed')
  t.equal(removed.data.request_id, 'unsub-1')
  const limited = await client.request({ type: 'ping', id: 'ping-3' }, 'error')
  t.match(limited.data, { code: 'RATE_LIMIT_EXCEEDED', request_id: 'ping-3' })
})

t.test('host message types: validated by their schema, handler errors answered with HANDLER_ERROR', async (t) => {
  const server = await startServer(t, {
    realtime: {
      maxMessageSize: 1024,
      messages: {
        'echo.upper': defineMessage({
          schema: Type.Object({ text: Type.String({ maxLength: 100 }) }),
          handler (data, context) { context.reply('echo.upper', { text: data.text.toUpperCase(), user: context.connection.userId }) }
        }),
        'throws.sync': defineMessage({ schema: Type.Object({}), handler () { throw new Error('sync failure') } }),
        'throws.async': defineMessage({ schema: Type.Object({}), async handler () { throw new Error('async failure') } }),
        'too.big.reply': defineMessage({ schema: Type.Object({}), handler (_data, context) { context.reply('x', { big: 'y'.repeat(5000) }) } })
      }
    }
  })
  const client = await server.connect('host-user')
  t.same((await client.request({ type: 'echo.upper', data: { text: 'hi' } }, 'echo.upper')).data, { text: 'HI', user: 'host-user' })
  t.equal((await client.request({ type: 'echo.upper', data: { text: 5 } }, 'error')).data.code, 'INVALID_MESSAGE')
  for (const type of ['throws.sync', 'throws.async', 'too.big.reply']) {
    const error = await client.request({ type, id: type }, 'error')
    t.match(error.data, { code: 'HANDLER_ERROR', request_id: type }, type)
  }
  t.match(server.logs.join(''), /message handler failed/)
  t.notMatch(server.logs.join(''), /yyyyyyyy/, 'payloads are not logged')
  t.equal((await client.request({ type: 'ping', data: { pingId: 'alive' } }, 'pong')).data.pingId, 'alive')
})
