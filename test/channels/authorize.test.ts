import t from 'tap'
import { startServer } from '../helpers/server.js'
import { connect, deferred, receivedBefore, subscribe, until, type Deferred } from './support.js'
import type { ChannelAuthorizeContext, ConnectionInfo } from '../../lib/index.js'

interface Call { connection: ConnectionInfo, id: string, context: ChannelAuthorizeContext, answer: Deferred<boolean | { reason: string }> }

/** A namespace whose authorize answers only when the test says so. */
function gated () {
  const calls: Call[] = []
  const authorize = (connection: ConnectionInfo, id: string, context: ChannelAuthorizeContext): Promise<boolean | { reason: string }> => {
    const answer = deferred<boolean | { reason: string }>()
    calls.push({ connection, id, context, answer })
    return answer.promise
  }
  return { calls, authorize }
}

t.test('async authorize runs concurrently for the channels of one request, and gets the connection, id and context', async (t) => {
  const doc = gated()
  const server = await startServer(t, { realtime: { channels: { doc: { authorize: doc.authorize } } } })
  const alice = await connect(t, server, 'alice')
  alice.client.send({ type: 'subscribe', id: 'sub-1', data: { channels: ['doc:1', 'doc:2', 'doc:1'] } })
  await until(() => doc.calls.length === 2, 'both authorize calls')
  t.same(doc.calls.map(c => c.id), ['1', '2'], 'both started before either answered; a repeated channel once')
  const [first, second] = doc.calls as [Call, Call]
  t.equal(first.connection.userId, 'alice')
  t.equal(first.connection.id, alice.id)
  t.match(first.context, { channel: 'doc:1', namespace: 'doc', requestId: 'sub-1' })
  t.equal(typeof first.context.log.info, 'function')
  t.equal(first.context.signal.aborted, false)
  second.answer.resolve(true)
  first.answer.resolve(true)
  const confirmed = await alice.client.next('subscription.confirmed')
  t.same(confirmed.data, { events: [], channels: ['doc:1', 'doc:2'], subscriptions: [], channel_subscriptions: ['doc:1', 'doc:2'], request_id: 'sub-1' })
})

t.test('one slow refusal among admitted channels refuses the whole request', async (t) => {
  const doc = gated()
  const server = await startServer(t, { realtime: { channels: { doc: { authorize: doc.authorize } } } })
  const alice = await connect(t, server, 'alice')
  const answer = subscribe(alice.client, { channels: ['doc:1', 'doc:2'] })
  await until(() => doc.calls.length === 2, 'both authorize calls')
  doc.calls[0]?.answer.resolve(true)
  doc.calls[1]?.answer.resolve({ reason: 'archived' })
  t.match((await answer).data, { code: 'CHANNEL_FORBIDDEN', details: ['doc:2'], reasons: ['archived'] })
  t.equal(server.app.realtime.subscribersOf('doc:1'), 0)
})

t.test('a throwing or rejecting authorize refuses with reason error, logged; a non-true answer refuses', async (t) => {
  const server = await startServer(t, {
    realtime: {
      channels: {
        sync: { authorize: () => { throw new Error('db down') } },
        async: { authorize: async () => { throw new Error('db down later') } },
        odd: { authorize: (() => 'yes') as unknown as () => boolean },
        empty: { authorize: () => ({ reason: '' }) }
      }
    }
  })
  const alice = await connect(t, server, 'alice')
  for (const channel of ['sync:1', 'async:1']) {
    t.match((await subscribe(alice.client, { channels: [channel] })).data, { code: 'CHANNEL_FORBIDDEN', details: [channel], reasons: ['error'] })
  }
  t.match((await subscribe(alice.client, { channels: ['odd:1', 'empty:1'] })).data, { code: 'CHANNEL_FORBIDDEN', details: ['odd:1', 'empty:1'], reasons: ['forbidden', 'forbidden'] })
  const errors = server.logs.filter(line => line.includes('channel authorize threw'))
  t.equal(errors.length, 2)
  t.match(errors[0], /"level":50/)
  t.match(errors[1], /db down later/)
  t.match(await subscribe(alice.client, { events: ['file.ready'] }), { type: 'subscription.confirmed' }, 'the connection still works')
})

t.test('an authorize that never answers is CHANNEL_FORBIDDEN with reason timeout, and its signal is aborted', async (t) => {
  const doc = gated()
  const server = await startServer(t, { realtime: { authorizeTimeoutMs: 50, channels: { doc: { authorize: doc.authorize }, open: {} } } })
  const alice = await connect(t, server, 'alice')
  const answer = await subscribe(alice.client, { channels: ['open:1', 'doc:1'] })
  t.match(answer.data, { code: 'CHANNEL_FORBIDDEN', details: ['doc:1'], reasons: ['timeout'] })
  t.equal(doc.calls[0]?.context.signal.aborted, true, 'the host can stop its query')
  doc.calls[0]?.answer.resolve(true)
  t.same(await receivedBefore(alice, server.app), [], 'a late yes changes nothing')
  t.equal(server.app.realtime.subscribersOf('doc:1'), 0)
  t.equal(server.app.realtime.subscribersOf('open:1'), 0)
})

t.test('a connection that closes while authorizing ends up in no channel and no index', async (t) => {
  const doc = gated()
  const server = await startServer(t, { realtime: { channels: { doc: { authorize: doc.authorize } } } })
  const alice = await connect(t, server, 'alice')
  alice.client.send({ type: 'subscribe', data: { events: ['file.ready'], channels: ['doc:1'] } })
  alice.client.send({ type: 'subscribe', data: { channels: ['doc:2'] } })
  await until(() => doc.calls.length === 1, 'the authorize call')
  const signal = doc.calls[0]?.context.signal
  await alice.client.close()
  await until(() => server.app.realtime.connectionsOf('alice').length === 0, 'the server to forget alice')
  t.equal(signal?.aborted, true, 'the pending authorization is told')
  doc.calls[0]?.answer.resolve(true)
  await new Promise(resolve => setImmediate(resolve))
  t.equal(server.app.realtime.subscribersOf('doc:1'), 0)
  t.equal(doc.calls.length, 1, 'the queued request never ran')
  t.equal(server.app.realtime.stats().subscriptions['file.ready'], undefined, 'not in the event index either')
  t.equal(await server.app.realtime.publish('doc:1', { type: 'note', data: {} }), 0)
})

t.test('requests of one connection apply in order: subscribe (slow) then unsubscribe ends unsubscribed', async (t) => {
  const doc = gated()
  const server = await startServer(t, { realtime: { channels: { doc: { authorize: doc.authorize } } } })
  const alice = await connect(t, server, 'alice')
  const subscribed = subscribe(alice.client, { channels: ['doc:1'] })
  const unsubscribed = subscribe(alice.client, { channels: ['doc:1'] }, 'unsubscribe')
  const events = subscribe(alice.client, { events: ['file.ready'] })
  await until(() => doc.calls.length === 1, 'the authorize call')
  doc.calls[0]?.answer.resolve(true)
  t.match(await subscribed, { type: 'subscription.confirmed', data: { channel_subscriptions: ['doc:1'] } })
  t.match(await unsubscribed, { type: 'unsubscription.confirmed', data: { channel_subscriptions: [] } })
  t.match(await events, { type: 'subscription.confirmed', data: { subscriptions: ['file.ready'] } })
  t.equal(server.app.realtime.subscribersOf('doc:1'), 0)
})

t.test('at most 8 requests wait behind a pending authorization; the next is refused', async (t) => {
  const doc = gated()
  const server = await startServer(t, { realtime: { channels: { doc: { authorize: doc.authorize } } } })
  const alice = await connect(t, server, 'alice')
  const first = subscribe(alice.client, { channels: ['doc:0'] })
  await until(() => doc.calls.length === 1, 'the first authorize call')
  const waiting = Array.from({ length: 8 }, (_, i) => subscribe(alice.client, { events: [i % 2 === 0 ? 'file.ready' : 'upload.progress'] }))
  t.match((await subscribe(alice.client, { events: ['review.updated'] })).data, { code: 'TOO_MANY_SUBSCRIPTIONS' })
  doc.calls[0]?.answer.resolve(true)
  t.match(await first, { type: 'subscription.confirmed' })
  for (const answer of await Promise.all(waiting)) t.equal(answer.type, 'subscription.confirmed')
})

t.test('a leave while the authorization is pending wins over its late yes (no subscribe after a revocation)', async (t) => {
  const doc = gated()
  const server = await startServer(t, { realtime: { channels: { doc: { authorize: doc.authorize } } } })
  const alice = await connect(t, server, 'alice')
  const answer = subscribe(alice.client, { channels: ['doc:1', 'doc:2'] })
  await until(() => doc.calls.length === 2, 'the authorize calls')
  t.equal(await server.app.realtime.leave({ userId: 'alice' }, 'doc:1', 'revoked'), 0, 'not in it yet')
  for (const call of doc.calls) call.answer.resolve(true)
  t.match((await answer).data, { code: 'CHANNEL_FORBIDDEN', details: ['doc:1'], reasons: ['revoked'] })
  t.equal(server.app.realtime.subscribersOf('doc:1'), 0)
  t.equal(server.app.realtime.subscribersOf('doc:2'), 0, 'all or nothing')
  const again = subscribe(alice.client, { channels: ['doc:2'] })
  await until(() => doc.calls.length === 3, 'the next authorize call')
  doc.calls[2]?.answer.resolve(true)
  t.match(await again, { type: 'subscription.confirmed' }, 'once the queue drained, the leave is forgotten')
})

t.test('joins made while authorizing count: the bound is checked again before subscribing', async (t) => {
  const doc = gated()
  const server = await startServer(t, { realtime: { maxSubscriptionsPerConnection: 2, channels: { doc: { authorize: doc.authorize }, open: {} } } })
  const alice = await connect(t, server, 'alice')
  const answer = subscribe(alice.client, { channels: ['doc:1'] })
  await until(() => doc.calls.length === 1, 'the authorize call')
  await server.app.realtime.join({ userId: 'alice' }, 'open:1')
  await server.app.realtime.join({ userId: 'alice' }, 'open:2')
  doc.calls[0]?.answer.resolve(true)
  t.match((await answer).data, { code: 'TOO_MANY_SUBSCRIPTIONS' })
  t.equal(server.app.realtime.subscribersOf('doc:1'), 0)
})

t.test('an unsubscribe whose confirmation cannot be sent answers HANDLER_ERROR, logged, and the connection carries on', async (t) => {
  const server = await startServer(t, { realtime: { maxMessageSize: 16384, channels: { open: {} } } })
  const alice = await connect(t, server, 'alice')
  const long = Array.from({ length: 140 }, (_, i) => `open:${String(i).padStart(3, '0')}${'x'.repeat(125)}`)
  // the server's joins are not bounded: the host decided
  for (const channel of long) await server.app.realtime.join({ userId: 'alice' }, channel)
  t.match((await subscribe(alice.client, { channels: [long[0] as string] }, 'unsubscribe')).data, { code: 'HANDLER_ERROR' })
  t.ok(server.logs.some(line => line.includes('reply not sent') && line.includes('FST_REALTIME_MESSAGE_TOO_LARGE')))
  t.equal(server.app.realtime.subscribersOf(long[0] as string), 0, 'the unsubscribe itself was applied')
  t.match(await subscribe(alice.client, { events: ['file.ready'] }).then(m => m.data), { code: 'TOO_MANY_SUBSCRIPTIONS' }, 'over the bound through joins')
})
