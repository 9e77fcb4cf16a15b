import t from 'tap'
import { startServer } from '../helpers/server.js'
import { openSocket } from '../helpers/client.js'
import { connect, receivedBefore, subscribe } from './support.js'
import type { ChannelNamespaceOptions } from '../../lib/index.js'

const members: Record<string, string[]> = { 42: ['alice'], 43: ['alice', 'bob'] }
const channels: Record<string, ChannelNamespaceOptions> = {
  review: { authorize: (connection, id) => members[id]?.includes(connection.userId) === true },
  lobby: {}
}

t.test('an authorized channel is confirmed with both lists, and its messages carry the channel', async (t) => {
  const server = await startServer(t, { realtime: { channels } })
  const alice = await connect(t, server, 'alice')
  const welcome = await openSocket(`${server.wsUrl}/${server.token('x')}`)
  t.teardown(() => welcome.close())
  t.same((await welcome.next('connection.established')).data.features, ['heartbeat', 'subscriptions', 'rate_limiting', 'channels'], 'announced when namespaces are declared')
  const confirmed = await subscribe(alice.client, { channels: ['review:42', 'lobby:main'] })
  t.equal(confirmed.type, 'subscription.confirmed')
  t.same(confirmed.data, { events: [], channels: ['review:42', 'lobby:main'], subscriptions: [], channel_subscriptions: ['review:42', 'lobby:main'], request_id: confirmed.data.request_id })
  t.equal(server.app.realtime.subscribersOf('review:42'), 1)

  t.equal(await server.app.realtime.publish('review:42', { type: 'review.updated', data: { review_id: '42', changes: { a: 1 }, timestamp: new Date().toISOString() } }), 1)
  const message = await alice.client.next('review.updated')
  t.equal(message.channel, 'review:42', 'the envelope names the channel')
  t.same(Object.keys(message), ['type', 'data', 'timestamp', 'id', 'channel'])
})

t.test('a refused channel is CHANNEL_FORBIDDEN naming it, and nothing of the request is subscribed', async (t) => {
  const server = await startServer(t, { realtime: { channels } })
  const bob = await connect(t, server, 'bob')
  const refused = await subscribe(bob.client, { events: ['file.ready'], channels: ['review:43', 'review:42', 'lobby:main'] })
  t.equal(refused.type, 'error')
  t.match(refused.data, { code: 'CHANNEL_FORBIDDEN', details: ['review:42'], reasons: ['forbidden'] })
  t.match(refused.data.message, /review:42 \(forbidden\)/)
  for (const channel of ['review:42', 'review:43', 'lobby:main']) t.equal(server.app.realtime.subscribersOf(channel), 0, `not in ${channel}`)
  t.same(server.app.realtime.connectionsOf('bob')[0]?.subscriptions, new Set(), 'nor the event of the same request')

  await server.app.realtime.publish('review:43', { type: 'note', data: {} })
  await server.app.realtime.broadcastToSubscribers('file.ready', { type: 'note', data: {} })
  t.same(await receivedBefore(bob, server.app), [], 'receives nothing of the refused request')
})

t.test('a host reason goes to the client, bounded', async (t) => {
  const server = await startServer(t, {
    realtime: { channels: { team: { authorize: (_c, id) => id === 'ok' ? true : { reason: id === 'long' ? 'x'.repeat(1000) : 'not a member' } } } }
  })
  const carol = await connect(t, server, 'carol')
  const refused = await subscribe(carol.client, { channels: ['team:ok', 'team:7', 'team:long'] })
  t.match(refused.data, { code: 'CHANNEL_FORBIDDEN', details: ['team:7', 'team:long'] })
  t.same((refused.data as { reasons: string[] }).reasons.map(r => r.length), [12, 64])
  t.match(await subscribe(carol.client, { channels: ['team:ok'] }), { type: 'subscription.confirmed' })
})

t.test('malformed channels and undeclared namespaces are INVALID_CHANNEL, all or nothing', async (t) => {
  const server = await startServer(t, { realtime: { channels } })
  const alice = await connect(t, server, 'alice')
  const bad = ['nonamespace', 'orders:1', 'review:', 'review:has space', 'review:' + 'x'.repeat(129), ':42', 'review:a/b', 'x'.repeat(10000)]
  for (const channel of bad) {
    const answer = await subscribe(alice.client, { channels: ['lobby:main', channel] })
    t.match(answer.data, { code: 'INVALID_CHANNEL' }, JSON.stringify(channel.slice(0, 40)))
    const details = (answer.data as { details: string[] }).details
    t.equal(details.length, 1)
    t.ok(channel.startsWith(details[0] ?? '\u0000') && Buffer.byteLength(JSON.stringify(details[0])) <= 66, 'names the bad one, cut to 64 bytes between two characters')
    t.ok((answer.data as { message: string }).message.length < 400, 'a bounded message')
  }
  t.equal(server.app.realtime.subscribersOf('lobby:main'), 0)
  const ok = await subscribe(alice.client, { channels: ['review:42', 'review:a-b_c.d@e=f'] })
  t.equal(ok.type, 'error', 'an id of allowed characters in a refused review is still refused')
  t.match(await subscribe(alice.client, { channels: ['lobby:' + 'a'.repeat(128), 'lobby:A-z_0.9@=-'] }), { type: 'subscription.confirmed' })
})

t.test('the seed\'s subscribe {events} works as before; a subscribe with neither list is INVALID_MESSAGE', async (t) => {
  const server = await startServer(t, { realtime: { channels } })
  const alice = await connect(t, server, 'alice')
  alice.client.send({ type: 'subscribe', data: { events: ['upload.progress', 'upload.progress'] } })
  t.same((await alice.client.next('subscription.confirmed')).data, { events: ['upload.progress'], channels: [], subscriptions: ['upload.progress'], channel_subscriptions: [] })
  t.match((await subscribe(alice.client, {})).data, { code: 'INVALID_MESSAGE' })
  t.match((await subscribe(alice.client, { events: [], channels: [] })).data, { code: 'INVALID_MESSAGE' })
  t.match((await subscribe(alice.client, { channels: Array.from({ length: 101 }, (_, i) => `lobby:${i}`) })).data, { code: 'INVALID_MESSAGE' }, 'at most 100 channels per request')
  t.match((await subscribe(alice.client, { events: ['nope'], channels: ['lobby:main'] })).data, { code: 'INVALID_EVENT', details: ['nope'] })
  t.equal(server.app.realtime.subscribersOf('lobby:main'), 0, 'a bad event refuses the channels too')
})

t.test('unsubscribe mirrors subscribe, and a channel\'s messages stop', async (t) => {
  const server = await startServer(t, { realtime: { channels } })
  const alice = await connect(t, server, 'alice')
  await subscribe(alice.client, { events: ['file.ready'], channels: ['review:42', 'lobby:main'] })
  const removed = await subscribe(alice.client, { channels: ['review:42', 'lobby:never'] }, 'unsubscribe')
  t.equal(removed.type, 'unsubscription.confirmed')
  t.same(removed.data, { events: [], channels: ['review:42', 'lobby:never'], subscriptions: ['file.ready'], channel_subscriptions: ['lobby:main'], request_id: removed.data.request_id })
  t.match((await subscribe(alice.client, { channels: ['nope:1'] }, 'unsubscribe')).data, { code: 'INVALID_CHANNEL' })
  t.equal(await server.app.realtime.publish('review:42', { type: 'note', data: {} }), 0)
  t.same(await receivedBefore(alice, server.app), [])
})

t.test('channels are isolated from each other and from users outside them', async (t) => {
  const server = await startServer(t, { realtime: { channels } })
  const alice = await connect(t, server, 'alice')
  const bob = await connect(t, server, 'bob')
  const outsider = await connect(t, server, 'dave')
  await subscribe(alice.client, { channels: ['review:42', 'review:43'] })
  await subscribe(bob.client, { channels: ['review:43'] })
  await subscribe(outsider.client, { events: ['review.updated'], channels: ['lobby:main'] })

  t.equal(await server.app.realtime.publish('review:42', { type: 'note', data: { n: 42 } }), 1)
  t.match(await alice.client.next('note'), { channel: 'review:42', data: { n: 42 } })
  t.same(await receivedBefore(bob, server.app), [], 'bob is not in review:42')
  t.same(await receivedBefore(outsider, server.app), [], 'an event subscriber is not a channel member')

  t.equal(await server.app.realtime.publish('review:43', { type: 'note', data: { n: 43 } }), 2)
  t.match(await bob.client.next('note'), { channel: 'review:43' })
  t.same((await receivedBefore(alice, server.app)).map(m => m.channel), ['review:43'], 'alice gets review:43 once')
  t.equal(await server.app.realtime.publish('lobby:other', { type: 'x', data: {} }), 0)
  t.same(await receivedBefore(outsider, server.app), [])
})

t.test('maxSubscriptionsPerConnection counts events and channels; past it TOO_MANY_SUBSCRIPTIONS and nothing is added', async (t) => {
  const server = await startServer(t, { realtime: { channels, maxSubscriptionsPerConnection: 3 } })
  const alice = await connect(t, server, 'alice')
  t.match(await subscribe(alice.client, { events: ['file.ready'], channels: ['lobby:1'] }), { type: 'subscription.confirmed' })
  const over = await subscribe(alice.client, { channels: ['lobby:2', 'lobby:3'] })
  t.match(over.data, { code: 'TOO_MANY_SUBSCRIPTIONS' })
  t.match((over.data as { message: string }).message, /at most 3/)
  t.equal(server.app.realtime.subscribersOf('lobby:2'), 0)
  t.match(await subscribe(alice.client, { channels: ['lobby:1', 'lobby:2'] }), { type: 'subscription.confirmed' }, 'what it already has does not count twice')
  t.match((await subscribe(alice.client, { events: ['upload.progress'] })).data, { code: 'TOO_MANY_SUBSCRIPTIONS' }, 'events count too')
  await subscribe(alice.client, { channels: ['lobby:1'] }, 'unsubscribe')
  t.match(await subscribe(alice.client, { events: ['upload.progress'] }), { type: 'subscription.confirmed' }, 'room again after an unsubscribe')
})

t.test('the default bound admits 100 subscriptions: every default event and 88 channels', async (t) => {
  const server = await startServer(t, { realtime: { channels } })
  const alice = await connect(t, server, 'alice')
  const events = ['upload.progress', 'upload.completed', 'upload.error', 'upload.cancelled', 'review.updated', 'review.created', 'review.deleted', 'system.notification', 'system.maintenance', 'user.status_changed', 'file.processing', 'file.ready']
  t.match(await subscribe(alice.client, { events, channels: Array.from({ length: 88 }, (_, i) => `lobby:${i}`) }), { type: 'subscription.confirmed' })
  t.match((await subscribe(alice.client, { channels: ['lobby:x'] })).data, { code: 'TOO_MANY_SUBSCRIPTIONS' })
})

t.test('a subscribe whose confirmation would exceed maxMessageSize is refused whole, never half applied', async (t) => {
  const server = await startServer(t, { realtime: { channels, maxMessageSize: 16384, maxSubscriptionsPerConnection: 1000 } })
  const alice = await connect(t, server, 'alice')
  const long = Array.from({ length: 70 }, (_, i) => `lobby:${String(i).padStart(3, '0')}${'x'.repeat(125)}`)
  const answer = await subscribe(alice.client, { events: ['file.ready'], channels: long })
  t.match(answer.data, { code: 'TOO_MANY_SUBSCRIPTIONS' })
  t.match((answer.data as { message: string }).message, /maxMessageSize/)
  t.equal(server.app.realtime.stats().channels, 0)
  t.same(server.app.realtime.stats().subscriptions, {})
  t.equal(alice.client.ws.readyState, 1, 'the connection carries on')
  t.match(await subscribe(alice.client, { channels: long.slice(0, 10) }), { type: 'subscription.confirmed' })
  t.equal(server.app.realtime.stats().channels, 10)
})
