// Channel presence, run by conformance.ts against every adapter: joins and
// leaves per user (not per connection), once across the cluster, with the grace.
import type { Test } from 'tap'
import { PresenceJoinedSchema, PresenceStateSchema, type RealtimeOptions } from '../../lib/index.js'
import type { Envelope, TestClient } from '../helpers/client.js'
import type { TestServer } from '../helpers/server.js'
import { receivedBeforeMarker, schemaErrors, type PresenceCluster } from './support.js'

const GRACE_MS = 200

const options = (extra: RealtimeOptions = {}): RealtimeOptions => ({
  maxConnectionsPerUser: 10,
  presence: { offlineGraceMs: GRACE_MS },
  channels: { review: { presence: true }, room: { presence: 'count' }, plain: {} },
  ...extra
})

interface PresenceNotice { channel: string, user_id: string }

let requests = 0
/** Sends a request with an id and resolves its answer (a reply or an error); other messages stay queued. */
async function ask (client: TestClient, type: string, data: unknown): Promise<Envelope> {
  const id = `p${++requests}`
  const answer = client.nextWhere((m) => (m.data as { request_id?: unknown }).request_id === id, `the answer to ${type}`, 10000)
  client.send({ type, id, data })
  return answer
}

async function subscribed (client: TestClient, channel: string): Promise<TestClient> {
  const answer = await ask(client, 'subscribe', { channels: [channel] })
  if (answer.type !== 'subscription.confirmed') throw new Error(`subscribe refused: ${JSON.stringify(answer.data)}`)
  return client
}

const isNotice = (m: Envelope): boolean => m.type === 'presence.joined' || m.type === 'presence.left'

/** The next presence.joined / presence.left messages, as `type user` strings. */
async function notices (client: TestClient, count: number): Promise<string[]> {
  const seen: string[] = []
  while (seen.length < count) {
    const message = await client.nextWhere<PresenceNotice>(isNotice, 'presence.joined or presence.left', 10000)
    seen.push(`${message.type} ${message.data.user_id}`)
  }
  return seen
}

const presenceIn = (messages: Envelope[]): string[] =>
  messages.filter(m => m.type.startsWith('presence.')).map(m => `${m.type} ${String((m.data as { user_id?: unknown }).user_id)}`)

async function nothingMore (t: Test, client: TestClient, userId: string, nodes: TestServer[], what: string): Promise<void> {
  for (const node of nodes) t.same(presenceIn(await receivedBeforeMarker(client, node, userId)), [], what)
}

export function channelPresenceConformance (t: Test, cluster: PresenceCluster): void {
  t.test(`${cluster.name}: a user joins and leaves a channel once, however many connections, on whichever node`, async (t) => {
    const nodes = await cluster.start(t, 2, options())
    const [a, b] = nodes as [TestServer, TestServer]
    const watchers = [await subscribed(await a.connect('watcher-a'), 'review:42'), await subscribed(await b.connect('watcher-b'), 'review:42')]
    t.same(await notices(watchers[0] as TestClient, 2), ['presence.joined watcher-a', 'presence.joined watcher-b'], 'a subscriber hears of itself, then of who comes after')
    t.same(await notices(watchers[1] as TestClient, 1), ['presence.joined watcher-b'])
    const elsewhere = await subscribed(await a.connect('elsewhere'), 'review:43')
    t.same(await notices(elsewhere, 1), ['presence.joined elsewhere'])

    // alice subscribes from two connections on each node at once
    const alice = await Promise.all([a, b, a, b].map(node => node.connect('alice')))
    await Promise.all(alice.map(client => subscribed(client, 'review:42')))
    for (const watcher of watchers) t.same(await notices(watcher, 1), ['presence.joined alice'], 'one joined for four connections')
    // three of them go (one unsubscribes, two close): alice is still there
    await ask(alice[0] as TestClient, 'unsubscribe', { channels: ['review:42'] })
    await Promise.all([alice[1], alice[2]].map(client => client?.close()))
    const state = await ask(watchers[0] as TestClient, 'presence', { channel: 'review:42' })
    t.equal(state.type, 'presence.state')
    t.same(schemaErrors(state, PresenceStateSchema), [], 'presence.state matches the exported schema')
    t.match(state.data, { channel: 'review:42', count: 3 })
    const users = (state.data as { users: Array<{ user_id: string, connections: number, joined_at: string }> }).users
    t.same(users.map(user => user.user_id).sort(), ['alice', 'watcher-a', 'watcher-b'])
    // the closes on the other node may not have reached the backend yet: at least the one that stays
    t.match(users.find(user => user.user_id === 'alice'), { connections: Number, joined_at: String })
    t.ok((users.find(user => user.user_id === 'alice')?.connections ?? 0) >= 1)
    for (const watcher of watchers) t.same(presenceIn(await receivedBeforeMarker(watcher, a, watcher === watchers[0] ? 'watcher-a' : 'watcher-b')), [], 'no left while one connection stays')

    await alice[3]?.close()
    for (const watcher of watchers) t.same(await notices(watcher, 1), ['presence.left alice'], 'one left, after the grace')
    await nothingMore(t, watchers[0] as TestClient, 'watcher-a', nodes, 'nothing else')
    await nothingMore(t, elsewhere, 'elsewhere', nodes, 'another channel hears nothing of review:42')
    const server = await b.app.realtime.presenceOf('review:42')
    t.match(server, { channel: 'review:42', count: 2 })
    t.same(server.users?.map(user => user.userId).sort(), ['watcher-a', 'watcher-b'], 'presenceOf on the server')
    t.match(server.users?.[0], { connections: 1, joinedAt: Number })
  })

  t.test(`${cluster.name}: a reconnect and re-subscribe within the grace is not announced; server joins and revocations are`, async (t) => {
    const nodes = await cluster.start(t, 2, options({ presence: { offlineGraceMs: 1500 } }))
    const [a, b] = nodes as [TestServer, TestServer]
    const watcher = await subscribed(await a.connect('watcher'), 'review:7')
    const own = await watcher.nextWhere(isNotice)
    t.match(own, { type: 'presence.joined', channel: 'review:7', data: { channel: 'review:7', user_id: 'watcher' } }, 'sent on the channel')
    t.same(schemaErrors(own, PresenceJoinedSchema), [], 'presence.joined matches the exported schema')
    const first = await subscribed(await a.connect('alice'), 'review:7')
    t.same(await notices(watcher, 1), ['presence.joined alice'])
    await first.close()
    await subscribed(await b.connect('alice'), 'review:7')
    t.same(presenceIn(await receivedBeforeMarker(watcher, b, 'watcher')), [], 'the reload went unnoticed')

    // the server puts bob in, then revokes him
    await b.connect('bob')
    await Promise.all([a.app.realtime.join({ userId: 'bob' }, 'review:7'), b.app.realtime.join({ userId: 'bob' }, 'review:7')])
    t.same(await notices(watcher, 1), ['presence.joined bob'], 'a server-side join counts')
    await a.app.realtime.leave({ userId: 'bob' }, 'review:7', 'revoked')
    t.same(await notices(watcher, 1), ['presence.left bob'], 'so does a revocation, after the grace')
    await nothingMore(t, watcher, 'watcher', nodes, 'nothing else')
  })

  t.test(`${cluster.name}: presence requests: counts-only namespaces, refusals, the cap`, async (t) => {
    const nodes = await cluster.start(t, 2, options())
    const [a, b] = nodes as [TestServer, TestServer]
    const carol = await subscribed(await a.connect('carol'), 'room:big')
    await subscribed(await b.connect('dave'), 'room:big')
    await subscribed(await b.connect('dave'), 'room:big')
    await subscribed(carol, 'plain:1')
    await subscribed(await a.connect('erin'), 'review:1')
    await subscribed(await b.connect('frank'), 'review:1')
    const room = await ask(carol, 'presence', { channel: 'room:big' })
    t.same(room.data, { channel: 'room:big', count: 2, request_id: room.data.request_id }, 'a count, no names')
    t.same(presenceIn(await receivedBeforeMarker(carol, b, 'carol')), [], 'no joined/left in a counts-only namespace')
    t.match((await ask(carol, 'presence', { channel: 'plain:1' })).data, { code: 'PRESENCE_DISABLED', details: ['plain:1'] })
    t.match((await ask(carol, 'presence', { channel: 'review:1' })).data, { code: 'NOT_SUBSCRIBED', details: ['review:1'] })
    t.match((await ask(carol, 'presence', { channel: 'nope:1' })).data, { code: 'INVALID_CHANNEL' })
    t.match((await ask(carol, 'presence', { channel: 'x'.repeat(10000) })).data, { code: 'INVALID_CHANNEL', details: ['x'.repeat(64)] }, 'echo bounded (64 bytes, like every echoed value)')
    t.match((await ask(carol, 'presence', { channel: 42 })).data, { code: 'INVALID_MESSAGE' })
    t.match((await ask(carol, 'presence', { channel: '__proto__:1' })).data, { code: 'INVALID_CHANNEL' })

    const capped = await b.app.realtime.presenceOf('review:1', { limit: 1 })
    t.same(capped, { channel: 'review:1', count: 2 }, 'past the limit: the count alone')
    const big = await a.app.realtime.presenceOf('room:big')
    t.same(big.users?.map(user => `${user.userId} ${user.connections}`).sort(), ['carol 1', 'dave 2'], 'the server sees names even in a counts-only namespace')
    await t.rejects(a.app.realtime.presenceOf('plain:1'), { code: 'FST_REALTIME_PRESENCE_DISABLED' })
    await t.rejects(a.app.realtime.presenceOf('nope:1'), { code: 'FST_REALTIME_PRESENCE_QUERY_INVALID' })
    await t.rejects(a.app.realtime.presenceOf('review:1', { limit: -1 }), { code: 'FST_REALTIME_PRESENCE_QUERY_INVALID' })
  })
}
