import t from 'tap'
import { startServer } from './helpers/server.js'
import { openSocket, refusalOf as refusal } from './helpers/client.js'

t.test("a user's connection limit answers 429 before the upgrade; other users still connect", async (t) => {
  const server = await startServer(t, { realtime: { maxConnectionsPerUser: 2 } })
  await server.connect('alice')
  await server.connect('alice')
  const refused = await refusal(openSocket(`${server.wsUrl}/${server.token('alice')}`))
  t.equal(refused.statusCode, 429)
  t.match(refused.body, { code: 'FST_REALTIME_USER_CONNECTION_LIMIT', message: String })
  t.equal(server.app.realtime.stats().connections, 2, 'nothing was allocated for the refused one')
  await server.connect('bob')
  t.equal(server.app.realtime.stats().users, 2)
})

t.test('a closed connection frees its slot', async (t) => {
  const server = await startServer(t, { realtime: { maxConnectionsPerUser: 1 } })
  const first = await server.connect('alice')
  await first.close()
  // the server forgets it on the socket's close, which follows the client's close promptly
  for (let i = 0; i < 100 && server.app.realtime.stats().connections > 0; i++) await new Promise(resolve => setImmediate(resolve))
  const again = await server.connect('alice')
  t.ok(again)
})

t.test('a full server answers 503', async (t) => {
  const server = await startServer(t, { realtime: { maxConnections: 2 } })
  await server.connect('a')
  await server.connect('b')
  const refused = await refusal(openSocket(`${server.wsUrl}/${server.token('c')}`))
  t.equal(refused.statusCode, 503)
  t.match(refused.body, { code: 'FST_REALTIME_SERVER_FULL' })
  t.equal(server.app.realtime.stats().connections, 2)
})

t.test('rate limit: RATE_LIMIT_EXCEEDED with retry_after in whole seconds, connection stays open', async (t) => {
  const server = await startServer(t, { realtime: { rateLimit: { max: 5, windowMs: 4000 } } })
  const client = await server.connect('chatty')
  for (let i = 0; i < 5; i++) {
    const pong = await client.request({ type: 'ping', data: { pingId: i } }, 'pong')
    t.equal(pong.data.pingId, i)
  }
  const error = await client.request({ type: 'ping', data: { pingId: 'one too many' } }, 'error')
  t.equal(error.data.code, 'RATE_LIMIT_EXCEEDED')
  t.ok(Number.isInteger(error.data.retry_after) && (error.data.retry_after as number) >= 1 && (error.data.retry_after as number) <= 8)
  t.equal(client.ws.readyState, client.ws.OPEN)
  t.equal(server.app.realtime.stats().rateLimited, 1)
})

t.test('the rate limit is per user: it spans the user\'s connections and spares other users', async (t) => {
  const server = await startServer(t, { realtime: { rateLimit: { max: 3, windowMs: 60000 } } })
  const one = await server.connect('alice')
  const two = await server.connect('alice')
  const other = await server.connect('bob')
  await one.request({ type: 'ping' }, 'pong')
  await two.request({ type: 'ping' }, 'pong')
  await one.request({ type: 'ping' }, 'pong')
  const limited = await two.request({ type: 'ping' }, 'error')
  t.equal(limited.data.code, 'RATE_LIMIT_EXCEEDED')
  const fine = await other.request({ type: 'ping', data: { pingId: 'b' } }, 'pong')
  t.equal(fine.data.pingId, 'b')
})
