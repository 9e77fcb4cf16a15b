import t from 'tap'
import fc from 'fast-check'
import type { RealtimeOptions } from '../../lib/index.js'
import type { TestClient } from '../helpers/client.js'
import { subscribe } from '../channels/support.js'
import { delta, scrapeUntil, startMetricsServer, type MetricsServer, type Scrape } from './support.js'
import type { Teardown } from '../helpers/teardown.js'

const P = 'realtime_'
const NAMESPACES = { review: { presence: true }, room: { presence: 'count' }, plain: {} } as const
const options = (extra: RealtimeOptions = {}): RealtimeOptions => ({
  maxConnectionsPerUser: 10,
  channels: { ...NAMESPACES },
  ...extra
})

const inNamespace = (scrape: Scrape, namespace: string): number => scrape.value(`${P}channel_subscriptions`, { namespace })

async function subscribed (client: TestClient, channels: string[], type: 'subscribe' | 'unsubscribe' = 'subscribe'): Promise<void> {
  const answer = await subscribe(client, { channels }, type)
  if (answer.type !== (type === 'subscribe' ? 'subscription.confirmed' : 'unsubscription.confirmed')) throw new Error(`${type} answered ${JSON.stringify(answer)}`)
}

/** Every change the server decided so far has been handled: each client's ping is answered after its earlier frames. */
async function settled (...clients: TestClient[]): Promise<void> {
  for (const client of clients) await client.request({ type: 'ping', data: {} }, 'pong')
}

t.test('channel_subscriptions follows subscribes, unsubscribes, server joins and closes, by declared namespace', async (t) => {
  const server = await startMetricsServer(t, { realtime: options() })
  const before = await server.scrape()
  t.same(before.labelValues(`${P}channel_subscriptions`, 'namespace'), ['plain', 'review', 'room'], 'every declared namespace, at 0')
  t.equal(inNamespace(before, 'review'), 0)

  const alice = await server.connect('alice')
  const bob = await server.connect('bob')
  await subscribed(alice, ['review:1', 'review:2'])
  await subscribed(bob, ['review:1', 'plain:x'])
  let scrape = await server.scrape()
  t.equal(inNamespace(scrape, 'review'), 3, 'one per connection and channel')
  t.equal(inNamespace(scrape, 'plain'), 1)
  t.equal(inNamespace(scrape, 'room'), 0)

  await subscribed(alice, ['review:1']) // already in it: no second membership
  await subscribed(alice, ['review:2'], 'unsubscribe')
  t.equal(await server.app.realtime.join({ userId: 'carol-nobody' }, 'room:9'), 0, 'nobody to join')
  t.equal(await server.app.realtime.join({ userId: 'bob' }, 'room:9'), 1)
  scrape = await server.scrape()
  t.equal(inNamespace(scrape, 'review'), 2)
  t.equal(inNamespace(scrape, 'room'), 1, 'the server\'s join counts like a subscribe')

  bob.ws.close()
  await bob.closed
  scrape = await scrapeUntil(server, (s) => s.value(`${P}connections`) === 1, 'bob gone')
  t.same([inNamespace(scrape, 'review'), inNamespace(scrape, 'plain'), inNamespace(scrape, 'room')], [1, 0, 0], 'a closed connection leaves every channel')
})

t.test('channel names clients make up never add a label: declared namespaces only, never channel ids', async (t) => {
  const server = await startMetricsServer(t, { realtime: options({ presence: { offlineGraceMs: 0 }, maxSubscriptionsPerConnection: 1000, rateLimit: { max: 100000, windowMs: 60000 } }) })
  const client = await server.connect('fuzzer')
  const baseline = await server.scrape()
  const names = fc.sample(fc.oneof(
    fc.string({ minLength: 0, maxLength: 300 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map(id => `review:${id}`),
    fc.constantFrom('__proto__:1', 'constructor:x', 'review', ':1', 'review:', 'Review:1', 'review :1', 'other:1', 'inbox:1', 'review:1:2')
  ), { numRuns: 300, seed: 13 })
  for (const name of names) client.send({ type: 'subscribe', data: { channels: [name] } })
  // and many valid channels of declared namespaces: counted, under their namespace only
  const ids = fc.sample(fc.stringMatching(/^[a-z0-9]{1,20}$/), { numRuns: 200, seed: 14 })
  const valid = [...new Set(ids)].map(id => `review:${id}`)
  for (const channel of valid) client.send({ type: 'subscribe', data: { channels: [channel] } })
  await settled(client)
  const scrape = await scrapeUntil(server, (s) => inNamespace(s, 'review') >= valid.length, 'the valid channels counted')

  t.same(scrape.labelValues(`${P}channel_subscriptions`, 'namespace'), ['plain', 'review', 'room'])
  t.same(scrape.labelValues(`${P}presence_channel_changes_total`, 'namespace'), ['review', 'room'], 'namespaces with presence only')
  t.same(scrape.labelValues(`${P}recoveries_total`, 'namespace'), ['plain', 'review', 'room'])
  t.ok(delta(baseline, scrape, `${P}presence_channel_changes_total`, { namespace: 'review', change: 'joined' }) >= valid.length - 1, 'the joins are counted, under the namespace')
  const key = (s: { name: string, labels: Record<string, string> }): string => s.name + JSON.stringify(s.labels)
  t.same(scrape.samples.map(key).sort(), baseline.samples.map(key).sort(), 'the same series as before the traffic, whatever the channel names')
  t.notOk(scrape.text.includes('review:'), 'no channel name in the scrape')
  t.notOk(scrape.text.includes('fuzzer'), 'no user id in the scrape')
})

async function presenceServer (t: Teardown, graceMs: number): Promise<MetricsServer> {
  return startMetricsServer(t, { realtime: options({ presence: { offlineGraceMs: graceMs } }) })
}

const userChanges = (before: Scrape, after: Scrape, status: 'online' | 'offline'): number => delta(before, after, `${P}presence_user_changes_total`, { status })
const channelChanges = (before: Scrape, after: Scrape, namespace: string, change: 'joined' | 'left'): number =>
  delta(before, after, `${P}presence_channel_changes_total`, { namespace, change })

t.test('presence_user_changes_total: once per user going online and once going offline, after the grace', async (t) => {
  const server = await presenceServer(t, 30)
  const before = await server.scrape()
  t.equal(before.value(`${P}presence_user_changes_total`, { status: 'online' }), 0, 'both statuses at 0 before the first change')
  t.ok(before.samples.some(s => s.name === `${P}presence_user_changes_total` && s.labels.status === 'offline'))

  const alice1 = await server.connect('alice')
  const alice2 = await server.connect('alice')
  const bob = await server.connect('bob')
  await settled(alice1, alice2, bob)
  let after = await scrapeUntil(server, (s) => userChanges(before, s, 'online') >= 2, 'alice and bob online')
  t.equal(userChanges(before, after, 'online'), 2, 'alice\'s second connection is no change')
  t.equal(userChanges(before, after, 'offline'), 0)

  alice1.ws.close()
  await alice1.closed
  bob.ws.close()
  await bob.closed
  after = await scrapeUntil(server, (s) => userChanges(before, s, 'offline') >= 1, 'bob offline after the grace')
  await scrapeUntil(server, (s) => s.value(`${P}connections`) === 1, 'both closes handled')
  alice2.ws.close()
  await alice2.closed
  after = await scrapeUntil(server, (s) => userChanges(before, s, 'offline') >= 2, 'alice offline after her last connection')
  t.equal(userChanges(before, after, 'online'), 2)
  t.equal(userChanges(before, after, 'offline'), 2, 'alice went offline once, with her last connection')
})

t.test('a reconnect within the grace is no presence change', async (t) => {
  const server = await presenceServer(t, 60000)
  const first = await server.connect('alice')
  await subscribed(first, ['review:1'])
  await settled(first)
  const before = await scrapeUntil(server, (s) => s.value(`${P}presence_user_changes_total`, { status: 'online' }) === 1, 'alice online')
  first.ws.close()
  await first.closed
  await scrapeUntil(server, (s) => s.value(`${P}connections`) === 0, 'the close handled')
  const again = await server.connect('alice')
  await subscribed(again, ['review:1'])
  await settled(again)
  const after = await server.scrape()
  t.equal(userChanges(before, after, 'online') + userChanges(before, after, 'offline'), 0, 'still online: nobody heard she was gone')
  t.equal(channelChanges(before, after, 'review', 'joined') + channelChanges(before, after, 'review', 'left'), 0, 'still in the channel')
})

t.test('presence_channel_changes_total: joins and leaves per user and channel, by namespace, for namespaces with presence', async (t) => {
  const server = await presenceServer(t, 30)
  const before = await server.scrape()
  t.same(before.labelValues(`${P}presence_channel_changes_total`, 'namespace'), ['review', 'room'], 'namespaces with presence, at 0')

  const alice1 = await server.connect('alice')
  const alice2 = await server.connect('alice')
  const bob = await server.connect('bob')
  await subscribed(alice1, ['review:1', 'review:2', 'room:1', 'plain:1'])
  await subscribed(alice2, ['review:1']) // alice is in review:1 already
  await subscribed(bob, ['review:1', 'room:1'])
  await settled(alice1, alice2, bob)
  let after = await scrapeUntil(server, (s) => channelChanges(before, s, 'review', 'joined') >= 3 && channelChanges(before, s, 'room', 'joined') >= 2, 'the joins')
  t.equal(channelChanges(before, after, 'review', 'joined'), 3, 'alice in review:1 and review:2, bob in review:1')
  t.equal(channelChanges(before, after, 'room', 'joined'), 2, 'a count-only namespace counts its joins too')
  t.equal(channelChanges(before, after, 'review', 'left'), 0)

  await subscribed(alice1, ['review:1'], 'unsubscribe') // alice2 keeps her in it
  await subscribed(alice1, ['review:2'], 'unsubscribe')
  after = await scrapeUntil(server, (s) => channelChanges(before, s, 'review', 'left') >= 1, 'alice out of review:2 after the grace')
  bob.ws.close()
  await bob.closed
  after = await scrapeUntil(server, (s) => channelChanges(before, s, 'review', 'left') >= 2 && channelChanges(before, s, 'room', 'left') >= 1, 'bob out of his channels')
  await subscribed(alice2, ['review:1'], 'unsubscribe')
  after = await scrapeUntil(server, (s) => channelChanges(before, s, 'review', 'left') >= 3, 'alice out of review:1 with her last connection in it')
  await settled(alice1, alice2)
  t.equal(channelChanges(before, after, 'review', 'left'), 3)
  t.equal(channelChanges(before, after, 'room', 'left'), 1, 'alice is still in room:1')
  t.equal(channelChanges(before, after, 'review', 'joined'), 3)
  t.equal(channelChanges(before, after, 'room', 'joined'), 2)
})
