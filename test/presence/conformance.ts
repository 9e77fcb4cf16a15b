// The presence behaviours every adapter must give, written once: memory.test.ts
// and redis.test.ts run them. Observers are subscribed to user.status_changed and
// are kept out of the audience themselves, so they only see the users under test.
import type { Test } from 'tap'
import { UserStatusChangedSchema, type PresenceAudienceHook, type RealtimeOptions } from '../../lib/index.js'
import type { TestClient } from '../helpers/client.js'
import type { TestServer } from '../helpers/server.js'
import { channelPresenceConformance } from './channel-conformance.js'
import { nextStatuses, receivedBeforeMarker, schemaErrors, statusesIn, subscribedToStatus, type PresenceCluster, type StatusChanged } from './support.js'

const GRACE_MS = 200
const everyoneButObservers: PresenceAudienceHook = (userId) => userId.startsWith('observer') ? [] : 'all'

function withPresence (presence: NonNullable<RealtimeOptions['presence']>, extra: RealtimeOptions = {}): RealtimeOptions {
  return { maxConnectionsPerUser: 10, ...extra, presence }
}

async function observers (nodes: TestServer[]): Promise<TestClient[]> {
  return Promise.all(nodes.map((node, i) => node.connect(`observer-${i}`).then(subscribedToStatus)))
}

/** Nothing but `expected` reached each observer before a marker from every node. */
async function onlyThese (t: Test, nodes: TestServer[], watchers: TestClient[], what: string): Promise<void> {
  for (const [i, watcher] of watchers.entries()) {
    for (const node of nodes) {
      t.same(statusesIn(await receivedBeforeMarker(watcher, node, `observer-${i}`)), [], `${what}: nothing more for observer ${i}`)
    }
  }
}

export function presenceConformance (t: Test, cluster: PresenceCluster): void {
  t.test(`${cluster.name}: concurrent connects on two nodes announce online once, the last close offline once after the grace`, async (t) => {
    const nodes = await cluster.start(t, 2, withPresence({ offlineGraceMs: GRACE_MS, audience: everyoneButObservers }))
    const watchers = await observers(nodes)
    const users = ['alice', 'bob', 'carol', 'dave']
    // every user opens two connections on each node at once
    const clients = await Promise.all(users.flatMap(user => [0, 1, 0, 1].map(i => (nodes[i] as TestServer).connect(user))))
    for (const watcher of watchers) {
      t.same((await nextStatuses(watcher, users.length)).sort(), users.map(u => `${u}:online`).sort(), 'each user online once')
    }
    t.same(await nodes[1]?.app.realtime.onlineUsers([...users, 'nobody']), users)
    // all at once again: the last close of each user, on whichever node, leads to one offline
    await Promise.all(clients.map(client => client.close()))
    for (const watcher of watchers) {
      t.same((await nextStatuses(watcher, users.length)).sort(), users.map(u => `${u}:offline`).sort(), 'each user offline once')
    }
    await onlyThese(t, nodes, watchers, 'after the offlines')
    t.equal(await nodes[0]?.app.realtime.onlineCount(), 2, 'only the observers are left')
  })

  t.test(`${cluster.name}: a reconnect within the grace is not announced; the status message is well formed`, async (t) => {
    const nodes = await cluster.start(t, 2, withPresence({ offlineGraceMs: 1500, audience: everyoneButObservers }))
    const [watcher] = await observers(nodes.slice(0, 1)) as [TestClient]
    const first = await (nodes[0] as TestServer).connect('alice')
    const online = await watcher.next<StatusChanged>('user.status_changed')
    t.match(online.data, { user_id: 'alice', status: 'online', timestamp: String })
    t.same(schemaErrors(online, UserStatusChangedSchema), [], 'matches the exported schema')
    t.ok(Math.abs(Date.parse(online.data.timestamp) - Date.now()) < 60000, 'timestamp is a date')
    // a page reload: the socket closes, a new one opens on the other node
    await first.close()
    const second = await (nodes[1] as TestServer).connect('alice')
    t.equal(await nodes[0]?.app.realtime.isOnline('alice'), true)
    const closedAt = Date.now()
    await second.close()
    const offline = await watcher.next<StatusChanged>('user.status_changed', 10000)
    t.match(offline.data, { user_id: 'alice', status: 'offline' })
    t.ok(Date.now() - closedAt >= 1500 - 50, 'offline only once the grace after the last close is over')
    t.same(statusesIn(await receivedBeforeMarker(watcher, nodes[0] as TestServer, 'observer-0')), [], 'no offline/online pair for the reload')
    t.equal(await nodes[1]?.app.realtime.isOnline('alice'), false)
  })

  t.test(`${cluster.name}: the audience hook decides who hears; without one nobody does`, async (t) => {
    const calls: string[] = []
    const audience: PresenceAudienceHook = async (userId, status) => {
      calls.push(`${userId}:${status}`)
      await new Promise(resolve => setImmediate(resolve))
      if (userId === 'alice') return ['bob', 'dave']
      if (userId === 'mallory') throw new Error('directory down')
      if (userId === 'eve') return 'nonsense' as unknown as string[]
      return []
    }
    const nodes = await cluster.start(t, 2, withPresence({ offlineGraceMs: GRACE_MS, audience }))
    const [a, b] = nodes as [TestServer, TestServer]
    const bob = await subscribedToStatus(await a.connect('bob'))
    const carol = await subscribedToStatus(await b.connect('carol'))
    const dave = await b.connect('dave') // in the audience but not subscribed
    for (const user of ['mallory', 'eve']) await (await a.connect(user)).close()
    const alice = await b.connect('alice')
    t.same(await nextStatuses(bob, 1), ['alice:online'], 'bob is in alice\'s audience')
    await alice.close()
    t.same(await nextStatuses(bob, 1), ['alice:offline'])
    for (const node of nodes) t.same(statusesIn(await receivedBeforeMarker(carol, node, 'carol')), [], 'carol is not in the audience')
    for (const node of nodes) t.same(statusesIn(await receivedBeforeMarker(dave, node, 'dave')), [], 'dave did not subscribe')
    t.same(statusesIn(await receivedBeforeMarker(bob, a, 'bob')), [], 'a failing or malformed hook reaches nobody')
    t.ok(calls.includes('alice:online') && calls.includes('alice:offline'), 'the hook is asked for each change with its status')
    t.equal(calls.filter(call => call === 'alice:online').length, 1, 'once per change across the cluster')
    const logs = nodes.flatMap(node => node.logs)
    t.ok(logs.some(line => /audience hook failed/.test(line)), 'a throwing hook is logged')

    // no hook: announced to nobody (a user's own connections could never witness a change of their own status)
    const quiet = await cluster.start(t, 2, withPresence({ offlineGraceMs: GRACE_MS }))
    const [c, d] = quiet as [TestServer, TestServer]
    const watching = await subscribedToStatus(await c.connect('watcher'))
    const aliceTab = await subscribedToStatus(await c.connect('alice'))
    const otherTab = await d.connect('alice')
    await otherTab.close()
    await (await d.connect('bob')).close()
    t.equal(await d.app.realtime.isOnline('bob'), true, 'presence itself is on (bob is in his grace)')
    for (const node of quiet) {
      t.same(statusesIn(await receivedBeforeMarker(watching, node, 'watcher')), [], 'another user hears nothing')
      t.same(statusesIn(await receivedBeforeMarker(aliceTab, node, 'alice')), [], 'nor does alice of her own tabs')
    }
  })

  t.test(`${cluster.name}: bulk and single queries are cluster-wide`, async (t) => {
    const nodes = await cluster.start(t, 2, withPresence({ offlineGraceMs: GRACE_MS, audience: everyoneButObservers }))
    const [a, b] = nodes as [TestServer, TestServer]
    const [watcher] = await observers([a]) as [TestClient]
    // asked on the node that holds the connection: its accept reached the backend before this query
    t.equal(await a.app.realtime.onlineCount(), 1, 'the observer')
    const alice = await a.connect('alice')
    await b.connect('bob')
    await b.connect('bob')
    t.same((await nextStatuses(watcher, 2)).sort(), ['alice:online', 'bob:online'], 'both online')
    t.equal(await b.app.realtime.isOnline('alice'), true, 'alice is on A, asked on B')
    t.equal(await a.app.realtime.isOnline('bob'), true)
    t.equal(await a.app.realtime.isOnline('nobody'), false)
    t.same(await b.app.realtime.onlineUsers(['nobody', 'bob', 'alice', 'bob']), ['bob', 'alice'], 'online ones, once each, in the order asked')
    t.same(await b.app.realtime.onlineUsers([]), [])
    t.equal(await a.app.realtime.onlineCount(), 3)
    await alice.close()
    t.equal(await b.app.realtime.isOnline('alice'), true, 'still online through the grace')
    t.same(await nextStatuses(watcher, 1), ['alice:offline'])
    t.equal(await b.app.realtime.isOnline('alice'), false)
    t.same(await a.app.realtime.onlineUsers(['alice', 'bob']), ['bob'])
    t.equal(await a.app.realtime.onlineCount(), 2)
    await t.rejects(a.app.realtime.onlineUsers('alice' as unknown as string[]), { code: 'FST_REALTIME_PRESENCE_QUERY_INVALID' })
    await t.rejects(a.app.realtime.isOnline(42 as unknown as string), { code: 'FST_REALTIME_PRESENCE_QUERY_INVALID' })
    const many = Array.from({ length: 5000 }, (_, i) => `user-${i}`)
    t.same(await a.app.realtime.onlineUsers([...many, 'bob']), ['bob'], 'a long list in one query')
  })

  t.test(`${cluster.name}: presence is off unless asked for`, async (t) => {
    const [node] = await cluster.start(t, 1, {}) as [TestServer]
    const watcher = await subscribedToStatus(await node.connect('observer'))
    await node.connect('alice')
    t.same(statusesIn(await receivedBeforeMarker(watcher, node, 'observer')), [])
    await t.rejects(node.app.realtime.isOnline('alice'), { code: 'FST_REALTIME_PRESENCE_DISABLED' })
    await t.rejects(node.app.realtime.onlineUsers(['alice']), { code: 'FST_REALTIME_PRESENCE_DISABLED' })
    await t.rejects(node.app.realtime.onlineCount(), { code: 'FST_REALTIME_PRESENCE_DISABLED' })
  })

  channelPresenceConformance(t, cluster)
}
