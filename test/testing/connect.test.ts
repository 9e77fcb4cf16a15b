import t from 'tap'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyJwt from '@fastify/jwt'
import realtime, { type RealtimeOptions } from '../../lib/index.js'
import {
  connect, type RealtimeTestClient,
  TestTimeoutError, TestConnectionClosedError, UnexpectedMessagesError, HandshakeRefusedError, ServerErrorReplyError, TestSetupError
} from '../../lib/testing/index.js'
import type { Teardown } from '../helpers/teardown.js'
import { notification } from '../helpers/messages.js'

const secret = 'a-test-secret-that-is-long-enough-for-hs256'

/** An app with the plugin that the kit will listen for (it is not listening yet). */
async function appWith (t: Teardown, options: RealtimeOptions & { prefix?: string } = {}): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(realtime, { jwt: secret, ...options })
  t.teardown(() => app.close())
  return app
}

t.test('connect signs a token for a user id, listens for the app and resolves once established', async (t) => {
  const app = await appWith(t)
  t.notOk(app.server.listening)
  const alice = await connect(app, { userId: 'alice' }, { secret })
  t.ok(app.server.listening, 'the kit made the app listen')
  t.equal(alice.userId, 'alice')
  t.equal(alice.connection.user_id, 'alice')
  t.ok(alice.isOpen)
  t.equal(app.realtime.getConnection(alice.connectionId)?.userId, 'alice', 'the server holds that connection')
  t.same(alice.queued, [], 'connection.established was taken')

  t.equal(await app.realtime.sendToUser('alice', notification('hi')), 1)
  const message = await alice.next('system.notification')
  t.equal(message.data.message, 'hi', 'typed: data is SystemNotification')
})

t.test('connect uses the address of an app that already listens', async (t) => {
  const app = await appWith(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const client = await connect(app, { userId: 'u' }, { secret })
  t.equal(client.userId, 'u')
})

t.test('many clients connecting at once share one listen', async (t) => {
  const app = await appWith(t, { maxConnectionsPerUser: 10 })
  const clients = await Promise.all(Array.from({ length: 5 }, () => connect(app, { userId: 'crowd' }, { secret })))
  t.equal(app.realtime.connectionsOf('crowd').length, clients.length)
})

t.test('next(type) takes the next message of that type and leaves the others queued, in order', async (t) => {
  const app = await appWith(t)
  const client = await connect(app, { userId: 'u' }, { secret })
  await app.realtime.sendToUser('u', notification('first'))
  await app.realtime.broadcastFileProcessingStatus('u', 'f1', 'ready')
  await app.realtime.sendToUser('u', notification('second'))
  t.equal((await client.next('file.ready')).data.file_id, 'f1')
  t.equal(client.queued.length, 2, 'the two notifications are still queued')
  t.match(await client.next(), { type: 'system.notification', data: { message: 'first' } })
  t.match(await client.next(), { type: 'system.notification', data: { message: 'second' } })
})

t.test('next rejects with a coded error on timeout and when the connection closes first', async (t) => {
  const app = await appWith(t)
  const client = await connect(app, { userId: 'u' }, { secret, timeoutMs: 50 })
  await t.rejects(client.next('review.updated'), { code: 'FST_REALTIME_TESTING_TIMEOUT' })
  const waiting = client.next('review.updated', { timeoutMs: 5000 })
  await app.realtime.disconnectUser('u', 'revoked')
  await t.rejects(waiting, { code: 'FST_REALTIME_TESTING_CLOSED', closeInfo: { code: 4500, reason: 'revoked' } })
  await t.rejects(client.next(), { code: 'FST_REALTIME_TESTING_CLOSED' }, 'and at once after the close')
})

t.test('expectNothing resolves on an idle connection and catches a message that was queued', async (t) => {
  const app = await appWith(t)
  const alice = await connect(app, { userId: 'alice' }, { secret })
  const bob = await connect(app, { userId: 'bob' }, { secret })
  await alice.expectNothing()

  await app.realtime.sendToUser('alice', notification('for alice only'))
  await bob.expectNothing()
  const caught = await alice.expectNothing().then(() => undefined, (err: unknown) => err)
  t.match(caught, { code: 'FST_REALTIME_TESTING_UNEXPECTED_MESSAGES', messages: [{ type: 'system.notification', data: { message: 'for alice only' } }] })
  await alice.expectNothing()
})

t.test('expectNothing counts a message that arrived before the call and is still queued', async (t) => {
  const app = await appWith(t)
  const client = await connect(app, { userId: 'u' }, { secret })
  await app.realtime.sendToUser('u', notification('unread'))
  await client.ping() // the notification is now in client.queued, not taken
  t.equal(client.queued.length, 1)
  await t.rejects(client.expectNothing(), { code: 'FST_REALTIME_TESTING_UNEXPECTED_MESSAGES' })
})

t.test('expectNothing({ until }) uses a marker of the test instead of a ping', async (t) => {
  const app = await appWith(t)
  const client = await connect(app, { userId: 'u' }, { secret })
  const isMarker = (message: { data: unknown }): boolean => (message.data as { message?: string }).message === 'marker'
  await app.realtime.sendToUser('u', notification('marker'))
  await client.expectNothing({ until: isMarker })
  await app.realtime.sendToUser('u', notification('unexpected'))
  await app.realtime.sendToUser('u', notification('marker'))
  await t.rejects(client.expectNothing({ until: isMarker }), { code: 'FST_REALTIME_TESTING_UNEXPECTED_MESSAGES', messages: [{ data: { message: 'unexpected' } }] })
})

t.test('subscribe resolves with the confirmation and rejects with the server error', async (t) => {
  const app = await appWith(t)
  const client = await connect(app, { userId: 'u' }, { secret })
  const confirmed = await client.subscribe(['review.updated'])
  t.same(confirmed.subscriptions, ['review.updated'])
  t.equal(await app.realtime.broadcastToSubscribers('review.updated', { type: 'review.updated', data: { review_id: 'r1', changes: {}, timestamp: '' } }), 1)
  t.equal((await client.next('review.updated')).data.review_id, 'r1')
  await t.rejects(client.subscribe(['no.such.event']), { code: 'FST_REALTIME_TESTING_ERROR_REPLY', wireCode: 'INVALID_EVENT', data: { details: ['no.such.event'] } })
  const removed = await client.unsubscribe(['review.updated'])
  t.same(removed.subscriptions, [])
  await client.expectNothing()
})

t.test('send and sendRaw reach the server as client messages', async (t) => {
  const app = await appWith(t)
  const client = await connect(app, { userId: 'u' }, { secret })
  client.send('ping', { pingId: 'mine' })
  t.match(await client.next('pong'), { data: { pingId: 'mine' } })
  client.sendRaw('{not json')
  t.match(await client.next('error'), { data: { code: 'INVALID_JSON' } })
})

t.test('close and closed report the code and reason; a server close is seen too', async (t) => {
  const app = await appWith(t, { maxConnectionsPerUser: 2 })
  const client = await connect(app, { userId: 'u' }, { secret })
  t.same(await client.close(1000, 'done'), { code: 1000, reason: 'done' })
  t.same(await client.close(), { code: 1000, reason: 'done' }, 'closing again answers how it closed')
  t.notOk(client.isOpen)
  const other = await connect(app, { userId: 'u' }, { secret })
  await app.realtime.disconnectUser('u', 'bye')
  t.same(await other.closed, { code: 4500, reason: 'bye' })
})

t.test('drop destroys the TCP socket: the server sees the connection end without a close frame', async (t) => {
  const app = await appWith(t)
  const client = await connect(app, { userId: 'u' }, { secret })
  const [serverSide] = [...app.websocketServer.clients]
  t.ok(serverSide)
  const serverSaw = once(serverSide as NonNullable<typeof serverSide>, 'close')
  t.equal((await client.drop()).code, 1006, 'the client saw no close frame')
  const [code] = await serverSaw as [number]
  t.equal(code, 1006, 'neither did the server')
  t.equal(app.realtime.stats().connections, 0)
})

t.test('a refused handshake rejects with the status and the JSON body', async (t) => {
  const app = await appWith(t, { maxConnectionsPerUser: 1 })
  await t.rejects(connect(app, { token: 'not-a-jwt' }), { code: 'FST_REALTIME_TESTING_REFUSED', statusCode: 401, body: { code: 'FST_REALTIME_UNAUTHORIZED' } })
  await connect(app, { userId: 'u' }, { secret })
  await t.rejects(connect(app, { userId: 'u' }, { secret }), { code: 'FST_REALTIME_TESTING_REFUSED', statusCode: 429, body: { code: 'FST_REALTIME_USER_CONNECTION_LIMIT' } })
  await t.rejects(connect(app, { userId: 'w' }, { secret: 'the-wrong-secret-the-wrong-secret' }), { code: 'FST_REALTIME_TESTING_REFUSED', statusCode: 401 })
})

t.test('claims go into the signed token', async (t) => {
  const app = await appWith(t, { clockToleranceMs: 0 })
  const expired = { exp: Math.floor(Date.now() / 1000) - 60 }
  await t.rejects(connect(app, { userId: 'u', claims: expired }, { secret }), { code: 'FST_REALTIME_TESTING_REFUSED', statusCode: 401 })
})

t.test('every token transport: the bearer subprotocol, the path and the Authorization header', async (t) => {
  const app = await appWith(t, { maxConnectionsPerUser: 3 })
  const clients: RealtimeTestClient[] = []
  for (const auth of ['protocol', 'path', 'header'] as const) clients.push(await connect(app, { userId: 'u' }, { secret, auth }))
  t.equal(app.realtime.connectionsOf('u').length, 3)
})

t.test('a prefixed endpoint needs its path; a wrong path fails with a setup error', async (t) => {
  const app = await appWith(t, { prefix: '/api/v1' })
  await t.rejects(connect(app, { userId: 'u' }, { secret }), { code: 'FST_REALTIME_TESTING_SETUP', message: /\/api\/v1\/ws/ })
  const client = await connect(app, { userId: 'u' }, { secret, path: '/api/v1/ws' })
  t.equal(client.userId, 'u')
})

t.test('without a secret, { userId } is signed with the host\'s @fastify/jwt, or refused with a setup error', async (t) => {
  const hostApp = Fastify()
  await hostApp.register(fastifyJwt, { secret: 'the-host-registered-jwt-with-this-secret' })
  await hostApp.register(realtime, {})
  t.teardown(() => hostApp.close())
  t.equal((await connect(hostApp, { userId: 'host-user' })).userId, 'host-user')

  const app = await appWith(t)
  await t.rejects(connect(app, { userId: 'u' }), { code: 'FST_REALTIME_TESTING_SETUP', message: /secret/ })
  const sign = (claims: Record<string, unknown>): string => hostApp.jwt.sign(claims)
  await t.rejects(connect(app, { userId: 'u' }, { sign }), { code: 'FST_REALTIME_TESTING_REFUSED', statusCode: 401 }, 'options.sign wins (here with another key)')
})

t.test('after pause and resume, what was sent meanwhile is read', async (t) => {
  const app = await appWith(t)
  const client = await connect(app, { userId: 'u' }, { secret })
  client.pause()
  await app.realtime.sendToUser('u', notification('while paused'))
  client.resume()
  t.match(await client.next('system.notification'), { data: { message: 'while paused' } })
})

t.test('connect reaches an app listening on 0.0.0.0, on IPv6 loopback, or on a unix socket', async (t) => {
  const listens = [{ host: '0.0.0.0', port: 0 }, { host: '::', port: 0 }, { host: '::1', port: 0 }, { path: join(tmpdir(), `realtime-kit-${process.pid}.sock`) }]
  for (const listen of listens) {
    // on a unix socket request.ip is undefined, which the handshake rate limit does not survive (see the todo below)
    const app = await appWith(t, 'path' in listen ? { handshakeRateLimit: false } : {})
    await app.listen(listen)
    const client = await connect(app, { userId: 'u' }, { secret })
    t.equal(client.userId, 'u', JSON.stringify(listen))
    await client.close()
    await app.close()
  }
})

t.test('an app on a unix socket accepts handshakes with the default handshakeRateLimit', {
  todo: 'plugin bug, outside the kit: @fastify/rate-limit\'s default key generator throws on request.ip undefined, so every upgrade is a 500'
}, async (t) => {
  const app = await appWith(t)
  await app.listen({ path: join(tmpdir(), `realtime-kit-limit-${process.pid}.sock`) })
  t.equal((await connect(app, { userId: 'u' }, { secret })).userId, 'u')
})

t.test('a refusal without the plugin\'s JSON body still says what came back', async (t) => {
  const app = Fastify()
  await app.register(realtime, { jwt: secret })
  t.teardown(() => app.close())
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers['x-answer'] === 'text') return reply.code(418).send('a teapot')
    if (request.headers['x-answer'] === 'message') return reply.code(403).send({ message: 'not you' })
  })
  await t.rejects(connect(app, { userId: 'u' }, { secret, headers: { 'x-answer': 'text' } }), { code: 'FST_REALTIME_TESTING_REFUSED', statusCode: 418, body: {}, message: /no JSON body/ })
  await t.rejects(connect(app, { userId: 'u' }, { secret, headers: { 'x-answer': 'message' } }), { code: 'FST_REALTIME_TESTING_REFUSED', statusCode: 403, message: /not you/ })
})

t.test('a frame that is not JSON is queued as such, never thrown in a socket callback', async (t) => {
  const app = await appWith(t)
  // a host WebSocket route of its own that misbehaves, reached through the kit's path option
  app.get('/raw', { websocket: true }, (socket) => {
    socket.send('not json')
    socket.send(JSON.stringify({ type: 'connection.established', data: { connection_id: 'c', user_id: 'raw' }, timestamp: '', id: '' }))
  })
  const client = await connect(app, { userId: 'u' }, { secret, path: '/raw' })
  t.equal(client.userId, 'raw')
  t.match(await client.next(), { type: '(invalid JSON)', data: 'not json' })
})

t.test('every rejection is an instance of its exported error class', async (t) => {
  const app = await appWith(t)
  const client = await connect(app, { userId: 'u' }, { secret, timeoutMs: 50 })
  const caught = async (promise: Promise<unknown>): Promise<unknown> => await promise.then(() => undefined, (err: unknown) => err)
  t.ok(await caught(client.next('review.updated')) instanceof TestTimeoutError)
  t.ok(await caught(client.subscribe(['no.such.event'])) instanceof ServerErrorReplyError)
  await app.realtime.sendToUser('u', notification('unexpected'))
  t.ok(await caught(client.expectNothing({ timeoutMs: 5000 })) instanceof UnexpectedMessagesError)
  t.ok(await caught(connect(app, { token: 'bad' })) instanceof HandshakeRefusedError)
  t.ok(await caught(connect(app, { userId: 'u' })) instanceof TestSetupError)
  await client.close()
  t.ok(await caught(client.next()) instanceof TestConnectionClosedError)
})
