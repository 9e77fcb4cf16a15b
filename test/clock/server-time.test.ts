// The server's time from the clock option: heartbeats, the rate limit, token
// expiry and presence grace over real sockets, moved by a manual clock
// instead of waited for. Every negative check is a request answered first.
import t from 'tap'
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance } from 'fastify'
import { startServer, signToken, SECRET } from '../helpers/server.js'
import { openSocket, type TestClient } from '../helpers/client.js'
import { Type } from '@sinclair/typebox'
import { defineMessage } from '../../lib/index.js'
import { cluster, manualClock } from '../../lib/testing/index.js'
import { receivedBeforeMarker, statusesIn, subscribedToStatus, type StatusChanged } from '../presence/support.js'

/** A heartbeat answered: the connection is open and the server read everything before it. */
async function isAlive (client: TestClient): Promise<boolean> {
  const ack = await client.request({ type: 'heartbeat' }, 'heartbeat.ack')
  return ack.type === 'heartbeat.ack'
}

t.test('heartbeat: a silent client is closed with 4000 once the clock passes connectionTimeoutMs, not before', async (t) => {
  const clock = manualClock()
  const server = await startServer(t, { realtime: { clock, heartbeatIntervalMs: 10000, connectionTimeoutMs: 30000 } })
  const client = await openSocket(`${server.wsUrl}/${server.token('silent')}`, { autoPong: false })
  t.teardown(() => client.close())
  await client.next('connection.established')
  const ping = new Promise<void>((resolve) => client.ws.once('ping', () => resolve()))
  clock.advance(29999)
  await ping
  t.pass('pinged once quiet for heartbeatIntervalMs')
  t.equal(server.app.realtime.stats().connections, 1, 'still there a millisecond before the timeout')
  clock.advance(1)
  const { code, reason } = await client.closed
  t.same({ code, reason }, { code: 4000, reason: 'connection timeout' })
  t.equal(server.app.realtime.stats().heartbeatTimeouts, 1)
})

t.test('rate limit: the window resets when the clock moves past it', async (t) => {
  const clock = manualClock()
  const server = await startServer(t, { realtime: { clock, rateLimit: { max: 3, windowMs: 10000 } } })
  const client = await server.connect('chatty')
  for (let i = 0; i < 3; i++) t.ok(await isAlive(client))
  const refused = await client.request<{ code: string, retry_after: number }>({ type: 'heartbeat' }, 'error')
  t.match(refused.data, { code: 'RATE_LIMIT_EXCEEDED', retry_after: 10 })
  clock.advance(9999)
  t.match((await client.request<{ code: string }>({ type: 'heartbeat' }, 'error')).data, { code: 'RATE_LIMIT_EXCEEDED' }, 'still limited just before the window ends')
  clock.advance(1)
  t.ok(await isAlive(client), 'accepted again once the window has passed')
})

t.test('token expiry: closed with 4001 once the clock passes exp (the plugin\'s own static key)', async (t) => {
  const clock = manualClock()
  const server = await startServer(t, { realtime: { clock, heartbeatIntervalMs: 100000, connectionTimeoutMs: 200000 } })
  const exp = Math.floor(clock.now() / 1000) + 60
  const client = await server.connect('short-lived', { exp })
  clock.advance(exp * 1000 - clock.now() - 1)
  t.ok(await isAlive(client), 'open before exp')
  // expiry is checked on the sweep's tick (at most a second apart): one tick past exp
  clock.advance(1000)
  const { code, reason } = await client.closed
  t.same({ code, reason }, { code: 4001, reason: 'token expired' })
})

t.test('token expiry at the handshake follows the clock: a token expired in real time is valid an hour earlier', async (t) => {
  const hourAgo = Date.now() - 3600_000
  const expiredNow = { exp: Math.floor(Date.now() / 1000) - 60 }
  const variants = {
    'own static key': {},
    'own key function': { jwt: { secret: async () => SECRET, verify: { algorithms: ['HS256' as const] } } },
    'host @fastify/jwt': { before: async (app: FastifyInstance) => { await app.register(fastifyJwt, { secret: SECRET }) } }
  }
  for (const [name, variant] of Object.entries(variants)) {
    const clock = manualClock(hourAgo)
    const realtime = { clock, heartbeatIntervalMs: 3_000_000, connectionTimeoutMs: 4_000_000, ...('jwt' in variant ? variant : {}) }
    const server = await startServer(t, { realtime, ...('before' in variant ? variant : {}) })
    const client = await server.connect(`user-${name.replaceAll(' ', '-')}`, expiredNow)
    t.ok(await isAlive(client), `${name}: accepted, as it is not expired on the server's clock`)
    clock.advance(expiredNow.exp * 1000 - clock.now() + 1000)
    t.equal((await client.closed).code, 4001, `${name}: closed once the clock passes exp`)
  }
  const real = await startServer(t)
  t.match(await openSocket(`${real.wsUrl}/${signToken({ sub: 'late', ...expiredNow })}`).catch((err: unknown) => err), { message: /401/ }, 'the real clock refuses it')
})

t.test('presence: offline is announced when the clock passes the grace after the last close, not before', async (t) => {
  const clock = manualClock()
  const audience = (userId: string): 'all' | [] => userId === 'observer' ? [] : 'all'
  const server = await startServer(t, { realtime: { clock, presence: { offlineGraceMs: 5000, audience } } })
  const watcher = await subscribedToStatus(await server.connect('observer'))
  const bob = await server.connect('bob')
  t.match((await watcher.next<StatusChanged>('user.status_changed')).data, { user_id: 'bob', status: 'online' })
  const timers = clock.pendingTimers
  await bob.close()
  await clock.whenPending(timers + 1)
  clock.advance(4999)
  t.same(statusesIn(await receivedBeforeMarker(watcher, server, 'observer')), [], 'nothing within the grace')
  t.equal(await server.app.realtime.isOnline('bob'), true)
  clock.advance(1)
  t.match((await watcher.next<StatusChanged>('user.status_changed')).data, { user_id: 'bob', status: 'offline' })
  t.equal(await server.app.realtime.isOnline('bob'), false)
})

t.test('the kit\'s cluster() takes one clock for every node', async (t) => {
  const clock = manualClock()
  const nodes = await cluster(2, { clock, realtime: { heartbeatIntervalMs: 10000, connectionTimeoutMs: 20000 } })
  t.teardown(() => nodes.close())
  const [a, b] = await Promise.all([nodes.connect(0, { userId: 'a' }), nodes.connect(1, { userId: 'b' })])
  const closes = Promise.all([a.closed, b.closed])
  clock.advance(20000)
  // the kit's client answers pings itself, but no pong can arrive within one synchronous advance
  t.same((await closes).map(info => info.code), [4000, 4000])
})

t.test('without the option the real clock runs the server', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('now')
  const welcome = await server.app.realtime.connectionsOf('now')[0]
  t.ok(welcome !== undefined && Math.abs(welcome.connectedAt - Date.now()) < 60000, 'connectedAt is the real time')
  t.ok(await isAlive(client))
})

t.test('a handler\'s context sees the clock through ctx.realtime: uptime follows it', async (t) => {
  const clock = manualClock()
  const server = await startServer(t, {
    realtime: {
      clock,
      heartbeatIntervalMs: 100_000,
      connectionTimeoutMs: 200_000,
      messages: {
        'uptime.ask': defineMessage({
          schema: Type.Object({}),
          handler (_data, ctx) {
            ctx.log.debug('uptime asked')
            ctx.reply('uptime.is', { seconds: ctx.realtime.stats().uptimeSeconds })
          }
        })
      }
    }
  })
  const client = await server.connect('asker')
  t.same((await client.request<{ seconds: number }>({ type: 'uptime.ask' }, 'uptime.is')).data, { seconds: 0 })
  clock.advance(90_000)
  t.same((await client.request<{ seconds: number }>({ type: 'uptime.ask' }, 'uptime.is')).data, { seconds: 90 })
})
