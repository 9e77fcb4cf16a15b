import t from 'tap'
import { Redis } from 'ioredis'
import { requireRedis, startNode, uniquePrefix, REDIS_URL, type ClusterNode } from './helpers.js'
import { messagesBeforeMarker, type MarkerSender, type TestClient } from '../helpers/client.js'
import type { Teardown } from '../helpers/teardown.js'
import { notification } from '../helpers/messages.js'

interface Asserts { same (found: unknown, wanted: unknown, message: string): boolean }

async function cluster (t: Teardown, size: number, prefix = uniquePrefix(t)): Promise<ClusterNode[]> {
  const nodes: ClusterNode[] = []
  for (let i = 0; i < size; i++) nodes.push(await startNode(t, { prefix }))
  return nodes
}

/**
 * The message arrives, and no second copy follows it. `via` is a node that
 * does not hold `client`: its marker goes through Redis after the action's
 * publish resolved, so it arrives behind any copy (an echo included).
 */
async function exactlyOnce (t: Asserts, client: TestClient, type: string, what: string, via: MarkerSender): Promise<Record<string, unknown> & { id: string }> {
  const message = await client.next(type)
  t.same(await messagesBeforeMarker(client, via), [], `${what}: exactly once`)
  return { ...message.data, id: message.id }
}

if (requireRedis(t)) {
  t.test('sendToUser reaches the user\'s connections on every node exactly once, and nobody else', async (t) => {
    const [a, b, c] = await cluster(t, 3) as [ClusterNode, ClusterNode, ClusterNode]
    const bobOnA = await a.connect('bob')
    const bobOnB = await b.connect('bob')
    const bobOnC = await c.connect('bob')
    const aliceOnB = await b.connect('alice')
    const aliceOnC = await c.connect('alice')

    t.equal(await a.app.realtime.sendToUser('bob', notification('hi bob')), 1, 'resolves the count on the calling node')
    const seen = await Promise.all([
      exactlyOnce(t, bobOnA, 'system.notification', 'bob on A', b.app.realtime),
      exactlyOnce(t, bobOnB, 'system.notification', 'bob on B', a.app.realtime),
      exactlyOnce(t, bobOnC, 'system.notification', 'bob on C', a.app.realtime)
    ])
    t.same(seen.map(m => m.message), ['hi bob', 'hi bob', 'hi bob'])
    t.equal(new Set(seen.map(m => m.id)).size, 1, 'the same envelope (one id, encoded once) on every node')
    t.same(await messagesBeforeMarker(aliceOnB, a.app.realtime), [], 'never the wrong user')
    t.same(await messagesBeforeMarker(aliceOnC, a.app.realtime), [], 'not this connection')

    t.equal(await b.app.realtime.sendToUser('nobody', notification('x')), 0, 'a user connected nowhere: 0, no error')
  })

  t.test('sendToUsers, sendToConnection and subscribedTo across nodes', async (t) => {
    const [a, b] = await cluster(t, 2) as [ClusterNode, ClusterNode]
    const alice = await a.connect('alice')
    const bob = await b.connect('bob')
    const carol = await b.connect('carol')
    t.equal(await a.app.realtime.sendToUsers(['alice', 'bob', 'bob'], notification('both')), 1)
    await exactlyOnce(t, alice, 'system.notification', 'alice', b.app.realtime)
    await exactlyOnce(t, bob, 'system.notification', 'bob, listed twice', a.app.realtime)
    t.same(await messagesBeforeMarker(carol, a.app.realtime), [], 'not this connection')

    const bobId = b.app.realtime.connectionsOf('bob')[0]?.id as string
    t.equal(await a.app.realtime.sendToConnection(bobId, notification('to one connection')), 0, 'not on this node')
    t.equal((await exactlyOnce(t, bob, 'system.notification', 'the connection on the other node', a.app.realtime)).message, 'to one connection')

    await bob.request({ type: 'subscribe', data: { events: ['file.ready'] } }, 'subscription.confirmed')
    const bob2 = await b.connect('bob')
    const ready = { type: 'file.ready' as const, data: { file_id: 'f1', status: 'ready', timestamp: new Date().toISOString() } }
    t.equal(await a.app.realtime.sendToUser('bob', ready, { subscribedTo: 'file.ready' }), 0)
    t.equal((await exactlyOnce(t, bob, 'file.ready', 'the subscribed connection', a.app.realtime)).file_id, 'f1')
    t.same(await messagesBeforeMarker(bob2, a.app.realtime), [], 'the unsubscribed connection of the same user gets nothing')
  })

  t.test('broadcastToAll and broadcastToSubscribers reach every node once', async (t) => {
    const [a, b, c] = await cluster(t, 3) as [ClusterNode, ClusterNode, ClusterNode]
    const clients = [await a.connect('u1'), await b.connect('u2'), await c.connect('u3'), await c.connect('u4')]
    t.equal(await b.app.realtime.broadcastToAll(notification('everyone')), 1)
    for (const [i, client] of clients.entries()) await exactlyOnce(t, client, 'system.notification', `client ${i}`, i === 1 ? a.app.realtime : b.app.realtime)

    const [onA, onB, onC, notSubscribed] = clients as [TestClient, TestClient, TestClient, TestClient]
    for (const client of [onA, onB, onC]) await client.request({ type: 'subscribe', data: { events: ['review.updated'] } }, 'subscription.confirmed')
    const update = { type: 'review.updated' as const, data: { review_id: 'r1', changes: { status: 'approved' }, timestamp: new Date().toISOString() } }
    t.equal(await c.app.realtime.broadcastToSubscribers('review.updated', update), 1)
    for (const client of [onA, onB, onC]) t.equal((await exactlyOnce(t, client, 'review.updated', 'a subscriber', client === onC ? a.app.realtime : c.app.realtime)).review_id, 'r1')
    t.same(await messagesBeforeMarker(notSubscribed, a.app.realtime), [], 'not subscribed: nothing')
  })

  t.test('the seed\'s helpers reach the other nodes', async (t) => {
    const [a, b] = await cluster(t, 2) as [ClusterNode, ClusterNode]
    const alice = await b.connect('alice')
    const bob = await b.connect('bob')
    await alice.request({ type: 'subscribe', data: { events: ['review.updated'] } }, 'subscription.confirmed')

    t.equal(await a.app.realtime.broadcastSystemNotification('maintenance', { level: 'warning', targetUsers: ['bob'] }), 0)
    t.match(await exactlyOnce(t, bob, 'system.notification', 'targeted notification', a.app.realtime), { message: 'maintenance', level: 'warning' })
    t.same(await messagesBeforeMarker(alice, a.app.realtime), [], 'not this connection')

    await a.app.realtime.broadcastSystemNotification('to all')
    await exactlyOnce(t, alice, 'system.notification', 'notification to all (alice)', a.app.realtime)
    await exactlyOnce(t, bob, 'system.notification', 'notification to all (bob)', a.app.realtime)

    await a.app.realtime.broadcastReviewUpdated('r9', { score: 5 })
    t.match(await exactlyOnce(t, alice, 'review.updated', 'review to subscribers', a.app.realtime), { review_id: 'r9', changes: { score: 5 } })
    t.same(await messagesBeforeMarker(bob, a.app.realtime), [], 'not this connection')

    await a.app.realtime.broadcastReviewUpdated('r10', { score: 1 }, ['bob'])
    t.match(await exactlyOnce(t, bob, 'review.updated', 'review to target users', a.app.realtime), { review_id: 'r10' })

    await a.app.realtime.broadcastFileProcessingStatus('alice', 'file-1', 'processing', 40)
    t.match(await exactlyOnce(t, alice, 'file.processing', 'file status', a.app.realtime), { file_id: 'file-1', progress: 40 })
    t.same(await messagesBeforeMarker(bob, a.app.realtime), [], 'not this connection')
  })

  t.test('a node ignores its own messages and drops frames it cannot read, warning once', async (t) => {
    const prefix = uniquePrefix(t)
    const [a, b] = await cluster(t, 2, prefix) as [ClusterNode, ClusterNode]
    const alice = await a.connect('alice')
    const bob = await b.connect('bob')
    t.equal(await a.app.realtime.broadcastToAll(notification('mine')), 1)
    await exactlyOnce(t, alice, 'system.notification', 'delivered locally, its echo through Redis ignored', b.app.realtime)
    await exactlyOnce(t, bob, 'system.notification', 'delivered on the other node', a.app.realtime)

    const intruder = new Redis(REDIS_URL)
    t.teardown(() => intruder.disconnect())
    await intruder.publish(`${prefix}:messages`, 'not a frame')
    await intruder.publish(`${prefix}:messages`, '1\nsomeone\n{not json\n{}')
    await intruder.publish(`${prefix}:messages`, '9\nfuture\n{}\n{}')
    // a well-formed frame that the node cannot apply: logged, and the node goes on
    await intruder.publish(`${prefix}:messages`, '1\nsomeone\n{"kind":"deliver","target":{"kind":"users","userIds":5}}\n{}')
    await a.app.realtime.broadcastToAll(notification('still fine'))
    t.equal((await exactlyOnce(t, bob, 'system.notification', 'after garbage', a.app.realtime)).message, 'still fine')
    t.equal(b.logs.filter(line => line.includes('unknown format')).length, 1, 'warned once for three bad frames')
    t.equal(b.logs.filter(line => line.includes('could not apply a message')).length, 1)
  })
}
