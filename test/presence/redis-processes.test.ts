import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import t from 'tap'
import { openSocket, type TestClient } from '../helpers/client.js'
import type { TestServer } from '../helpers/server.js'
import type { PresenceAudienceHook, RedisAdapterStatus } from '../../lib/index.js'
import { adapterStatus, eventually, requireRedis, requireRedisServerBinary, startNode, startPrivateRedis, uniquePrefix, REDIS_URL, type ClusterNode } from '../redis/helpers.js'
import { nextStatuses, receivedBeforeMarker, statusesIn, subscribedToStatus, type StatusChanged, type Teardown } from './support.js'
import { forkServer } from '../helpers/forked-server.js'

const everyoneButObservers: PresenceAudienceHook = (userId) => userId.startsWith('observer') ? [] : 'all'

interface NodeProcess { child: ChildProcess, port: number }

async function forkNode (t: Teardown, env: Record<string, string>): Promise<NodeProcess> {
  const { child, ready } = await forkServer<{ port: number }>(t, path.join(__dirname, 'fixtures', 'presence-node.ts'), 'REALTIME_PRESENCE_NODE_PROCESS', { REDIS_URL, ...env })
  return { child, port: ready.port }
}

async function connectTo (t: Teardown, server: TestServer, port: number, userId: string): Promise<TestClient> {
  const client = await openSocket(`ws://127.0.0.1:${port}/ws/${server.token(userId)}`)
  t.teardown(() => client.close())
  await client.next('connection.established')
  return client
}

/** Kills both processes holding alice, and measures how long until the observer hears she is offline. */
async function killedNodesOffline (t: Teardown & { comment (...m: unknown[]): void }, leaseMs: number | undefined, graceMs: number | undefined): Promise<{ afterMs: number, statuses: string[], observer: TestClient, node: ClusterNode }> {
  const prefix = uniquePrefix(t)
  const env: Record<string, string> = { KEY_PREFIX: prefix }
  if (leaseMs !== undefined) env.LEASE_MS = String(leaseMs)
  if (graceMs !== undefined) env.GRACE_MS = String(graceMs)
  const presence = graceMs === undefined ? { audience: everyoneButObservers } : { offlineGraceMs: graceMs, audience: everyoneButObservers }
  const node = await startNode(t, { prefix, adapter: leaseMs === undefined ? {} : { leaseMs }, realtime: { presence } })
  const [b, c] = await Promise.all([forkNode(t, env), forkNode(t, env)])
  const observer = await subscribedToStatus(await node.connect('observer'))
  // alice on both processes at once: one online
  const [onB, onC] = await Promise.all([connectTo(t, node, b.port, 'alice'), connectTo(t, node, c.port, 'alice')])
  const statuses = await nextStatuses(observer, 1)

  // C dies: alice is still on B, so its reaping must not take her offline
  c.child.kill('SIGKILL')
  await onC.closed
  b.child.kill('SIGKILL')
  const killedAt = Date.now()
  await onB.closed
  const offline = await observer.next<StatusChanged>('user.status_changed', 60000)
  const afterMs = Date.now() - killedAt
  statuses.push(`${offline.data.user_id}:${offline.data.status}`)
  return { afterMs, statuses, observer, node }
}

if (requireRedis(t)) {
  t.test('a SIGKILLed node\'s users go offline once its lease lapses (short lease)', async (t) => {
    const leaseMs = 1000
    const graceMs = 200
    const { afterMs, statuses, observer, node } = await killedNodesOffline(t, leaseMs, graceMs)
    t.same(statuses, ['alice:online', 'alice:offline'], 'one online, one offline, nothing for the first node\'s death')
    t.same(statusesIn(await receivedBeforeMarker(observer, node, 'observer')), [], 'nothing more')
    t.equal(await node.app.realtime.isOnline('alice'), false)
    // bound: the lease (the last heartbeat may be just before the kill) + the rest of the grace + one sweep
    const boundMs = leaseMs + graceMs + 1000
    t.comment(`offline ${afterMs} ms after the SIGKILL (leaseMs ${leaseMs}, offlineGraceMs ${graceMs}, bound ${boundMs} ms + scheduling)`)
    t.ok(afterMs <= boundMs + 1500, `within the bound (${afterMs} ms)`)
  })

  t.test('with the default lease and grace, a SIGKILLed node\'s users are offline within 20 s', async (t) => {
    const { afterMs, statuses } = await killedNodesOffline(t, undefined, undefined)
    t.same(statuses, ['alice:online', 'alice:offline'])
    t.comment(`offline ${afterMs} ms after the SIGKILL with the defaults (leaseMs 15000, heartbeatMs 5000, offlineGraceMs 5000, presenceSweepMs 1000)`)
    t.ok(afterMs < 20000, `under 20 s (${afterMs} ms)`)
  })
}

const status = async (node: ClusterNode, wanted: RedisAdapterStatus): Promise<void> => adapterStatus(node, wanted, 15000)

if (requireRedis(t) && requireRedisServerBinary(t)) {
  t.test('Redis stops and comes back empty: presence heals by itself, each change announced once', async (t) => {
    const redis = await startPrivateRedis(t)
    const prefix = uniquePrefix(t, redis.url)
    const options = { prefix, url: redis.url, adapter: { leaseMs: 1000, heartbeatMs: 50 }, realtime: { maxConnectionsPerUser: 5, presence: { offlineGraceMs: 200, audience: everyoneButObservers } } }
    const a = await startNode(t, options)
    const b = await startNode(t, options)
    const observer = await subscribedToStatus(await a.connect('observer-a'))
    const observerB = await subscribedToStatus(await b.connect('observer-b'))
    await a.connect('alice')
    await b.connect('bob')
    const dave = await b.connect('dave')
    for (const watcher of [observer, observerB]) t.same((await nextStatuses(watcher, 3)).sort(), ['alice:online', 'bob:online', 'dave:online'])

    await redis.kill()
    await Promise.all([status(a, 'disconnected'), status(b, 'disconnected')])
    // while Redis is away: dave leaves, carol arrives; nobody can decide anything cluster-wide yet
    await dave.close()
    await a.connect('carol')
    await t.rejects(a.app.realtime.isOnline('alice'), 'no answer without Redis')

    await redis.start()
    await Promise.all([status(a, 'connected'), status(b, 'connected')])
    // no event says when both nodes put Redis right and dave's grace ended: poll the state
    await eventually(async () => (await b.app.realtime.onlineUsers(['alice', 'bob', 'carol', 'dave'])).join() === 'alice,bob,carol', 'presence healed')
    // A node announces what its script decided, to every node connected at that moment: the other node may
    // still be resubscribing (pub/sub is at most once), but the deciding node's own observer always hears it
    const heard = []
    for (const [watcher, userId] of [[observer, 'observer-a'], [observerB, 'observer-b']] as const) {
      const statuses = [...statusesIn(await receivedBeforeMarker(watcher, a, userId)), ...statusesIn(await receivedBeforeMarker(watcher, b, userId))]
      t.same(statuses.filter(status => !['carol:online', 'dave:offline'].includes(status)), [], `${userId}: no one who stayed is announced again`)
      t.equal(new Set(statuses).size, statuses.length, `${userId}: each change at most once`)
      heard.push(...statuses)
    }
    t.same([...new Set(heard)].sort(), ['carol:online', 'dave:offline'], 'what changed during the outage is announced')
    t.equal(await a.app.realtime.onlineCount(), 5, 'three users and the two observers')
  })
}
