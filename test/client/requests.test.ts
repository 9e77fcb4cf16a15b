import t from 'tap'
import { ClientErrorCode, RealtimeClient, RealtimeClientError, WireError, type ServerEnvelope, type UploadProgress } from '../../lib/client/index.js'
import { createClient, next, record, startRealtime, token } from './support.js'

t.test('subscribe() resolves on subscription.confirmed; an unknown event rejects with INVALID_EVENT naming it', async (t) => {
  const server = await startRealtime(t)
  const client = createClient(t, { url: server.url, token: token('pat') })
  await client.connect()
  t.match(await client.subscribe(['upload.progress', 'upload.progress']), { events: ['upload.progress'], subscriptions: ['upload.progress'] })

  const error = await client.subscribe(['review.updated', 'no.such.event']).catch((err: unknown) => err)
  t.type(error, RealtimeClientError)
  t.match(error, { code: WireError.invalidEvent, details: ['no.such.event'], requestId: /^s\d+$/ })
  t.same(client.subscriptions, ['upload.progress'], 'all or nothing: review.updated is not subscribed either')

  // two requests in flight settle in order, each with its own confirmation
  const [a, b] = await Promise.all([client.subscribe('review.updated'), client.unsubscribe('upload.progress')])
  t.match(a, { events: ['review.updated'], subscriptions: ['upload.progress', 'review.updated'] })
  t.match(b, { events: ['upload.progress'], subscriptions: ['review.updated'] })
  t.same(client.subscriptions, ['review.updated'])

  await t.rejects(client.subscribe([]), TypeError, 'bad arguments reject, never throw')
})

t.test('typed handlers get the data of their event; message sees every envelope', async (t) => {
  const server = await startRealtime(t)
  const client = createClient(t, { url: server.url, token: token('quinn') })
  const types = record(client, 'message')
  await client.connect()
  await client.subscribe('upload.progress')
  const progress = next(client, 'upload.progress')
  const sent: UploadProgress = { upload_id: 'u1', progress: 40, bytes_uploaded: 400, total_bytes: 1000, timestamp: new Date().toISOString() }
  t.equal(await server.app.realtime.sendToUser('quinn', { type: 'upload.progress', data: sent }), 1)
  const [data, envelope] = await progress
  t.equal(data.progress, 40)
  t.same(data, sent)
  t.match(envelope, { type: 'upload.progress', id: String, timestamp: String })
  t.same(types.all.map(([m]: [ServerEnvelope]) => m.type), ['connection.established', 'subscription.confirmed', 'upload.progress'])
})

t.test('ping() resolves with the round trip', async (t) => {
  const server = await startRealtime(t)
  const client = createClient(t, { url: server.url, token: token('rae') })
  await client.connect()
  const rtt = await client.ping()
  t.ok(Number.isFinite(rtt) && rtt >= 0, `round trip ${rtt} ms`)
})

t.test('server errors nobody awaits, and listeners that throw, are reported on error', async (t) => {
  const server = await startRealtime(t)
  const client = createClient(t, { url: server.url, token: token('sam') })
  const errors = record(client, 'error')
  await client.connect()
  client.cancelUpload('u1') // this server registers no upload.cancel
  const [unknownType] = await errors.next()
  t.match(unknownType, { code: WireError.invalidMessageType, message: /upload\.cancel/ })

  client.on('review.updated', () => { throw new Error('bad listener') })
  const other = next(client, 'review.updated')
  await client.subscribe('review.updated')
  await server.app.realtime.broadcastReviewUpdated('r1', {})
  const [failed] = await errors.next()
  t.match(failed, { code: ClientErrorCode.listenerFailed, cause: { message: 'bad listener' } })
  await other
  t.pass('other listeners still ran')
})

t.test('rate limiting from the server rejects the refused request with its retry_after', async (t) => {
  const server = await startRealtime(t, { realtime: { rateLimit: { max: 2, windowMs: 60_000 } } })
  const client = createClient(t, { url: server.url, token: token('tim'), requestTimeoutMs: 2000 })
  await client.connect()
  await client.ping()
  await client.ping()
  const refused = await client.ping().catch((err: unknown) => err)
  t.match(refused, { code: WireError.rateLimited, retryAfterMs: Number }, 'the server names the refused message by its id')
  t.ok(((refused as { retryAfterMs?: number }).retryAfterMs ?? 0) >= 1000)
})

t.test('option errors are thrown by the constructor', async (t) => {
  t.throws(() => new RealtimeClient({ url: 'ws://x/ws', token: '' }), TypeError)
  t.throws(() => new RealtimeClient({ url: 'ftp://x/ws', token: 'a' }), /url must be/)
  t.throws(() => new RealtimeClient({ url: 'ws://x/ws', token: 'a', maxQueueSize: -1 }), /maxQueueSize/)
  t.throws(() => new RealtimeClient({ url: 'ws://x/ws', token: 'a' }), /no WebSocket implementation/, 'Node 20 has no global WebSocket')
})
