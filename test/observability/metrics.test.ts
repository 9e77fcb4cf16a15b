import t from 'tap'
import { once } from 'node:events'
import { withoutModule } from '../helpers/missing-module.js'
import { Type } from '@sinclair/typebox'
import { Gauge, Registry } from 'prom-client'
import { defineMessage } from '../../lib/index.js'
import { openSocket, refusalOf } from '../helpers/client.js'
import { rawSocket } from '../hardening/support.js'
import { startServer } from '../helpers/server.js'
import { delta, scrapeUntil, serveMetrics, startMetricsServer, Scrape } from './support.js'
import { notification } from '../helpers/messages.js'

const P = 'realtime_'

t.test('handshake refusals are counted by reason', async (t) => {
  const server = await startMetricsServer(t, {
    realtime: {
      maxConnectionsPerUser: 1,
      maxConnections: 2,
      allowedOrigins: ['https://app.example'],
      handshakeRateLimit: { max: 9, timeWindowMs: 60000 }
    }
  })
  const before = await server.scrape()
  const refused = (name: string): number => delta(before, after, `${P}handshakes_refused_total`, { reason: name })
  t.equal(before.value(`${P}handshakes_refused_total`, { reason: 'unauthorized' }), 0, 'every reason is there at 0 before it happens')
  t.ok(before.samples.some(s => s.name === `${P}handshakes_refused_total` && s.labels.reason === 'handshake_rate_limited'))

  // attempts 1-3: unauthorized (bad token, no token, expired)
  await refusalOf(openSocket(`${server.wsUrl}/not-a-token`))
  await refusalOf(openSocket(server.wsUrl))
  await refusalOf(openSocket(`${server.wsUrl}/${server.token('late', { exp: 1 })}`))
  // 4: forbidden origin
  await refusalOf(openSocket(`${server.wsUrl}/${server.token('alice')}`, { origin: 'https://evil.example' }))
  // 5: accepted; 6: alice's second connection is over the per-user limit; 7: accepted
  await server.connect('alice')
  t.match(await refusalOf(openSocket(`${server.wsUrl}/${server.token('alice')}`)), { statusCode: 429 })
  await server.connect('bob')
  // 8: the server is full
  t.match(await refusalOf(openSocket(`${server.wsUrl}/${server.token('carol')}`)), { statusCode: 503 })
  // 9 was the last attempt the per-IP limit admits; 10 and 11 are refused by it
  await refusalOf(openSocket(`${server.wsUrl}/${server.token('dave')}`))
  t.match(await refusalOf(openSocket(`${server.wsUrl}/${server.token('erin')}`)), { statusCode: 429, body: { code: 'FST_REALTIME_HANDSHAKE_RATE_LIMITED' } })
  await refusalOf(openSocket(`${server.wsUrl}/${server.token('frank')}`))

  const after = await server.scrape()
  t.equal(refused('unauthorized'), 3)
  t.equal(refused('forbidden_origin'), 1)
  t.equal(refused('user_limit'), 1)
  t.equal(refused('server_full'), 2)
  t.equal(refused('handshake_rate_limited'), 2)
  t.equal(refused('overloaded'), 0)
  t.equal(delta(before, after, `${P}connections_opened_total`), 2)
  t.equal(server.app.realtime.stats().connectionsRejected, 9, 'stats count the per-IP refusals too')
  t.equal(delta(before, after, `${P}handshake_duration_seconds_count`, { result: 'accepted' }), 2, 'each admitted handshake timed once')
  t.equal(delta(before, after, `${P}handshake_duration_seconds_count`, { result: 'refused' }), 7, 'refusals by the plugin\'s checks timed (the per-IP limit answers before them)')
  t.equal(after.value(`${P}connections`), 2)
  t.equal(after.value(`${P}users`), 2)
})

t.test('a handshake that times out and an authenticate hook that refuses', async (t) => {
  const server = await startMetricsServer(t, {
    realtime: {
      handshakeTimeoutMs: 50,
      authenticate: (payload) => payload.sub === 'slow' ? new Promise<never>(() => {}) : payload.sub !== 'banned'
    }
  })
  const before = await server.scrape()
  t.match(await refusalOf(openSocket(`${server.wsUrl}/${server.token('slow')}`)), { statusCode: 503 })
  t.match(await refusalOf(openSocket(`${server.wsUrl}/${server.token('banned')}`)), { statusCode: 401 })
  await server.connect('fine')
  const after = await server.scrape()
  t.equal(delta(before, after, `${P}handshakes_refused_total`, { reason: 'handshake_timeout' }), 1)
  t.equal(delta(before, after, `${P}handshakes_refused_total`, { reason: 'unauthorized' }), 1)
  t.equal(delta(before, after, `${P}handshake_duration_seconds_count`, { result: 'refused' }), 2)
  t.equal(delta(before, after, `${P}handshake_duration_seconds_count`, { result: 'accepted' }), 1)
  t.ok(delta(before, after, `${P}handshake_duration_seconds_sum`, { result: 'refused' }) >= 0.045, 'the timed-out handshake took its 50 ms')
})

t.test('connections closed are counted by close code, the server\'s own or the peer\'s', async (t) => {
  const server = await startMetricsServer(t)
  const before = await server.scrape()
  const closed = (code: string): number => delta(before, after, `${P}connections_closed_total`, { code })

  const normal = await server.connect('a')
  await normal.close() // 1005 from ws's close() without a code
  const polite = await server.connect('b')
  polite.ws.close(1000)
  await polite.closed
  const madeUp = await server.connect('c')
  madeUp.ws.close(4321, 'mine')
  await madeUp.closed
  const revoked = await server.connect('d')
  await server.app.realtime.disconnectUser('d')
  t.equal((await revoked.closed).code, 4500)
  const binary = await server.connect('e')
  binary.ws.send(Buffer.from([1, 2, 3]))
  t.equal((await binary.closed).code, 1003)
  const cut = await server.connect('f')
  rawSocket(cut.ws).destroy()

  const after = await scrapeUntil(server, (s) => s.value(`${P}connections`) === 0 && delta(before, s, `${P}connections_closed_total`, { code: '1006' }) === 1, 'every socket closed')
  t.equal(closed('1005'), 1)
  t.equal(closed('1000'), 1)
  t.equal(closed('other'), 1, 'a code the client made up is "other"')
  t.equal(closed('4500'), 1)
  t.equal(closed('1003'), 1)
  t.equal(closed('1006'), 1)
  t.same(after.labelValues(`${P}connections_closed_total`, 'code'), ['1000', '1003', '1005', '1006', '4500', 'other'])
})

t.test('messages in by type, errors by code, rate limiting', async (t) => {
  const handled: string[] = []
  const server = await startMetricsServer(t, {
    realtime: {
      rateLimit: { max: 9, windowMs: 60000 },
      messages: {
        'chat.send': defineMessage({ schema: Type.Object({ text: Type.String() }), handler (data) { handled.push(data.text) } })
      }
    }
  })
  const before = await server.scrape()
  t.equal(before.value(`${P}messages_received_total`, { type: 'chat.send' }), 0)
  t.ok(before.samples.some(s => s.name === `${P}messages_received_total` && s.labels.type === 'chat.send'), 'declared types are there at 0')
  const client = await server.connect('alice')
  for (let i = 0; i < 3; i++) await client.request({ type: 'ping', data: {} }, 'pong')
  await client.request({ type: 'subscribe', data: { events: ['system.notification'] } }, 'subscription.confirmed')
  client.send({ type: 'chat.send', data: { text: 'hi' } })
  await client.request({ type: 'bogus.type' }, 'error')
  await client.request({ type: 'another.bogus' }, 'error')
  client.send('{not json')
  await client.next('error')
  await client.request({ type: 'chat.send', data: { text: 42 } }, 'error') // declared, invalid data: the 9th message, the last one admitted
  const limited = await client.request({ type: 'ping', data: {} }, 'error')
  t.equal(limited.data.code, 'RATE_LIMIT_EXCEEDED')
  await client.request({ type: 'ping', data: {} }, 'error')
  t.same(handled, ['hi'])

  const after = await server.scrape()
  const received = (type: string): number => delta(before, after, `${P}messages_received_total`, { type })
  t.equal(received('ping'), 3, 'rate-limited frames are never decoded, so not counted by type')
  t.equal(received('subscribe'), 1)
  t.equal(received('chat.send'), 1, 'one valid host message; the invalid one is "unknown"')
  t.equal(received('unknown'), 4)
  t.equal(delta(before, after, `${P}rate_limited_total`), 2)
  const errors = (code: string): number => delta(before, after, `${P}errors_sent_total`, { code })
  t.equal(errors('INVALID_MESSAGE_TYPE'), 2)
  t.equal(errors('INVALID_JSON'), 1)
  t.equal(errors('INVALID_MESSAGE'), 1)
  t.equal(errors('RATE_LIMIT_EXCEEDED'), 2)
  t.equal(after.value(`${P}subscriptions`, { event: 'system.notification' }), 1)
  t.equal(after.value(`${P}subscriptions`, { event: 'review.updated' }), 0, 'every declared event is there')
  // 3 pongs, 1 confirmation, 6 errors, plus connection.established
  t.equal(delta(before, after, `${P}messages_sent_total`), 11)
  t.equal(after.value(`${P}messages_sent_total`), server.app.realtime.stats().messagesOut)
})

t.test('deliveries by target, their latency, and messages out', async (t) => {
  const server = await startMetricsServer(t)
  await server.connect('alice')
  const bob = await server.connect('bob')
  await bob.request({ type: 'subscribe', data: { events: ['system.notification'] } }, 'subscription.confirmed')
  const before = await server.scrape()
  t.equal(await server.app.realtime.broadcastToAll(notification('all')), 2)
  t.equal(await server.app.realtime.broadcastToSubscribers('system.notification', notification('subscribers')), 1)
  t.equal(await server.app.realtime.sendToUser('alice', notification('alice')), 1)
  t.equal(await server.app.realtime.sendToUsers(['alice', 'bob'], notification('both')), 2)
  t.equal(await server.app.realtime.sendToConnection(server.app.realtime.connectionsOf('alice')[0]?.id ?? '', notification('one')), 1)
  await t.rejects(server.app.realtime.broadcastToAll({ type: 'big', data: 'x'.repeat(70000) }), { code: 'FST_REALTIME_MESSAGE_TOO_LARGE' })
  const after = await server.scrape()
  const deliveries = (target: string): number => delta(before, after, `${P}deliveries_total`, { target })
  t.equal(deliveries('all'), 2, 'a delivery is counted when called, even one that is refused')
  t.equal(deliveries('event'), 1)
  t.equal(deliveries('users'), 2)
  t.equal(deliveries('connection'), 1)
  t.equal(delta(before, after, `${P}delivery_latency_seconds_count`), 5, 'a delivery that threw is not timed')
  t.ok(delta(before, after, `${P}delivery_latency_seconds_sum`) > 0)
  t.equal(delta(before, after, `${P}messages_sent_total`), 7)
  t.equal(after.types.get(`${P}delivery_latency_seconds`), 'histogram')
})

t.test('slow consumers: closed with 4008, counted with the slowConsumer action', async (t) => {
  const server = await startMetricsServer(t, { realtime: { maxMessageSize: 128 * 1024, maxBufferedBytes: 1024 } })
  const slow = await server.connect('slow')
  rawSocket(slow.ws).pause()
  const pad = 'p'.repeat(64 * 1024)
  // the kernel's socket buffers fill first: broadcast until the server gives up on the reader
  for (let i = 0; i < 2000 && server.app.realtime.stats().connections > 0; i++) {
    await server.app.realtime.broadcastToAll({ type: 'load', data: { i, pad } })
  }
  t.equal(server.app.realtime.stats().connections, 0, 'the slow client was closed')
  rawSocket(slow.ws).resume()
  t.equal((await slow.closed).code, 4008)
  const after = await scrapeUntil(server, (s) => s.value(`${P}connections_closed_total`, { code: '4008' }) === 1, 'the 4008 close')
  t.equal(after.value(`${P}slow_consumer_total`, { action: 'close' }), 1)
  t.equal(after.value(`${P}slow_consumer_total`, { action: 'close' }), server.app.realtime.stats().slowConsumerEvents)
})

t.test('slowConsumer drop: every dropped message counted under action "drop"', async (t) => {
  const server = await startMetricsServer(t, { realtime: { maxMessageSize: 128 * 1024, maxBufferedBytes: 1024, slowConsumer: 'drop' } })
  const slow = await server.connect('slow')
  rawSocket(slow.ws).pause()
  const pad = 'p'.repeat(64 * 1024)
  for (let i = 0; i < 2000 && server.app.realtime.stats().slowConsumerEvents < 3; i++) {
    await server.app.realtime.broadcastToAll({ type: 'load', data: { i, pad } })
  }
  const scrape = await server.scrape()
  t.equal(scrape.value(`${P}slow_consumer_total`, { action: 'drop' }), 3)
  t.ok(scrape.value(`${P}buffered_bytes`) > 1024, 'the reader\'s unsent bytes show in buffered_bytes')
  rawSocket(slow.ws).resume()
})

t.test('heartbeat timeouts', async (t) => {
  const server = await startMetricsServer(t, { realtime: { heartbeatIntervalMs: 60, connectionTimeoutMs: 200 } })
  const silent = await openSocket(`${server.wsUrl}/${server.token('silent')}`, { autoPong: false })
  t.teardown(() => silent.close())
  await silent.next('connection.established')
  await once(silent.ws, 'ping')
  t.equal((await silent.closed).code, 4000)
  const after = await scrapeUntil(server, (s) => s.value(`${P}connections_closed_total`, { code: '4000' }) === 1, 'the 4000 close')
  t.equal(after.value(`${P}heartbeat_timeouts_total`), 1)
})

t.test('the host\'s registry and prefix; the metrics leave it when the app closes', async (t) => {
  const registry = new Registry()
  const server = await startServer(t, { realtime: { metrics: { registry, prefix: 'chat_' } }, before: serveMetrics })
  t.equal(server.app.realtime.metricsRegistry, registry)
  await server.connect('alice')
  const scrape = new Scrape(await registry.metrics())
  t.equal(scrape.value('chat_connections'), 1)
  t.notOk(scrape.has('realtime_connections'))
  t.equal(scrape.value('chat_adapter_connected'), 1, 'the in-memory adapter is always connected')
  await t.rejects(startServer(t, { realtime: { metrics: { registry, prefix: 'chat_' } } }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /already been registered.*metrics\.prefix/ })
  t.ok(registry.getSingleMetric('chat_connections'), 'the failed second registration took nothing of the first one\'s out')
  await server.app.close()
  t.equal(registry.getMetricsAsArray().length, 0, 'nothing left in the host\'s registry')
})

t.test('a clash part way through takes out the metrics made before it, and leaves the host\'s own', async (t) => {
  const registry = new Registry()
  const hosts = new Gauge({ name: 'chat_messages_sent_total', help: 'the host\'s metric of that name', registers: [registry] })
  await t.rejects(startServer(t, { realtime: { metrics: { registry, prefix: 'chat_' } } }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /chat_messages_sent_total.*metrics\.prefix/ })
  t.same(registry.getMetricsAsArray().map(metric => metric.name), ['chat_messages_sent_total'], 'only the host\'s metric is left')
  t.equal(registry.getSingleMetric('chat_messages_sent_total'), hosts)
  const server = await startServer(t, { realtime: { metrics: { registry, prefix: 'other_' } } })
  await server.connect('alice')
  t.equal(new Scrape(await registry.metrics()).value('other_connections'), 1, 'another prefix registers on the same registry')
})

t.test('metrics off: no registry, nothing registered in prom-client\'s default registry', async (t) => {
  const { register } = await import('prom-client')
  const server = await startServer(t)
  t.equal(server.app.realtime.metricsRegistry, undefined)
  t.equal(register.getMetricsAsArray().length, 0)
})

t.test('bad metrics options are refused with every problem named', async (t) => {
  await t.rejects(startServer(t, { realtime: { metrics: { prefix: '9bad', registry: {} as never, extra: 1 } as never } }), {
    code: 'FST_REALTIME_OPTIONS_INVALID',
    message: /metrics\.extra is not an option.*metrics\.prefix must be.*metrics\.registry must be a prom-client Registry/
  })
  await t.rejects(startServer(t, { realtime: { metrics: 'yes' as never } }), { message: /metrics must be true, false or/ })
})

t.test('without prom-client installed, metrics: true says what to install', async (t) => {
  withoutModule(t, 'prom-client')
  await t.rejects(startServer(t, { realtime: { metrics: true } }), { code: 'FST_REALTIME_METRICS_DEPENDENCY_MISSING', message: /prom-client/ })
})
