// The adapter conformance suite: one file of delivery, limit and lifecycle
// behaviours, run against every adapter (test/adapters/<adapter>.test.ts).
// Clients connect through the test kit (fastify-realtime/testing); client i
// of a test goes to node i % nodes, so a one-node target runs every case on
// one node and a several-node target crosses its transport.
import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { RealtimeOptions } from '../../lib/index.js'
import type { RealtimeTestClient, TestCluster } from '../../lib/testing/index.js'
import { notification } from '../helpers/messages.js'
import { MARKER_TYPE, marker, refusalOf } from '../helpers/client.js'
import { eventually } from '../helpers/wait.js'
import type { Teardown } from '../helpers/teardown.js'

export interface AdapterTarget {
  /** Shown in every test name. */
  readonly name: string
  /** How many nodes start() runs: 1 for an adapter that does not cross processes. */
  readonly nodes: number
  /** Starts the nodes with the plugin's `realtime` options; closed in teardown. */
  start (t: Teardown, realtime?: Omit<RealtimeOptions, 'adapter'>): Promise<TestCluster>
}

/** A client and the node index that holds it. */
interface Placed { client: RealtimeTestClient, node: number }

const ready = { type: 'file.ready' as const, data: { file_id: 'f1', status: 'ready', timestamp: new Date().toISOString() } }
const update = { type: 'review.updated' as const, data: { review_id: 'r1', changes: { status: 'approved' }, timestamp: new Date().toISOString() } }
const note = (n: number) => ({ type: 'note', data: { n } })
const channels: NonNullable<RealtimeOptions['channels']> = { review: {}, lobby: {} }

export function adapterConformance (tap: Test, target: AdapterTarget): void {
  const app = (nodes: TestCluster, index: number): FastifyInstance => nodes.nodes[index % nodes.nodes.length] as FastifyInstance
  const start = async (t: Teardown, realtime?: Omit<RealtimeOptions, 'adapter'>): Promise<TestCluster> => target.start(t, realtime)
  /** Client `i` connects to node i % nodes. */
  const place = async (nodes: TestCluster, i: number, userId: string): Promise<Placed> => {
    const node = i % nodes.nodes.length
    return { client: await nodes.connect(node, { userId }), node }
  }

  /**
   * Negative check by sentinel: a marker sent to the connection by a node that
   * does not hold it (when there is one), after the action resolved, so it
   * travels behind the action's publish and behind its echo; nothing but the
   * marker may arrive first.
   */
  const nothingMore = async (nodes: TestCluster, { client, node }: Placed): Promise<void> => {
    const label = randomUUID()
    await app(nodes, node + 1).realtime.sendToConnection(client.connectionId, marker(label))
    await client.expectNothing({ until: (m) => m.type === MARKER_TYPE && (m.data as { label?: unknown }).label === label })
  }

  /** The message arrives, and no second copy follows it. */
  const exactlyOnce = async (nodes: TestCluster, placed: Placed, type: string): Promise<{ data: Record<string, unknown>, id: string }> => {
    const message = await placed.client.next(type)
    await nothingMore(nodes, placed)
    return { data: message.data as Record<string, unknown>, id: message.id }
  }

  const localCount = (placed: Placed[], node: number): number => placed.filter(p => p.node === node).length

  tap.test(`${target.name}: delivery`, async (tap) => {
    tap.test('sendToUser reaches every connection of the user, once, and no other user', async (t) => {
      const nodes = await start(t)
      const bobs = [await place(nodes, 0, 'bob'), await place(nodes, 1, 'bob'), await place(nodes, 2, 'bob')]
      const alices = [await place(nodes, 3, 'alice'), await place(nodes, 4, 'alice')]
      await bobs[2]?.client.subscribe(['review.updated'])

      t.equal(await app(nodes, 0).realtime.sendToUser('bob', notification('hi bob')), localCount(bobs, 0), 'resolves the count on the calling node, whatever each connection subscribed to')
      const seen = await Promise.all(bobs.map(bob => exactlyOnce(nodes, bob, 'system.notification')))
      t.same(seen.map(m => m.data.message), ['hi bob', 'hi bob', 'hi bob'])
      t.equal(new Set(seen.map(m => m.id)).size, 1, 'one envelope (one id, encoded once) for every connection')
      for (const alice of alices) await nothingMore(nodes, alice)
      t.equal(await app(nodes, 1).realtime.sendToUser('nobody', notification('x')), 0, 'a user connected nowhere: 0, no error')
    })

    tap.test('sendToUsers reaches each listed user once; sendToConnection one connection; subscribedTo only the subscribed', async (t) => {
      const nodes = await start(t)
      const alice = await place(nodes, 0, 'alice')
      const bob = await place(nodes, 1, 'bob')
      const carol = await place(nodes, 2, 'carol')
      t.equal(await app(nodes, 0).realtime.sendToUsers(['alice', 'bob', 'bob'], notification('ab')), localCount([alice, bob], 0))
      t.equal((await exactlyOnce(nodes, alice, 'system.notification')).data.message, 'ab')
      t.equal((await exactlyOnce(nodes, bob, 'system.notification')).data.message, 'ab', 'listed twice, received once')
      await nothingMore(nodes, carol)

      const bob2 = await place(nodes, 3, 'bob')
      t.equal(await app(nodes, 0).realtime.sendToConnection(bob.client.connectionId, notification('just one')), localCount([bob], 0))
      t.equal((await exactlyOnce(nodes, bob, 'system.notification')).data.message, 'just one')
      await nothingMore(nodes, bob2)
      t.equal(await app(nodes, 0).realtime.sendToConnection('no-such-connection', notification('x')), 0)

      await bob.client.subscribe(['file.ready'])
      t.equal(await app(nodes, 0).realtime.sendToUser('bob', ready, { subscribedTo: 'file.ready' }), localCount([bob], 0))
      t.equal((await exactlyOnce(nodes, bob, 'file.ready')).data.file_id, 'f1')
      await nothingMore(nodes, bob2)
    })

    tap.test('broadcastToAll reaches everyone once; broadcastToSubscribers only subscribers', async (t) => {
      const nodes = await start(t)
      const clients = [await place(nodes, 0, 'u1'), await place(nodes, 1, 'u2'), await place(nodes, 2, 'u3'), await place(nodes, 3, 'u4')]
      const [sub1, sub2, unsubscribed, never] = clients as [Placed, Placed, Placed, Placed]
      t.equal(await app(nodes, 1).realtime.broadcastToAll(notification('everyone')), localCount(clients, 1 % nodes.nodes.length))
      const ids = new Set<string>()
      for (const client of clients) ids.add((await exactlyOnce(nodes, client, 'system.notification')).id)
      t.equal(ids.size, 1, 'one message, built once')

      for (const client of [sub1, sub2, unsubscribed]) await client.client.subscribe(['review.updated'])
      await unsubscribed.client.unsubscribe(['review.updated'])
      t.equal(await app(nodes, 0).realtime.broadcastToSubscribers('review.updated', update), localCount([sub1, sub2], 0))
      for (const client of [sub1, sub2]) t.equal((await exactlyOnce(nodes, client, 'review.updated')).data.review_id, 'r1')
      await nothingMore(nodes, unsubscribed)
      await nothingMore(nodes, never)
    })

    tap.test('the seed helpers: system notifications, review updates, file status', async (t) => {
      const nodes = await start(t)
      const alice = await place(nodes, 1, 'alice')
      const bob = await place(nodes, 2, 'bob')
      await alice.client.subscribe(['review.updated'])
      const realtime = app(nodes, 0).realtime

      await realtime.broadcastSystemNotification('maintenance', { level: 'warning', targetUsers: ['bob'], extra: { link: '/x' } })
      t.match((await exactlyOnce(nodes, bob, 'system.notification')).data, { message: 'maintenance', level: 'warning', link: '/x' })
      await nothingMore(nodes, alice)
      await realtime.broadcastSystemNotification('to all')
      t.match((await exactlyOnce(nodes, alice, 'system.notification')).data, { message: 'to all', level: 'info', timestamp: String })
      await exactlyOnce(nodes, bob, 'system.notification')

      await realtime.broadcastReviewUpdated('r9', { score: 5 })
      t.match((await exactlyOnce(nodes, alice, 'review.updated')).data, { review_id: 'r9', changes: { score: 5 } })
      await nothingMore(nodes, bob)
      await realtime.broadcastReviewUpdated('r10', { score: 1 }, ['bob'])
      t.match((await exactlyOnce(nodes, bob, 'review.updated')).data, { review_id: 'r10' }, 'target users, subscribed or not')

      await realtime.broadcastFileProcessingStatus('alice', 'file-1', 'processing', 40)
      t.match((await exactlyOnce(nodes, alice, 'file.processing')).data, { file_id: 'file-1', status: 'processing', progress: 40 })
      await realtime.broadcastFileProcessingStatus('alice', 'file-1', 'completed')
      const done = await exactlyOnce(nodes, alice, 'file.ready')
      t.match(done.data, { file_id: 'file-1', status: 'completed' })
      t.notOk('progress' in done.data)
      await nothingMore(nodes, bob)
    })

    tap.test('publish reaches the channel\'s members once, and no one else', async (t) => {
      const nodes = await start(t, { channels })
      const members = [await place(nodes, 0, 'alice'), await place(nodes, 1, 'bob'), await place(nodes, 2, 'dave')]
      const otherChannel = await place(nodes, 3, 'carol')
      const eventSubscriber = await place(nodes, 4, 'erin')
      const subscribe = async ({ client }: Placed, data: { channels?: string[], events?: string[] }): Promise<void> => {
        const confirmed = client.next('subscription.confirmed')
        client.send('subscribe', data)
        await confirmed
      }
      for (const member of members) await subscribe(member, { channels: ['review:42'] })
      await subscribe(otherChannel, { channels: ['review:43'] })
      await subscribe(eventSubscriber, { events: ['review.updated'], channels: ['lobby:1'] })

      t.equal(await app(nodes, 0).realtime.publish('review:42', note(1)), localCount(members, 0), 'the local count, like every delivery method')
      const ids = new Set<string>()
      for (const member of members) {
        const message = await member.client.next('note')
        t.equal((message as { channel?: string }).channel, 'review:42')
        ids.add(message.id)
        await nothingMore(nodes, member)
      }
      t.equal(ids.size, 1, 'one envelope, encoded once')
      await nothingMore(nodes, otherChannel)
      await nothingMore(nodes, eventSubscriber)
    })
  })

  tap.test(`${target.name}: limits`, async (tap) => {
    tap.test('maxConnectionsPerUser holds across the nodes: 429 on any node, other users still connect, a closed connection frees its slot', async (t) => {
      const nodes = await start(t, { maxConnectionsPerUser: 3 })
      const first = await place(nodes, 0, 'alice')
      await place(nodes, 1, 'alice')
      await place(nodes, 2, 'alice')
      for (let node = 0; node < nodes.nodes.length; node++) {
        const refused = await refusalOf(nodes.connect(node, { userId: 'alice' }))
        t.equal(refused.statusCode, 429, `refused on node ${node}`)
        t.match(refused.body, { code: 'FST_REALTIME_USER_CONNECTION_LIMIT', message: String })
      }
      t.equal((await app(nodes, 0).realtime.clusterStats()).connections, 3, 'nothing was allocated for the refused ones')
      await place(nodes, 1, 'bob')

      await first.client.close()
      // the slot is released once the server has seen the socket close: no event to await
      await eventually(async () => (await app(nodes, 0).realtime.clusterStats()).connections === 3, 'the closed connection to leave the count')
      await place(nodes, 1, 'alice')
      t.pass('the freed slot is taken on any node')
    })

    tap.test('maxConnections bounds each node: a full node answers 503, the others still accept', async (t) => {
      const nodes = await start(t, { maxConnections: 2 })
      await nodes.connect(0, { userId: 'a' })
      await nodes.connect(0, { userId: 'b' })
      const refused = await refusalOf(nodes.connect(0, { userId: 'c' }))
      t.equal(refused.statusCode, 503)
      t.match(refused.body, { code: 'FST_REALTIME_SERVER_FULL' })
      t.equal(app(nodes, 0).realtime.stats().connections, 2)
      if (nodes.nodes.length > 1) {
        await nodes.connect(1, { userId: 'c' })
        t.pass('another node has room')
      }
    })
  })

  tap.test(`${target.name}: lifecycle`, async (tap) => {
    tap.test('disconnectUser closes the user\'s connections on every node with 4500, and only theirs', async (t) => {
      const nodes = await start(t)
      const alices = [await place(nodes, 0, 'alice'), await place(nodes, 1, 'alice')]
      const bob = await place(nodes, 2, 'bob')
      t.equal(await app(nodes, 0).realtime.disconnectUser('alice', 'revoked'), localCount(alices, 0), 'resolves the local count')
      for (const alice of alices) t.same(await alice.client.closed, { code: 4500, reason: 'revoked' })
      await nothingMore(nodes, bob)
      t.ok(bob.client.isOpen, 'bob is untouched')
      for (const node of nodes.nodes) t.same(node.realtime.connectionsOf('alice'), [])
      await eventually(async () => (await app(nodes, 0).realtime.clusterStats()).connections === 1, 'alice\'s slots to be released')
    })

    tap.test('stats count this node; clusterStats counts nodes, connections and users across the cluster', async (t) => {
      const nodes = await start(t)
      const clients = [await place(nodes, 0, 'alice'), await place(nodes, 1, 'alice'), await place(nodes, 2, 'bob')]
      const first = clients[0] as Placed
      await first.client.ping()
      first.client.send('bogus')
      await first.client.next('error')
      const stats = app(nodes, 0).realtime.stats()
      const local = clients.filter(c => c.node === 0)
      t.match(stats, { connections: local.length, users: new Set(local.map(c => c.client.userId)).size, messagesIn: 2, errors: 1, rateLimited: 0, connectionsOpened: local.length, uptimeSeconds: Number, nodeId: String })
      t.ok(stats.messagesOut >= 3, 'welcome, pong and error')
      t.match(await app(nodes, 0).realtime.clusterStats(), { nodes: nodes.nodes.length, connections: 3, users: 2, local: { connections: local.length, nodeId: stats.nodeId } })
    })

    tap.test('close() closes its clients with 1001; a closed node leaves the cluster\'s counts at once', async (t) => {
      const nodes = await start(t)
      const clients = [await place(nodes, 0, 'alice'), await place(nodes, 1, 'bob'), await place(nodes, 2, 'carol')]
      const last = nodes.nodes.length - 1
      const closing = clients.filter(c => c.node === last)
      await app(nodes, last).close()
      for (const { client } of closing) t.equal((await client.closed).code, 1001)
      if (last === 0) return
      const staying = clients.filter(c => c.node !== last)
      t.match(await app(nodes, 0).realtime.clusterStats(), { nodes: last, connections: staying.length })
      for (const { client } of staying) t.ok((await client.ping()).pingId, 'the other nodes go on serving')
    })
  })
}
