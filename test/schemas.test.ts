import t from 'tap'
import { Value } from '@sinclair/typebox/value'
import { FormatRegistry, type TSchema } from '@sinclair/typebox'
import { ServerEnvelopeSchema, SERVER_MESSAGE_SCHEMAS } from '../lib/index.js'
import { startServer } from './helpers/server.js'

// Every message a client can receive validates against the exported TypeBox
// schema of its type, inside the exported envelope schema.
const schemas: Record<string, TSchema> = SERVER_MESSAGE_SCHEMAS
// TypeBox checks formats only once told how (AJV users get date-time from ajv-formats)
FormatRegistry.Set('date-time', (value) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value))

t.test('what the server sends matches the exported schemas', async (t) => {
  const server = await startServer(t, { realtime: { rateLimit: { max: 5, windowMs: 60000 } } })
  const seen: unknown[] = []
  const client = await server.connect('schema-user')
  client.ws.on('message', (raw) => seen.push(JSON.parse(raw.toString())))
  await client.request({ type: 'subscribe', data: { events: ['upload.progress', 'review.updated', 'file.ready'] }, id: 's' }, 'subscription.confirmed')
  await client.request({ type: 'ping', data: { pingId: 7 } }, 'pong')
  await client.request({ type: 'heartbeat' }, 'heartbeat.ack')
  await client.request({ type: 'unsubscribe', data: { events: ['file.ready'] } }, 'unsubscription.confirmed')
  await client.request({ type: 'nope' }, 'error')
  const api = server.app.realtime
  await api.broadcastToSubscribers('upload.progress', { type: 'upload.progress', data: { upload_id: 'u', progress: 50, bytes_uploaded: 5, total_bytes: 10, timestamp: new Date().toISOString() } })
  await api.broadcastReviewUpdated('r', { status: 'ok' })
  await api.broadcastSystemNotification('hello', { level: 'success' })
  await api.broadcastFileProcessingStatus('schema-user', 'f', 'processing', 10)
  await api.broadcastFileProcessingStatus('schema-user', 'f', 'ready')
  for (const type of ['upload.progress', 'review.updated', 'system.notification', 'file.processing', 'file.ready']) await client.next(type)
  await client.request({ type: 'ping' }, 'error') // the rate limit's answer, with retry_after

  const welcome = { type: 'connection.established', data: { connection_id: 'x', user_id: 'y', server_time: new Date().toISOString(), features: [], heartbeat_interval_ms: 1, connection_timeout_ms: 2 }, timestamp: new Date().toISOString(), id: 'z' }
  const types = new Set<string>()
  for (const message of [welcome, ...seen] as Array<{ type: string }>) {
    const schema = schemas[message.type]
    t.ok(schema, `${message.type} has an exported schema`)
    if (schema === undefined) continue
    const envelope = ServerEnvelopeSchema(message.type, schema)
    const errors = [...Value.Errors(envelope, message)].map(e => `${e.path} ${e.message}`)
    t.same(errors, [], `${message.type} matches its schema`)
    types.add(message.type)
  }
  t.ok(types.size >= 11, `checked ${types.size} message types`)
})
