import t from 'tap'
import { AsyncLocalStorage } from 'node:async_hooks'
import { tracingChannel, type TracingChannelSubscribers } from 'node:diagnostics_channel'
import { Type } from '@sinclair/typebox'
import { defineMessage, TRACING_CHANNELS, type DeliveryTraceContext, type HandshakeTraceContext, type MessageTraceContext } from '../../lib/index.js'
import { openSocket, refusalOf } from '../helpers/client.js'
import { startServer } from '../helpers/server.js'

interface Seen { event: string, context: Record<string, unknown> }

/** Subscribes to every event of a tracing channel for the test's length; records each with a copy of its context. */
function record<C extends object> (t: { teardown (fn: () => void): void }, name: string): Seen[] {
  const seen: Seen[] = []
  const channel = tracingChannel<unknown, C>(name)
  const on = (event: string) => (context: C) => { seen.push({ event, context: { ...context } as Record<string, unknown> }) }
  const subscribers: TracingChannelSubscribers<C> = { start: on('start'), end: on('end'), asyncStart: on('asyncStart'), asyncEnd: on('asyncEnd'), error: on('error') }
  channel.subscribe(subscribers)
  t.teardown(() => channel.unsubscribe(subscribers))
  return seen
}

const events = (seen: Seen[]): string[] => seen.map(s => s.event)

t.test('the channel names are the documented ones', async (t) => {
  t.same(TRACING_CHANNELS, { handshake: 'fastify-realtime:handshake', message: 'fastify-realtime:message', delivery: 'fastify-realtime:delivery' })
})

t.test('handshakes: start, end, then the outcome; an authenticate hook runs in the tracer\'s async context', async (t) => {
  const spans = new AsyncLocalStorage<string>()
  const seenInHook: Array<string | undefined> = []
  const server = await startServer(t, {
    realtime: {
      authenticate: async (payload) => {
        await new Promise(resolve => setImmediate(resolve))
        seenInHook.push(spans.getStore())
        return payload.sub !== 'banned'
      }
    }
  })
  const seen = record<HandshakeTraceContext>(t, TRACING_CHANNELS.handshake)
  const handshake = tracingChannel<string, HandshakeTraceContext>(TRACING_CHANNELS.handshake)
  handshake.start.bindStore(spans, (context) => `span for ${context.request.url.length > 0 ? 'a handshake' : '?'}`)
  t.teardown(() => handshake.start.unbindStore(spans))

  await server.connect('alice')
  t.same(events(seen), ['start', 'end', 'asyncStart', 'asyncEnd'])
  t.equal(seen[3]?.context.userId, 'alice')
  t.notOk('error' in (seen[3]?.context ?? {}))
  t.same(seenInHook, ['span for a handshake'], 'the hook saw the store the tracer bound at start')

  seen.length = 0
  await refusalOf(openSocket(`${server.wsUrl}/${server.token('banned')}`))
  t.same(events(seen), ['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
  t.match(seen[2]?.context.error, { code: 'FST_REALTIME_UNAUTHORIZED', statusCode: 401 })
})

t.test('a handshake refused synchronously: error as it happens (like traceSync), its outcome after end', async (t) => {
  const server = await startServer(t)
  const seen = record<HandshakeTraceContext>(t, TRACING_CHANNELS.handshake)
  await refusalOf(openSocket(`${server.wsUrl}/not-a-token`))
  t.same(events(seen), ['start', 'error', 'end', 'asyncStart', 'asyncEnd'])
  seen.length = 0
  await server.connect('bob')
  t.same(events(seen), ['start', 'end', 'asyncStart', 'asyncEnd'], 'the synchronous fast path')
  t.equal(seen[3]?.context.userId, 'bob')
})

t.test('messages: each handler is traced with its type; async handlers settle on asyncEnd, failures on error', async (t) => {
  const spans = new AsyncLocalStorage<string>()
  let storeInHandler: string | undefined
  let release: () => void = () => {}
  let started: () => void = () => {}
  const server = await startServer(t, {
    realtime: {
      messages: {
        'job.run': defineMessage({
          schema: Type.Object({}),
          async handler (_data, context) {
            started()
            await new Promise<void>(resolve => { release = resolve })
            storeInHandler = spans.getStore()
            context.reply('job.done', {})
          }
        }),
        'job.fail': defineMessage({ schema: Type.Object({}), handler () { throw new Error('boom') } }),
        'job.reject': defineMessage({ schema: Type.Object({}), async handler () { throw new Error('later') } })
      }
    }
  })
  const client = await server.connect('alice')
  const seen = record<MessageTraceContext>(t, TRACING_CHANNELS.message)
  const message = tracingChannel<string, MessageTraceContext>(TRACING_CHANNELS.message)
  message.start.bindStore(spans, (context) => `span for ${context.type}`)
  t.teardown(() => message.start.unbindStore(spans))

  await client.request({ type: 'ping', data: {}, id: 'p1' }, 'pong')
  t.same(events(seen), ['start', 'end'])
  t.match(seen[0]?.context, { type: 'ping', requestId: 'p1', userId: 'alice', connectionId: String })

  seen.length = 0
  const done = client.next('job.done')
  const running = new Promise<void>(resolve => { started = resolve })
  client.send({ type: 'job.run', data: {} })
  await running
  t.same(events(seen), ['start', 'end'], 'asyncEnd waits for the handler')
  release()
  await done
  await new Promise<void>(resolve => setImmediate(resolve))
  t.same(events(seen), ['start', 'end', 'asyncStart', 'asyncEnd'])
  t.equal(storeInHandler, 'span for job.run', 'the handler ran in the tracer\'s async context, across its await')

  seen.length = 0
  const failed = await client.request({ type: 'job.fail', data: {} }, 'error')
  t.equal(failed.data.code, 'HANDLER_ERROR', 'the node still answers the failure')
  t.same(events(seen), ['start', 'error', 'end'])
  t.match(seen[1]?.context.error, { message: 'boom' })

  seen.length = 0
  const rejected = await client.request({ type: 'job.reject', data: {} }, 'error')
  t.equal(rejected.data.code, 'HANDLER_ERROR')
  await new Promise<void>(resolve => setImmediate(resolve))
  t.same(events(seen), ['start', 'end', 'error', 'asyncStart', 'asyncEnd'], 'a rejection: error, then the async end')
  t.match(seen[2]?.context.error, { message: 'later' })

  seen.length = 0
  await client.request({ type: 'nope' }, 'error')
  t.same(seen, [], 'a frame that reaches no handler is not traced')
})

t.test('deliveries: start/end around the local fan-out, asyncEnd with the local count', async (t) => {
  const server = await startServer(t)
  await server.connect('alice')
  const seen = record<DeliveryTraceContext>(t, TRACING_CHANNELS.delivery)
  t.equal(await server.app.realtime.sendToUser('alice', { type: 'hello', data: {} }), 1)
  t.same(events(seen), ['start', 'end', 'asyncStart', 'asyncEnd'])
  t.match(seen[3]?.context, { type: 'hello', target: { kind: 'users', userIds: ['alice'] }, result: 1 })

  seen.length = 0
  await t.rejects(server.app.realtime.broadcastToAll({ type: 'big', data: 'x'.repeat(70000) }), { code: 'FST_REALTIME_MESSAGE_TOO_LARGE' })
  t.same(events(seen), ['start', 'error', 'end'])
  t.match(seen[1]?.context.error, { code: 'FST_REALTIME_MESSAGE_TOO_LARGE' })
})

t.test('nobody listening: nothing is published and nothing breaks', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('alice')
  for (const name of Object.values(TRACING_CHANNELS)) t.notOk(tracingChannel(name).hasSubscribers, `${name} has no subscribers`)
  await client.request({ type: 'ping', data: {} }, 'pong')
  t.equal(await server.app.realtime.broadcastToAll({ type: 'x', data: {} }), 1)
})
