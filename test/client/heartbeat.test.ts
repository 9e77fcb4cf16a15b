import t from 'tap'
import { ClientErrorCode, ConnectionState } from '../../lib/client/index.js'
import { createClient, next, nextState, record, startProxy, startRealtime, token } from './support.js'

t.test('a half-open link (the proxy stops forwarding, sockets stay up) is noticed by the missing pong, then the client reconnects', async (t) => {
  // the server's own sweep is slow here: only the client's ping can notice
  const server = await startRealtime(t, { realtime: { heartbeatIntervalMs: 30_000, connectionTimeoutMs: 60_000 } })
  const proxy = await startProxy(t, server.port)
  const client = createClient(t, { url: `ws://127.0.0.1:${proxy.port}/ws`, token: token('kim'), pingIntervalMs: 50, pongTimeoutMs: 200 })
  const reconnects = record(client, 'reconnect')
  await client.connect()
  t.equal(await client.ping() >= 0, true, 'pings are answered while the link is healthy')
  await client.subscribe('review.updated')

  const stalledAt = Date.now()
  proxy.pause()
  const [scheduled] = await reconnects.next()
  const noticedAfterMs = Date.now() - stalledAt
  t.match(scheduled, { attempt: 1, error: { code: ClientErrorCode.heartbeatTimeout, closeCode: 4000 } })
  t.ok(noticedAfterMs < 2000, `noticed within ping interval + pong timeout (${noticedAfterMs} ms)`)

  // the proxy forwards new connections: the next attempt gets through
  const restored = next(client, 'subscription.confirmed')
  await nextState(client, ConnectionState.open)
  t.same((await restored)[0].subscriptions, ['review.updated'])
  t.equal(client.state, ConnectionState.open)
  t.equal(server.app.realtime.stats().connections, 2, 'the stalled connection lingers on the server until its own timeout')
})

t.test('the server\'s heartbeat_interval_ms paces the pings when no pingIntervalMs is given', async (t) => {
  const server = await startRealtime(t, { realtime: { heartbeatIntervalMs: 40, connectionTimeoutMs: 1000 } })
  const client = createClient(t, { url: server.url, token: token('lee') })
  const pongs = record(client, 'pong')
  const established = await client.connect()
  t.equal(established.heartbeat_interval_ms, 40)
  const [first] = await pongs.next()
  const [second] = await pongs.next()
  t.match(first, { pingId: /^hb/ })
  t.not(first.pingId, second.pingId)
  t.equal(client.state, ConnectionState.open, 'answered pings keep the connection')
})

t.test('a heartbeat ping refused by the rate limiter still proves the link alive: no spurious reconnect', async (t) => {
  // the server answers a rate-limited connection at most once a second (and once more on its sweep tick for
  // what it dropped unread in between): a pong timeout of a few seconds always sees a frame come back
  const server = await startRealtime(t, { realtime: { rateLimit: { max: 1, windowMs: 60_000, floodFactor: 100 }, heartbeatIntervalMs: 100, connectionTimeoutMs: 60_000 } })
  const client = createClient(t, { url: server.url, token: token('mo'), pingIntervalMs: 200, pongTimeoutMs: 3000 })
  const errors = record(client, 'error')
  const reconnects = record(client, 'reconnect')
  await client.connect()
  for (let i = 0; i < 4; i++) t.match((await errors.next(5000))[0], { code: 'RATE_LIMIT_EXCEEDED' })
  t.equal(reconnects.all.length, 0)
  t.equal(client.state, ConnectionState.open)
})
