import t from 'tap'
import Fastify from 'fastify'
import fastifyWebsocket from '@fastify/websocket'
import realtime from '../lib/index.js'
import { connect } from '../lib/testing/index.js'
import { startServer, SECRET } from './helpers/server.js'

t.test('app.close() closes every client with 1001 and leaves no sockets behind', async (t) => {
  const server = await startServer(t)
  const clients = await Promise.all(['a', 'b', 'c', 'a'].map(user => server.client(user)))
  await server.app.close()
  const closes = await Promise.all(clients.map(client => client.closed))
  t.same(closes.map(c => c.code), [1001, 1001, 1001, 1001])
  t.equal(server.app.websocketServer.clients.size, 0)
  t.equal(server.app.realtime.stats().connections, 0)
})

t.test('a client that never answers the close is cut off, so close() still ends', async (t) => {
  const server = await startServer(t)
  const client = await server.client('stubborn')
  // stop reading: the close frame is never answered
  client.pause()
  const started = Date.now()
  await server.app.close()
  t.ok(Date.now() - started < 5000)
  t.equal(server.app.websocketServer.clients.size, 0)
})

t.test('with the host\'s own @fastify/websocket registered first, clients still get 1001', async (t) => {
  const app = Fastify()
  await app.register(fastifyWebsocket, { options: { maxPayload: 1024 } })
  await app.register(realtime, { jwt: SECRET })
  t.teardown(() => app.close())
  const client = await connect(app, { userId: 'u' }, { secret: SECRET })
  await app.close()
  t.same(await client.closed, { code: 1001, reason: 'server shutting down' })
})
