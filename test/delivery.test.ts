import t from 'tap'
import { startServer } from './helpers/server.js'
import { messagesBeforeMarker } from './helpers/client.js'
import { notification } from './helpers/messages.js'

t.test("a user never receives another user's targeted message; sendToUser reaches all of the user's connections", async (t) => {
  const server = await startServer(t)
  const alice = await server.connect('alice')
  const bob1 = await server.connect('bob')
  const bob2 = await server.connect('bob')
  await bob2.request({ type: 'subscribe', data: { events: ['review.updated'] } }, 'subscription.confirmed')
  t.equal(await server.app.realtime.sendToUser('bob', notification('hi bob')), 2, 'whatever each connection subscribed to')
  t.match(await bob1.next('system.notification'), { data: { message: 'hi bob' } })
  t.match(await bob2.next('system.notification'), { data: { message: 'hi bob' } })
  t.same(await messagesBeforeMarker(alice, server.app.realtime), [], 'alice got nothing')
  t.equal(await server.app.realtime.sendToUser('nobody', notification('x')), 0)
})

t.test('sendToUser with subscribedTo reaches only the subscribed connections', async (t) => {
  const server = await startServer(t)
  const subscribed = await server.connect('u')
  const plain = await server.connect('u')
  await subscribed.request({ type: 'subscribe', data: { events: ['file.ready'] } }, 'subscription.confirmed')
  const sent = await server.app.realtime.sendToUser('u', { type: 'file.ready', data: { file_id: 'f', status: 'ready', timestamp: new Date().toISOString() } }, { subscribedTo: 'file.ready' })
  t.equal(sent, 1)
  t.equal((await subscribed.next('file.ready')).data.file_id, 'f')
  t.same(await messagesBeforeMarker(plain, server.app.realtime), [], 'the unsubscribed connection got nothing')
})

t.test('broadcastToSubscribers reaches only subscribers, broadcastToAll everyone, once each', async (t) => {
  const server = await startServer(t)
  const sub = await server.connect('a')
  const notSub = await server.connect('b')
  const unsubscribed = await server.connect('c')
  await sub.request({ type: 'subscribe', data: { events: ['system.maintenance'] } }, 'subscription.confirmed')
  await unsubscribed.request({ type: 'subscribe', data: { events: ['system.maintenance'] } }, 'subscription.confirmed')
  await unsubscribed.request({ type: 'unsubscribe', data: { events: ['system.maintenance'] } }, 'unsubscription.confirmed')
  const maintenance = { type: 'system.maintenance' as const, data: { message: 'tonight', timestamp: new Date().toISOString() } }
  t.equal(await server.app.realtime.broadcastToSubscribers('system.maintenance', maintenance), 1)
  t.equal((await sub.next('system.maintenance')).data.message, 'tonight')
  t.same(await messagesBeforeMarker(notSub, server.app.realtime), [], 'never subscribed: nothing')
  t.same(await messagesBeforeMarker(unsubscribed, server.app.realtime), [], 'unsubscribed: nothing')

  t.equal(await server.app.realtime.broadcastToAll(notification('all')), 3)
  const received = await Promise.all([sub, notSub, unsubscribed].map(c => c.next('system.notification')))
  t.equal(new Set(received.map(m => m.id)).size, 1, 'one message, built once: one id for every recipient')
  t.same(await messagesBeforeMarker(sub, server.app.realtime), [], 'exactly once')
})

t.test('sendToConnection reaches one connection, not the other of the same user', async (t) => {
  const server = await startServer(t)
  const one = await server.connect('u')
  await server.connect('u')
  const two = await server.connect('u')
  // connectionsOf lists them in the order they connected
  const [first, , third] = server.app.realtime.connectionsOf('u')
  t.equal(await server.app.realtime.sendToConnection(first?.id ?? '', notification('just one')), 1)
  t.equal((await one.next('system.notification')).data.message, 'just one')
  t.same(await messagesBeforeMarker(two, server.app.realtime), [], 'not the other connection')
  t.equal(await server.app.realtime.sendToConnection(third?.id ?? '', notification('just two')), 1)
  t.equal((await two.next('system.notification')).data.message, 'just two')
  t.same(await messagesBeforeMarker(one, server.app.realtime), [], 'not the first connection')
  t.equal(await server.app.realtime.sendToConnection('no-such-connection', notification('x')), 0)
})

t.test('the seed helpers: system notifications, review updates, file status', async (t) => {
  const server = await startServer(t)
  const alice = await server.connect('alice')
  const bob = await server.connect('bob')
  await alice.request({ type: 'subscribe', data: { events: ['review.updated'] } }, 'subscription.confirmed')

  t.equal(await server.app.realtime.broadcastSystemNotification('to everyone', { level: 'warning' }), 2)
  t.match((await bob.next('system.notification')).data, { message: 'to everyone', level: 'warning', timestamp: String })
  await alice.next('system.notification')
  t.equal(await server.app.realtime.broadcastSystemNotification('only bob', { targetUsers: ['bob'], extra: { link: '/x' } }), 1)
  t.match((await bob.next('system.notification')).data, { message: 'only bob', level: 'info', link: '/x' })
  t.same(await messagesBeforeMarker(alice, server.app.realtime), [], 'not alice')

  t.equal(await server.app.realtime.broadcastReviewUpdated('r1', { status: 'approved' }), 1, 'subscribers only')
  t.match((await alice.next('review.updated')).data, { review_id: 'r1', changes: { status: 'approved' } })
  t.same(await messagesBeforeMarker(bob, server.app.realtime), [], 'not bob, who is not subscribed')
  t.equal(await server.app.realtime.broadcastReviewUpdated('r2', { status: 'rejected' }, ['bob']), 1, 'target users, subscribed or not')
  t.match((await bob.next('review.updated')).data, { review_id: 'r2' })

  t.equal(await server.app.realtime.broadcastFileProcessingStatus('bob', 'f1', 'processing', 75), 1)
  t.match((await bob.next('file.processing')).data, { file_id: 'f1', status: 'processing', progress: 75 })
  t.equal(await server.app.realtime.broadcastFileProcessingStatus('bob', 'f1', 'completed'), 1)
  const ready = await bob.next('file.ready')
  t.match(ready.data, { file_id: 'f1', status: 'completed' })
  t.notOk('progress' in ready.data)
})

t.test('disconnectUser closes every connection of that user with 4500', async (t) => {
  const server = await startServer(t)
  const a1 = await server.connect('a')
  const a2 = await server.connect('a')
  const b = await server.connect('b')
  t.equal(await server.app.realtime.disconnectUser('a', 'revoked'), 2)
  t.same(await a1.closed, { code: 4500, reason: 'revoked' })
  t.equal((await a2.closed).code, 4500)
  t.equal(b.ws.readyState, b.ws.OPEN)
  t.same(server.app.realtime.connectionsOf('a'), [])
})

t.test('stats count what happened', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('u')
  await client.request({ type: 'ping' }, 'pong')
  await client.request({ type: 'bogus' }, 'error')
  const stats = server.app.realtime.stats()
  t.match(stats, { connections: 1, users: 1, messagesIn: 2, errors: 1, rateLimited: 0, connectionsOpened: 1, uptimeSeconds: Number, nodeId: String })
  t.ok(stats.messagesOut >= 3, 'welcome, pong and error')
  const cluster = await server.app.realtime.clusterStats()
  t.match(cluster, { nodes: 1, connections: 1, users: 1, local: { connections: 1 } })
})

t.test('a broadcast framed once arrives intact at every size (7-bit, 16-bit and 64-bit lengths)', async (t) => {
  const server = await startServer(t, { realtime: { maxMessageSize: 300000 } })
  const clients = await Promise.all(['a', 'b', 'c'].map(user => server.connect(user)))
  for (const size of [10, 1000, 70000, 250000]) {
    t.equal(await server.app.realtime.broadcastToAll(notification('x'.repeat(size))), 3)
    for (const client of clients) t.equal((await client.next('system.notification')).data.message, 'x'.repeat(size), `${size} characters`)
  }
})

t.test('with compression on, broadcasts go through ws (no shared frame) and still arrive', async (t) => {
  const server = await startServer(t, { realtime: { compression: true } })
  const clients = await Promise.all(['a', 'b'].map(user => server.connect(user)))
  t.equal(await server.app.realtime.broadcastToAll(notification('y'.repeat(5000))), 2)
  for (const client of clients) {
    t.equal((await client.next('system.notification')).data.message, 'y'.repeat(5000))
    t.match(client.ws.extensions, /permessage-deflate/)
  }
})

t.test('sendToUsers reaches each listed user once, even when listed twice', async (t) => {
  const server = await startServer(t)
  const a = await server.connect('a')
  const b = await server.connect('b')
  const c = await server.connect('c')
  t.equal(await server.app.realtime.sendToUsers(['a', 'a', 'b'], notification('ab')), 2)
  t.equal((await a.next('system.notification')).data.message, 'ab')
  t.equal((await b.next('system.notification')).data.message, 'ab')
  t.same(await messagesBeforeMarker(a, server.app.realtime), [], 'a got it once')
  t.same(await messagesBeforeMarker(c, server.app.realtime), [], 'c was not listed')
})
