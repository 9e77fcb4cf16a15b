import t from 'tap'
import { CloseCode, resolveOptions } from '../../lib/index.js'
import { startServer } from '../helpers/server.js'
import type { Envelope } from '../helpers/client.js'
import { until } from '../hardening/support.js'

// A client over its rate limit must not cost a JSON parse and an error frame
// per message forever: it gets one RATE_LIMIT_EXCEEDED per interval, the
// rest is dropped unread, and a client that keeps flooding (more than
// rateLimit.max x rateLimit.floodFactor refused messages in a window) is
// closed with 4009.

t.test('200 messages against a limit of 5: five answers, one RATE_LIMIT_EXCEEDED, then close 4009', async (t) => {
  // a fast sweep: it also runs while the flood is being closed
  const server = await startServer(t, { realtime: { rateLimit: { max: 5, windowMs: 60000 }, heartbeatIntervalMs: 100, connectionTimeoutMs: 60000 } })
  const flooder = await server.connect('flooder')
  const bystander = await server.connect('bystander')
  const received: Envelope[] = []
  flooder.ws.on('message', (raw: Buffer) => received.push(JSON.parse(raw.toString()) as Envelope))

  for (let i = 0; i < 200; i++) flooder.send({ type: 'ping', id: `m${i}`, data: { pingId: i } })
  const closed = await Promise.race([flooder.closed, new Promise((_resolve, reject) => setTimeout(() => reject(new Error('not closed within 10 s')), 10_000).unref())])
  t.same(closed, { code: CloseCode.rateLimitFlood, reason: 'rate limit flood' })
  t.equal(CloseCode.rateLimitFlood, 4009)

  const pongs = received.filter(message => message.type === 'pong')
  const limited = received.filter(message => message.type === 'error')
  t.same(pongs.map(pong => pong.data.pingId), [0, 1, 2, 3, 4], 'the five messages within the limit were answered')
  // all 200 frames arrive within one answer interval (a second): more than one answer would mean a stalled server
  t.ok(limited.length >= 1 && limited.length <= 2, `a bounded number of RATE_LIMIT_EXCEEDED (${limited.length}), not one per message`)
  t.match(limited[0]?.data, { code: 'RATE_LIMIT_EXCEEDED', request_id: 'm5', retry_after: Number })
  t.equal(received.length, pongs.length + limited.length, 'nothing else')
  // refused: the 6th to the 56th message (10 x 5 = 50 allowed past the limit); the rest came after the close
  t.equal(server.app.realtime.stats().rateLimited, 51)

  const pong = await bystander.request({ type: 'ping', data: { pingId: 'sentinel' } }, 'pong')
  t.equal(pong.data.pingId, 'sentinel', 'another user is unaffected')
  t.same(bystander.received, [], 'and got nothing else')
  t.equal(server.app.realtime.stats().connections, 1)
  t.match(server.logs.join(''), /kept sending past the rate limit/)
})

t.test('messages dropped unread are answered once on the sweep tick, so a heartbeat ping still sees a frame', async (t) => {
  const server = await startServer(t, { realtime: { rateLimit: { max: 1, windowMs: 60000 }, heartbeatIntervalMs: 100, connectionTimeoutMs: 60000 } })
  const client = await server.connect('slow')
  await client.request({ type: 'ping', id: 'ok' }, 'pong')
  const answered = await client.request({ type: 'ping', id: 'first refused' }, 'error')
  t.match(answered.data, { code: 'RATE_LIMIT_EXCEEDED', request_id: 'first refused' })
  // within the answer interval: dropped unread, then answered once without an id (it was never parsed)
  client.send({ type: 'ping', id: 'dropped 1' })
  client.send({ type: 'ping', id: 'dropped 2' })
  const owed = await client.next('error', 5000)
  t.match(owed.data, { code: 'RATE_LIMIT_EXCEEDED', retry_after: Number })
  t.notOk('request_id' in owed.data, 'the dropped messages were not parsed')
  t.equal(client.ws.readyState, client.ws.OPEN)
  t.equal(server.app.realtime.stats().rateLimited, 3)
})

t.test('a refused frame that is not JSON is answered without request_id', async (t) => {
  const server = await startServer(t, { realtime: { rateLimit: { max: 1, windowMs: 60000 } } })
  const client = await server.connect('sloppy')
  await client.request({ type: 'ping' }, 'pong')
  const answer = client.next('error')
  client.send('{not json')
  const error = await answer
  t.match(error.data, { code: 'RATE_LIMIT_EXCEEDED', retry_after: Number })
  t.notOk('request_id' in error.data)
})

t.test('floodFactor is an option (default 10; 0 never closes)', async (t) => {
  t.equal(resolveOptions({ jwt: 's' }).rateLimit.floodFactor, 10)
  t.equal(resolveOptions({ jwt: 's', rateLimit: { floodFactor: 0 } }).rateLimit.floodFactor, 0)
  t.throws(() => resolveOptions({ jwt: 's', rateLimit: { floodFactor: -1 } }), { message: /rateLimit\.floodFactor/ })

  const server = await startServer(t, { realtime: { rateLimit: { max: 1, windowMs: 60000, floodFactor: 0 } } })
  const client = await server.connect('patient')
  for (let i = 0; i < 100; i++) client.send({ type: 'ping', data: { pingId: i } })
  await until(() => server.app.realtime.stats().messagesIn === 100, 'the server read every message')
  t.equal(server.app.realtime.stats().rateLimited, 99)
  // a close would have come before this marker
  t.equal(await server.app.realtime.sendToUser('patient', { type: 'system.notification', data: { message: 'marker', level: 'info', timestamp: new Date().toISOString() } }), 1)
  t.equal((await client.next('system.notification')).data.message, 'marker')
  t.equal(client.ws.readyState, client.ws.OPEN, 'never closed for flooding')
})
