import t from 'tap'
import type { AddressInfo } from 'node:net'
import { loadConfig, DEVELOPMENT_SECRET } from '../examples/config.js'
import { buildMetricsServer } from '../examples/metrics.js'
import { messagesBeforeMarker, openSocket } from './helpers/client.js'
import { startExample } from './helpers/example.js'

t.test('login, then notifications reach everyone or the target users', async (t) => {
  const example = await startExample(t)
  const alice = await example.connect('alice')
  const bob = await example.connect('bob')
  const all = await example.post('/api/v1/notifications', { message: 'hello all', level: 'warning' }, alice.token)
  t.same(all, { status: 200, body: { delivered: 2 } })
  t.match((await bob.client.next('system.notification')).data, { message: 'hello all', level: 'warning' })
  await alice.client.next('system.notification')
  const targeted = await example.post('/api/v1/notifications', { message: 'bob only', targetUsers: ['bob'] }, alice.token)
  t.same(targeted.body, { delivered: 1 })
  t.equal((await bob.client.next('system.notification')).data.message, 'bob only')
  t.same(await messagesBeforeMarker(alice.client, example.app.realtime), [], 'not alice')
})

t.test('review changes and file status routes', async (t) => {
  const example = await startExample(t)
  const alice = await example.connect('alice')
  await alice.client.request({ type: 'subscribe', data: { events: ['review.updated'] } }, 'subscription.confirmed')
  const review = await example.post('/api/v1/reviews/r-9/changes', { changes: { status: 'approved' } }, alice.token)
  t.same(review.body, { delivered: 1 })
  t.match((await alice.client.next('review.updated')).data, { review_id: 'r-9', changes: { status: 'approved' } })
  const file = await example.post('/api/v1/files/f-1/status', { userId: 'alice', status: 'processing', progress: 40 }, alice.token)
  t.same(file.body, { delivered: 1 })
  t.match((await alice.client.next('file.processing')).data, { file_id: 'f-1', progress: 40 })
  await example.post('/api/v1/files/f-1/status', { userId: 'alice', status: 'ready' }, alice.token)
  t.match((await alice.client.next('file.ready')).data, { file_id: 'f-1', status: 'ready' })
})

t.test('a simulated upload reports progress 0..100 then completion to the subscribed caller only', async (t) => {
  const example = await startExample(t)
  const alice = await example.connect('alice')
  const aliceUnsubscribed = await example.connect('alice')
  const bob = await example.connect('bob')
  await alice.client.request({ type: 'subscribe', data: { events: ['upload.progress', 'upload.completed'] } }, 'subscription.confirmed')
  await bob.client.request({ type: 'subscribe', data: { events: ['upload.progress', 'upload.completed'] } }, 'subscription.confirmed')
  const started = await example.post('/api/v1/uploads', { totalBytes: 1000 }, alice.token)
  t.equal(started.status, 202)
  const uploadId = started.body.upload_id as string
  const seen: number[] = []
  for (;;) {
    const progress = await alice.client.next('upload.progress')
    t.equal(progress.data.upload_id, uploadId)
    seen.push(progress.data.progress as number)
    if (progress.data.progress === 100) break
  }
  t.same(seen, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
  t.match((await alice.client.next('upload.completed')).data, { upload_id: uploadId, total_bytes: 1000 })
  t.same(await messagesBeforeMarker(bob.client, example.app.realtime), [], 'another user sees nothing')
  t.same(await messagesBeforeMarker(aliceUnsubscribed.client, example.app.realtime), [], 'nor an unsubscribed connection')
})

t.test('upload.cancel from the client stops the upload with upload.cancelled', async (t) => {
  const example = await startExample(t)
  const alice = await example.connect('alice')
  const bob = await example.connect('bob')
  await alice.client.request({ type: 'subscribe', data: { events: ['upload.progress', 'upload.completed'] } }, 'subscription.confirmed')
  const { body } = await example.post('/api/v1/uploads', { totalBytes: 5000 }, alice.token)
  const uploadId = body.upload_id as string
  await alice.client.next('upload.progress')
  const notYours = await bob.client.request({ type: 'upload.cancel', data: { upload_id: uploadId } }, 'error')
  t.equal(notYours.data.code, 'UPLOAD_NOT_FOUND', 'another user cannot cancel it')
  alice.client.send({ type: 'upload.cancel', data: { upload_id: uploadId } })
  const beforeCancelled = await alice.client.messagesBefore(m => m.type === 'upload.cancelled' && m.data.upload_id === uploadId)
  t.ok(beforeCancelled.every(m => m.type === 'upload.progress'), 'upload.cancelled names the upload; only progress came before it')
  const invalid = await alice.client.request({ type: 'upload.cancel', data: {} }, 'error')
  t.equal(invalid.data.code, 'INVALID_MESSAGE', 'the host schema validates the message')
  // sentinel: a second upload steps on the same interval, started later, so the
  // cancelled one, had it kept going, would have completed before this one does
  const second = (await example.post('/api/v1/uploads', { totalBytes: 5000 }, alice.token)).body.upload_id as string
  const untilSecondCompleted = await alice.client.messagesBefore(m => m.type === 'upload.completed' && m.data.upload_id === second, 5000)
  t.same(untilSecondCompleted.filter(m => m.data.upload_id !== second), [], 'nothing more of the cancelled upload')
})

t.test('bad bodies get 400 with the schema message; routes need a token; stats', async (t) => {
  const example = await startExample(t)
  const token = await example.login('alice')
  const bad = await example.post('/api/v1/notifications', { level: 'loud' }, token)
  t.equal(bad.status, 400)
  t.match(bad.body.message, /body/)
  t.equal((await example.post('/api/v1/uploads', { totalBytes: -1 }, token)).status, 400)
  t.equal((await example.post('/api/v1/auth/token', { userId: '' })).status, 400)
  t.equal((await example.post('/api/v1/files/f/status', { status: 'x' }, token)).status, 400)
  t.equal((await example.post('/api/v1/notifications', { message: 'x' })).status, 401)
  const stats = await fetch(`${example.base}/api/v1/realtime/stats`, { headers: { authorization: `Bearer ${token}` } })
  t.match(await stats.json(), { connections: 0, users: 0, uptimeSeconds: Number })
  const page = await fetch(`${example.base}/`)
  t.equal(page.status, 200)
  t.match(page.headers.get('content-type'), /text\/html/)
})

t.test('the environment configures the example', async (t) => {
  const config = loadConfig({
    PORT: '4000',
    REALTIME_MAX_CONNECTIONS_PER_USER: '1',
    REALTIME_RATE_LIMIT_MAX: '5',
    REALTIME_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
    REALTIME_HANDSHAKE_RATE_LIMIT_MAX: '0',
    REALTIME_COMPRESSION: 'true',
    REALTIME_CLOCK_TOLERANCE_MS: '2000'
  })
  t.match(config, { port: 4000, host: '127.0.0.1', jwtSecret: DEVELOPMENT_SECRET, isDevelopmentSecret: true })
  t.match(config.realtime, { maxConnectionsPerUser: 1, rateLimit: { max: 5 }, allowedOrigins: ['https://a.example', 'https://b.example'], handshakeRateLimit: false, compression: true, clockToleranceMs: 2000 })
  t.throws(() => loadConfig({ REALTIME_MAX_CONNECTIONS: 'many' }), /REALTIME_MAX_CONNECTIONS must be an integer/)
  t.throws(() => loadConfig({ REALTIME_SLOW_CONSUMER: 'explode' }), /REALTIME_SLOW_CONSUMER/)

  const limited = await startExample(t, loadConfig({ REALTIME_MAX_CONNECTIONS_PER_USER: '1' }).realtime)
  await limited.connect('solo')
  const token = await limited.login('solo')
  const refused = await openSocket(`${limited.base.replace('http', 'ws')}/api/v1/ws/${token}`).catch((err: { statusCode: number }) => err)
  t.match(refused, { statusCode: 429 })
})

t.test('metrics on their own port, health for a load balancer (no token: 200, or 503 when failing)', async (t) => {
  const example = await startExample(t, { maxConnections: 1 })
  const health = await fetch(`${example.base}/api/v1/realtime/health`)
  t.equal(health.status, 200)
  t.match(await health.json(), { status: 'ok', adapter: { connected: true }, connections: 0, eventLoopDelayMs: Number })
  t.equal((await fetch(`${example.base}/metrics`)).status, 404, 'the public port does not serve metrics')

  const app = example.app
  const metrics = buildMetricsServer(app)
  await metrics.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => metrics.close())
  const alice = await example.connect('alice')
  await alice.client.request({ type: 'ping', data: {} }, 'pong')
  const scrape = await fetch(`http://127.0.0.1:${(metrics.server.address() as AddressInfo).port}/metrics`)
  t.equal(scrape.status, 200)
  t.match(scrape.headers.get('content-type'), /^text\/plain/)
  const text = await scrape.text()
  t.match(text, /^realtime_connections 1$/m)
  t.match(text, /^realtime_messages_received_total\{type="ping"\} 1$/m)

  const full = await fetch(`${example.base}/api/v1/realtime/health`)
  t.equal(full.status, 503, 'failing while full: new connections would be refused')
  t.match(await full.json(), { status: 'failing', connections: 1 })
  t.match(loadConfig({}), { metricsPort: 9464, metricsHost: '127.0.0.1' })
  t.match(loadConfig({ METRICS_PORT: '9100', METRICS_HOST: '0.0.0.0' }), { metricsPort: 9100, metricsHost: '0.0.0.0' })
})
