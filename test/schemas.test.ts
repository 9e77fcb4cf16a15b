import t from 'tap'
import { Value } from '@sinclair/typebox/value'
import { FormatRegistry, Type, type TSchema } from '@sinclair/typebox'
import { ServerEnvelopeSchema, SERVER_MESSAGE_SCHEMAS, EventSchemas, WireError, defineMessage } from '../lib/index.js'
import { startServer } from './helpers/server.js'
import { openSocket, type Envelope, type TestClient } from './helpers/client.js'

// Every message a client can receive, as it came over a real socket, validates
// against the exported TypeBox schema of its type inside the exported envelope
// schema; every type the server can send is provoked at least once.
const schemas: Record<string, TSchema> = SERVER_MESSAGE_SCHEMAS
// TypeBox checks formats only once told how (AJV users get date-time from ajv-formats)
FormatRegistry.Set('date-time', (value) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value))

const RATE_LIMIT = 40
const now = (): string => new Date().toISOString()

t.test('every frame the server sends matches the exported schemas', async (t) => {
  const server = await startServer(t, {
    realtime: {
      rateLimit: { max: RATE_LIMIT, windowMs: 60000 },
      maxSubscriptionsPerConnection: 20,
      channels: { review: { authorize: (_connection, id) => id === '1' }, open: {}, room: { presence: true }, logbook: { history: { size: 10, ttlMs: 60000 } } },
      messages: {
        'note.add': defineMessage({
          schema: Type.Object({ text: Type.String({ maxLength: 20 }) }, { additionalProperties: false }),
          handler: (data) => { if (data.text === 'fail') throw new Error('the host handler failed') }
        })
      }
    }
  })
  const frames: Envelope[] = []
  /** Keeps every frame a test step awaited, as it arrived. */
  const seen = async (pending: Promise<Envelope>): Promise<Envelope> => {
    const frame = await pending
    frames.push(frame)
    return frame
  }

  const client = await openSocket(`${server.wsUrl}/${server.token('schema-user')}`)
  t.teardown(() => client.close())
  await seen(client.next('connection.established'))
  await seen(client.request({ type: 'subscribe', data: { events: ['upload.progress', 'review.updated', 'file.ready'] }, id: 's' }, 'subscription.confirmed'))
  await seen(client.request({ type: 'subscribe', data: { events: ['upload.completed', 'upload.error', 'upload.cancelled', 'review.created', 'review.deleted', 'system.maintenance', 'user.status_changed'] } }, 'subscription.confirmed'))
  await seen(client.request({ type: 'ping', data: { pingId: 7 } }, 'pong'))
  await seen(client.request({ type: 'ping', data: { pingId: 'p' } }, 'pong'))
  await seen(client.request({ type: 'ping' }, 'pong'))
  await seen(client.request({ type: 'heartbeat' }, 'heartbeat.ack'))
  await seen(client.request({ type: 'unsubscribe', data: { events: ['file.ready'] }, id: 'u' }, 'unsubscription.confirmed'))

  // one of each wire error a client can provoke
  const errors = new Map<string, Envelope>()
  const provoke = async (frame: unknown): Promise<void> => {
    const pending = seen(client.next('error'))
    client.send(frame)
    const error = await pending
    errors.set(error.data.code as string, error)
  }
  await provoke('{not json')
  await provoke({ data: {} })
  await provoke({ type: 'nope', id: 'n' })
  await provoke({ type: 'subscribe', data: { events: ['not.an.event'] }, id: 'e' })
  await provoke({ type: 'note.add', data: { text: 'ok', extra: 1 } })
  await provoke({ type: 'note.add', data: { text: 'fail' }, id: 'h' })
  await provoke({ type: 'subscribe', data: { channels: ['nope:1'] }, id: 'c' })
  await provoke({ type: 'subscribe', data: { channels: ['review:2'] }, id: 'f' })
  await provoke({ type: 'subscribe', data: { channels: Array.from({ length: 20 }, (_, i) => `open:${i}`) }, id: 't' })
  await provoke({ type: 'presence', data: { channel: 'open:1' }, id: 'pd' })
  await provoke({ type: 'presence', data: { channel: 'room:1' }, id: 'ns' })

  // channels: a channel message, and the server's join and leave
  await seen(client.request({ type: 'subscribe', data: { channels: ['review:1'] }, id: 'ch' }, 'subscription.confirmed'))
  await server.app.realtime.publish('review:1', { type: 'system.notification', data: { message: 'in the channel', level: 'info', timestamp: now() } })
  await seen(client.next('system.notification'))
  await server.app.realtime.join({ userId: 'schema-user' }, 'open:x')
  await seen(client.next('subscription.joined'))
  await server.app.realtime.leave({ userId: 'schema-user' }, 'open:x', 'revoked')
  await seen(client.next('subscription.ended'))

  // history: a position, a numbered message, and a recovery of it after an unsubscribe
  const positioned = await seen(client.request({ type: 'subscribe', data: { channels: ['logbook:1'] }, id: 'lb' }, 'subscription.confirmed'))
  const position = (positioned.data.positions as Record<string, { epoch: string, offset: number }>)['logbook:1']
  t.match(position, { epoch: String, offset: 0 })
  await server.app.realtime.publish('logbook:1', { type: 'system.notification', data: { message: 'kept', level: 'info', timestamp: now() } })
  t.match(await seen(client.next('system.notification')), { channel: 'logbook:1', offset: 1 })
  await seen(client.request({ type: 'unsubscribe', data: { channels: ['logbook:1'] }, id: 'lu' }, 'unsubscription.confirmed'))
  client.send({ type: 'subscribe', data: { channels: ['logbook:1'], recover: { 'logbook:1': position } }, id: 'lr' })
  await seen(client.next('subscription.confirmed'))
  t.match(await seen(client.next('system.notification')), { channel: 'logbook:1', offset: 1 }, 'the missed message, replayed')
  t.match(await seen(client.next('recovery.result')), { data: { streams: { 'logbook:1': { recovered: true, missed: 1 } } } })

  // every subscription event, through the API (the seed's helpers build their own data)
  const api = server.app.realtime
  await api.broadcastToSubscribers('upload.progress', { type: 'upload.progress', data: { upload_id: 'u', progress: 50, bytes_uploaded: 5, total_bytes: 10, timestamp: now() } })
  await api.broadcastToSubscribers('upload.completed', { type: 'upload.completed', data: { upload_id: 'u', total_bytes: 10, timestamp: now() } })
  await api.broadcastToSubscribers('upload.error', { type: 'upload.error', data: { upload_id: 'u', error: 'disk full', timestamp: now() } })
  await api.broadcastToSubscribers('upload.cancelled', { type: 'upload.cancelled', data: { upload_id: 'u', reason: 'user', timestamp: now() } })
  await api.broadcastReviewUpdated('r', { status: 'ok' })
  await api.broadcastToSubscribers('review.created', { type: 'review.created', data: { review_id: 'r', timestamp: now() } })
  await api.broadcastToSubscribers('review.deleted', { type: 'review.deleted', data: { review_id: 'r', timestamp: now() } })
  await api.broadcastSystemNotification('hello', { level: 'success' })
  await api.broadcastToAll({ type: 'system.maintenance', data: { message: 'tonight', timestamp: now() } })
  await api.broadcastToSubscribers('user.status_changed', { type: 'user.status_changed', data: { user_id: 'x', status: 'away', timestamp: now() } })
  await api.broadcastFileProcessingStatus('schema-user', 'f', 'processing', 10)
  await api.broadcastFileProcessingStatus('schema-user', 'f', 'ready')
  for (const type of Object.keys(EventSchemas)) await seen(client.next(type))

  // the rate limit's answer, with retry_after, on a connection of its own
  const flooder: TestClient = await server.connect('flooder')
  for (let i = 0; i < RATE_LIMIT; i++) await flooder.request({ type: 'heartbeat' }, 'heartbeat.ack')
  const limited = await seen(flooder.request({ type: 'ping', id: 'r' }, 'error'))
  errors.set(limited.data.code as string, limited)

  t.same([...errors.keys()].sort(), Object.values(WireError).sort(), 'every wire error code was provoked')
  t.match(errors.get(WireError.rateLimited)?.data, { retry_after: Number, request_id: 'r' })
  t.match(errors.get(WireError.invalidEvent)?.data, { details: ['not.an.event'], request_id: 'e' })
  t.match(errors.get(WireError.handlerError)?.data, { request_id: 'h' })
  t.match(errors.get(WireError.channelForbidden)?.data, { details: ['review:2'], reasons: ['forbidden'], request_id: 'f' })
  t.match(errors.get(WireError.invalidChannel)?.data, { details: ['nope:1'], request_id: 'c' })
  t.same(client.received, [], 'no frame arrived that the test did not expect')
  t.same(flooder.received, [])

  const types = new Set<string>()
  for (const frame of frames) {
    const schema = schemas[frame.type]
    t.ok(schema, `${frame.type} has an exported schema`)
    if (schema === undefined) continue
    const envelope = ServerEnvelopeSchema(frame.type, schema)
    const problems = [...Value.Errors(envelope, frame)].map(e => `${e.path} ${e.message}`)
    t.same(problems, [], `${frame.type}${frame.type === 'error' ? ` ${String(frame.data.code)}` : ''} matches its schema`)
    // a message published to a channel names it, a stream's message carries its offset; nothing else is outside the envelope
    const expected = ['data', 'id', 'timestamp', 'type', ...(frame.channel === undefined ? [] : ['channel']), ...(frame.offset === undefined ? [] : ['offset'])]
    t.same(Object.keys(frame).sort(), expected.sort(), 'nothing outside the envelope')
    types.add(frame.type)
  }
  t.same([...types].sort(), Object.keys(schemas).sort(), `every server message type was received and checked (${types.size})`)
})
