import t from 'tap'
import Fastify from 'fastify'
import fastifyWebsocket from '@fastify/websocket'
import realtime from '../lib/index.js'
import { startServer, SECRET, signToken } from './helpers/server.js'
import { openSocket, refusalOf } from './helpers/client.js'

t.test('app.close() closes every client with 1001 and leaves no sockets behind', async (t) => {
  const server = await startServer(t)
  const clients = await Promise.all(['a', 'b', 'c', 'a'].map(user => server.connect(user)))
  await server.app.close()
  const closes = await Promise.all(clients.map(client => client.closed))
  t.same(closes.map(c => c.code), [1001, 1001, 1001, 1001])
  t.equal(server.app.websocketServer.clients.size, 0)
  t.equal(server.app.realtime.stats().connections, 0)
})

t.test('a client that never answers the close is cut off, so close() still ends', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('stubborn')
  // stop reading: the close frame is never answered
  ;(client.ws as unknown as { _socket: import('node:net').Socket })._socket.pause()
  const started = Date.now()
  await server.app.close()
  t.ok(Date.now() - started < 5000)
  t.equal(server.app.websocketServer.clients.size, 0)
})

t.test('no handshake is accepted while closing: one still in progress when close() begins is refused during the drain', async (t) => {
  let entered = (): void => {}
  let release = (): void => {}
  const reachedHook = new Promise<void>(resolve => { entered = resolve })
  const released = new Promise<void>(resolve => { release = resolve })
  const server = await startServer(t, {
    realtime: { authenticate: async (payload) => { if (payload.sub === 'late') { entered(); await released } return true } }
  })
  // a client that stops reading never answers the close: the drain runs its full grace
  const stubborn = await server.connect('stubborn')
  ;(stubborn.ws as unknown as { _socket: import('node:net').Socket })._socket.pause()
  const witness = await server.connect('witness')
  const late = refusalOf(openSocket(`${server.wsUrl}/${server.token('late')}`))
  await reachedHook
  let isClosed = false
  const closing = server.app.close().then(() => { isClosed = true })
  t.equal((await witness.closed).code, 1001, 'close() has begun')
  release()
  const refused = await late
  t.equal(refused.statusCode, 503)
  t.match(refused.body, { code: 'FST_REALTIME_SERVER_CLOSING' })
  t.notOk(isClosed, 'refused while close() was still draining, not after it')
  await closing
})

t.test('with the host\'s own @fastify/websocket registered first, clients still get 1001', async (t) => {
  const app = Fastify()
  await app.register(fastifyWebsocket, { options: { maxPayload: 1024 } })
  await app.register(realtime, { jwt: SECRET })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as import('node:net').AddressInfo
  const client = await openSocket(`ws://127.0.0.1:${port}/ws/${signToken({ sub: 'u' })}`)
  await client.next('connection.established')
  await app.close()
  t.same(await client.closed, { code: 1001, reason: 'server shutting down' })
})
