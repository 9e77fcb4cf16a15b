import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import realtime, { defineMessage, type RealtimeOptions } from '../../lib/index.js'
import {
  connect, expectRefused, TestSetupError, UnexpectedMessagesError, ServerErrorReplyError, type ErrorReply
} from '../../lib/testing/index.js'
import type { Teardown } from '../helpers/teardown.js'
import { notification } from '../helpers/messages.js'

const secret = 'a-test-secret-that-is-long-enough-for-hs256'
const HISTORY = { size: 10, ttlMs: 60_000 }

async function appWith (t: Teardown, options: RealtimeOptions = {}): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(realtime, { jwt: secret, ...options })
  t.teardown(() => app.close())
  return app
}

t.test('next(predicate) takes the first message it accepts; the others stay queued, in order', async (t) => {
  const app = await appWith(t)
  const client = await connect(app, { userId: 'u' }, { secret })
  await app.realtime.sendToUser('u', notification('first'))
  await app.realtime.sendToUser('u', notification('second'))
  const second = await client.next((m) => (m.data as { message?: unknown }).message === 'second')
  t.equal(second.type, 'system.notification')
  t.equal((client.queued[0]?.data as { message?: unknown }).message, 'first', 'the skipped one is still queued')
  const later = client.next((m) => m.type === 'file.ready')
  await app.realtime.broadcastFileProcessingStatus('u', 'f1', 'ready')
  t.equal((await later).type, 'file.ready', 'a waiting predicate is handed the message as it arrives')
  await t.rejects(client.next(() => false, { timeoutMs: 30 }), { code: 'FST_REALTIME_TESTING_TIMEOUT', message: /no matching message within 30 ms/ })
})

t.test('request(type, data) resolves with the frame echoing its id: a host reply or an error frame', async (t) => {
  const app = await appWith(t, {
    messages: {
      echo: defineMessage({
        schema: Type.Object({ n: Type.Number() }),
        handler (data, context) { context.reply('echo.reply', { request_id: context.requestId, got: data }) }
      })
    }
  })
  const client = await connect(app, { userId: 'u' }, { secret })
  const reply = await client.request('echo', { n: 1 })
  t.equal(reply.type, 'echo.reply')
  t.same((reply.data as { got?: unknown }).got, { n: 1 })
  const error = await client.request('no.such.type', {})
  t.equal(error.type, 'error', 'an error frame is the reply, not a rejection')
  t.match(error.data, { code: String, request_id: String })
  await client.expectNothing()
})

t.test('subscribe({ channels, recover }) and unsubscribe({ channels }); recovery.result stays queued for next()', async (t) => {
  const app = await appWith(t, { channels: { review: { history: HISTORY } } })
  const first = await connect(app, { userId: 'u' }, { secret })
  const confirmed = await first.subscribe({ channels: ['review:1'] })
  t.same(confirmed.channels, ['review:1'])
  const position = confirmed.positions?.['review:1']
  t.ok(position, 'a channel with history has a position')
  await app.realtime.publish('review:1', { type: 'review.note', data: { n: 1 } })
  t.equal((await first.next('review.note')).offset, 1)
  await first.close()

  await app.realtime.publish('review:1', { type: 'review.note', data: { n: 2 } })
  const back = await connect(app, { userId: 'u' }, { secret })
  await back.subscribe({ channels: ['review:1'], recover: { 'review:1': { epoch: position?.epoch ?? '', offset: 1 } } })
  t.same((await back.next('review.note')).data, { n: 2 }, 'the missed message, after the confirmation')
  t.match((await back.next('recovery.result')).data, { streams: { 'review:1': { recovered: true, missed: 1 } } })
  const left = await back.unsubscribe({ channels: ['review:1'] })
  t.same(left.channels, ['review:1'])
  await back.subscribe(['system.notification'])
  await back.unsubscribe(['system.notification'])
  const refused = await t.rejects(back.subscribe({ channels: ['nope:1'] })) as unknown as ErrorReply
  t.ok(refused instanceof ServerErrorReplyError)
  t.equal(refused.wireCode, 'INVALID_CHANNEL')
})

t.test('connect({ query }) puts a query string on the URL: a string or a record', async (t) => {
  const app = await appWith(t, { channels: { review: {} }, inbox: HISTORY })
  const first = await connect(app, { userId: 'u' }, { secret })
  const inbox = first.connection.inbox
  await first.close()
  await app.realtime.sendToUser('u', notification('missed'))
  for (const query of [`inbox=${inbox?.epoch ?? ''}:0`, `?inbox=${inbox?.epoch ?? ''}:0`, { inbox: `${inbox?.epoch ?? ''}:0` }]) {
    const back = await connect(app, { userId: 'u' }, { secret, query })
    t.match(await back.next('system.notification'), { inbox: true, offset: 1, data: { message: 'missed' } }, `replayed with ${JSON.stringify(query)}`)
    t.match((await back.next('recovery.result')).data, { streams: { inbox: { recovered: true } } })
    await back.close()
  }
  const onPath = await connect(app, { userId: 'u' }, { secret, auth: 'path', query: { inbox: `${inbox?.epoch ?? ''}:1` } })
  t.match((await onPath.next('recovery.result')).data, { streams: { inbox: { recovered: true, missed: 0 } } }, 'after the token in the path too')
})

t.test('connect({ localAddress }) binds the socket to that address', async (t) => {
  const app = await appWith(t)
  const seen: string[] = []
  app.addHook('onRequest', async (request) => { seen.push(request.ip) })
  await connect(app, { userId: 'a' }, { secret, localAddress: '127.0.0.2' })
  await connect(app, { userId: 'b' }, { secret })
  t.same(seen, ['127.0.0.2', '127.0.0.1'])
})

t.test('expectNothing({ via: app }) uses a marker the app sends this connection', async (t) => {
  const app = await appWith(t)
  const client = await connect(app, { userId: 'u' }, { secret })
  await client.expectNothing({ via: app })
  await app.realtime.sendToUser('u', notification('late'))
  const err = await t.rejects(client.expectNothing({ via: app }), UnexpectedMessagesError) as unknown as { messages: Array<{ type: string }> }
  t.same(err.messages.map(m => m.type), ['system.notification'])
  await app.realtime.sendToConnection(client.connectionId, { type: 'testing.marker', data: null })
  await client.expectNothing({ via: app }).then(() => t.fail('a marker without a label is not the sentinel'), (e: { messages: unknown[] }) => t.equal(e.messages.length, 1))
})

t.test('expectRefused resolves with the refusal, fails on an accepted or otherwise failed handshake', async (t) => {
  const app = await appWith(t)
  const refusal = await expectRefused(connect(app, { token: 'garbage' }))
  t.equal(refusal.statusCode, 401)
  t.match(refusal.body, { code: String })
  const accepted = await t.rejects(expectRefused(connect(app, { userId: 'u' }, { secret })), TestSetupError) as unknown as Error
  t.match(accepted.message, /accepted/)
  t.equal(app.realtime.connectionsOf('u').length, 0, 'the accepted client was closed')
  await t.rejects(expectRefused(connect(app, { token: 'x' }, { path: '/nowhere' })), { code: 'FST_REALTIME_TESTING_SETUP' }, 'another failure is rethrown')
})
