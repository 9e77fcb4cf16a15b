import t from 'tap'
import { Parser, DiagnosticSeverity } from '@asyncapi/parser'
import Ajv from 'ajv'
import addFormats from 'ajv-formats'
import { Type, type TSchema } from '@sinclair/typebox'
import {
  defineMessage, resolveOptions, CloseCode, WireError, DEFAULT_EVENTS, SERVER_MESSAGE_SCHEMAS, UploadCancelDataSchema,
  PingDataSchema, HeartbeatDataSchema, SubscribeDataSchema, UnsubscribeDataSchema,
  type AsyncApiDocument, type AsyncApiMessage, type RealtimeOptions
} from '../lib/index.js'
import { startServer } from './helpers/server.js'
import { startExample } from './helpers/example.js'
import { openSocket } from './helpers/client.js'
import { answerTo } from './channels/support.js'

/** Parses a document with the AsyncAPI parser; returns what it found wrong (errors and warnings), as text. */
async function problemsOf (document: unknown): Promise<string[]> {
  const { document: parsed, diagnostics } = await new Parser().parse(document as { asyncapi: string })
  const problems = diagnostics
    .filter(d => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning)
    .map(d => `${d.code} at ${d.path.join('.')}: ${d.message}`)
  if (parsed === undefined) problems.push('the parser returned no document')
  return problems
}

async function fetchJson (url: string): Promise<{ status: number, type: string | null, body: AsyncApiDocument }> {
  const response = await fetch(url)
  return { status: response.status, type: response.headers.get('content-type'), body: await response.json() as AsyncApiDocument }
}

function messagesOf (document: AsyncApiDocument, direction: AsyncApiMessage['x-fastify-realtime-direction']): Map<string, AsyncApiMessage> {
  return new Map(Object.values(document.components.messages)
    .filter(message => message['x-fastify-realtime-direction'] === direction && message.name !== '*')
    .map(message => [message.name, message]))
}

/** The data schema of a documented message, as the frame's `data` property. */
function dataSchemaOf (message: AsyncApiMessage | undefined): unknown {
  return (message?.payload.properties as Record<string, unknown> | undefined)?.data
}

const asJson = (schema: TSchema): unknown => JSON.parse(JSON.stringify(schema))

const ChatSendSchema = Type.Object({ text: Type.String({ minLength: 1, maxLength: 500, description: 'What to say' }) }, { description: 'Posts to the room' })
const OddTypeSchema = Type.Object({ n: Type.Integer() })
const hostOptions: RealtimeOptions = {
  asyncapi: { title: 'Chat app', version: '2.3.4' },
  events: [...DEFAULT_EVENTS, 'invoice.paid'],
  messages: {
    'chat.send': defineMessage({ schema: ChatSendSchema, handler (data, context) { context.reply('chat.sent', { text: data.text }) } }),
    // types no AsyncAPI key may hold as they are, and that read the same once made into keys
    'odd type/é': defineMessage({ schema: OddTypeSchema, handler () {} }),
    'odd_type/é': defineMessage({ schema: OddTypeSchema, handler () {} })
  },
  channels: { room: { authorize: () => true }, feed: {} }
}

t.test('the example app serves a valid AsyncAPI 3.0 document at /api/v1/realtime/asyncapi.json', async (t) => {
  const example = await startExample(t)
  const { status, type, body } = await fetchJson(`${example.base}/api/v1/realtime/asyncapi.json`)
  t.equal(status, 200)
  t.match(type, /^application\/json/)
  t.same(await problemsOf(body), [], 'the AsyncAPI parser finds no error and no warning')
  t.equal(body.asyncapi, '3.0.0')
  t.same(body, JSON.parse(JSON.stringify(example.app.realtime.asyncapi())), 'the route serves app.realtime.asyncapi()')
  t.equal(body.channels.realtime?.address, '/api/v1/ws', 'the endpoint with the register prefix')
  const cancel = messagesOf(body, 'client-to-server').get('upload.cancel')
  t.same(dataSchemaOf(cancel), asJson(UploadCancelDataSchema), 'the example\'s own message type, with its schema')
  t.equal(cancel?.['x-fastify-realtime-origin'], 'host')
  const namespaces = Object.values(body.channels).flatMap(channel => channel['x-fastify-realtime-namespace'] ?? [])
  t.same(namespaces, [{ name: 'review', hasAuthorize: true }, { name: 'upload', hasAuthorize: true }, { name: 'lobby', hasAuthorize: false }])
})

t.test('a server with its own message types, events and namespaces: every schema the router validates is documented', async (t) => {
  const server = await startServer(t, {
    prefix: '/rt',
    realtime: hostOptions,
    before: (app) => { app.get('/asyncapi.json', async () => app.realtime.asyncapi()) }
  })
  const { body } = await fetchJson(`http://127.0.0.1:${server.port}/asyncapi.json`)
  t.same(await problemsOf(body), [], 'the AsyncAPI parser finds no error and no warning')
  t.same(body.info, { title: 'Chat app', version: '2.3.4' })
  t.equal(body.channels.realtime?.address, '/rt/ws')

  const routed: Record<string, TSchema> = {
    ping: PingDataSchema,
    heartbeat: HeartbeatDataSchema,
    subscribe: SubscribeDataSchema,
    unsubscribe: UnsubscribeDataSchema,
    'chat.send': ChatSendSchema,
    'odd type/é': OddTypeSchema,
    'odd_type/é': OddTypeSchema
  }
  const clientMessages = messagesOf(body, 'client-to-server')
  t.same([...clientMessages.keys()], Object.keys(routed), 'exactly the routed client types, in order')
  for (const [type, schema] of Object.entries(routed)) {
    t.same(dataSchemaOf(clientMessages.get(type)), asJson(schema), `${type}: the schema that validates its frames`)
  }
  t.equal(clientMessages.get('chat.send')?.summary, 'Posts to the room', 'a host schema\'s description is its summary')

  const serverMessages = messagesOf(body, 'server-to-client')
  for (const [type, schema] of Object.entries(SERVER_MESSAGE_SCHEMAS) as Array<[string, TSchema]>) {
    t.same(dataSchemaOf(serverMessages.get(type)), asJson(schema), `${type}: its data schema`)
  }
  const shipped = serverMessages.get('invoice.paid')
  t.equal(shipped?.['x-fastify-realtime-origin'], 'host', 'a host event declared only by name is documented')
  t.equal(shipped?.['x-fastify-realtime-subscribable'], true)

  const room = body.channels['namespace.room']
  t.equal(room?.address, 'room:{id}')
  t.same(room?.['x-fastify-realtime-namespace'], { name: 'room', hasAuthorize: true })
  t.same(body.channels['namespace.feed']?.['x-fastify-realtime-namespace'], { name: 'feed', hasAuthorize: false })

  t.same(body['x-fastify-realtime-close-codes'].map(entry => entry.code), Object.values(CloseCode).sort((a, b) => a - b), 'every close code')
  t.same(body['x-fastify-realtime-error-codes'].map(entry => entry.code), Object.values(WireError), 'every wire error code')
  t.same(Object.values(body.components.securitySchemes).map(scheme => scheme['x-fastify-realtime-token-in']), ['path', 'subprotocol', 'header'])
})

t.test('the router validates exactly the documented client types, and frames on the wire match the document', async (t) => {
  const server = await startServer(t, { realtime: hostOptions })
  const document = server.app.realtime.asyncapi()
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats(ajv)
  const check = (message: AsyncApiMessage | undefined, frame: unknown): string[] => {
    if (message === undefined) return ['not documented']
    const validate = ajv.compile(message.payload)
    return validate(frame) ? [] : (validate.errors ?? []).map(e => `${e.instancePath} ${e.message ?? ''}`)
  }
  const clientMessages = messagesOf(document, 'client-to-server')
  const serverMessages = messagesOf(document, 'server-to-client')
  const client = await openSocket(`${server.wsUrl}/${server.token('doc-user')}`)
  t.teardown(() => client.close())
  const welcome = await client.next('connection.established')
  const seen: Array<{ type: string }> = []
  client.ws.on('message', (raw) => seen.push(JSON.parse(raw.toString()) as { type: string }))

  for (const type of clientMessages.keys()) {
    client.send({ type, id: `bad-${type}`, data: 'not an object' })
    t.match(await answerTo(client, `bad-${type}`), { type: 'error', data: { code: WireError.invalidMessage } }, `${type}: the router checks its data`)
  }
  client.send({ type: 'not.documented', id: 'unknown' })
  t.match(await answerTo(client, 'unknown'), { type: 'error', data: { code: WireError.invalidMessageType } }, 'a type the document does not list has no route')

  const frames = [
    { type: 'ping', data: { pingId: 1 }, id: 'p' },
    { type: 'heartbeat' },
    { type: 'subscribe', data: { events: ['invoice.paid'], channels: ['room:1', 'feed:a'] }, id: 's' },
    { type: 'chat.send', data: { text: 'hi' } },
    { type: 'unsubscribe', data: { channels: ['feed:a'] } }
  ]
  for (const frame of frames) t.same(check(clientMessages.get(frame.type), frame), [], `the client's ${frame.type} matches the document`)
  await client.request(frames[0] as { type: string }, 'pong')
  await client.request(frames[1] as { type: string }, 'heartbeat.ack')
  await client.request(frames[2] as { type: string }, 'subscription.confirmed')
  await client.request(frames[4] as { type: string }, 'unsubscription.confirmed')
  await server.app.realtime.broadcastToSubscribers('invoice.paid', { type: 'invoice.paid', data: { invoice_id: 'i1' } })
  await client.next('invoice.paid')
  await server.app.realtime.join({ userId: 'doc-user' }, 'feed:b')
  await client.next('subscription.joined')
  await server.app.realtime.publish('room:1', { type: 'chat.message', data: { text: 'hello' } })
  const published = await client.next('chat.message')
  await server.app.realtime.leave({ userId: 'doc-user' }, 'feed:b', 'revoked')
  await client.next('subscription.ended')

  for (const frame of [welcome, ...seen.filter(m => m.type !== 'chat.message' && m.type !== 'chat.sent')]) {
    t.same(check(serverMessages.get(frame.type), frame), [], `the server's ${frame.type} matches the document`)
  }
  const room = document.components.messages['published.room']
  t.same(check(room, published), [], 'a message published to room:1 matches the namespace\'s published message')
  t.not(check(room, { ...published, channel: 'feed:a' }).length, 0, 'and one of another namespace does not')
})

t.test('asyncapi() is built once: the same deeply frozen document on every call', async (t) => {
  const server = await startServer(t)
  const first = server.app.realtime.asyncapi()
  t.equal(server.app.realtime.asyncapi(), first)
  t.ok(Object.isFrozen(first) && Object.isFrozen(first.components.messages) && Object.isFrozen(first.channels.realtime?.messages))
  t.throws(() => { (first.info as { title: string }).title = 'changed' }, TypeError, 'a caller cannot change the cached document')
  t.equal(first.info.title, 'fastify-realtime')
  t.same(Object.keys(first.channels), ['realtime'], 'no namespace declared, no namespace channel')
  t.same(await problemsOf(first), [], 'the frozen object itself parses')
})

t.test('the asyncapi option is checked like every data option', async (t) => {
  t.throws(() => resolveOptions({ asyncapi: { title: '' } }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /asyncapi\.title/ })
  t.throws(() => resolveOptions({ asyncapi: { titel: 'x' } as never }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /asyncapi/ })
  t.same(resolveOptions({}).asyncapi, { title: 'fastify-realtime', version: '1.0.0' })
})
