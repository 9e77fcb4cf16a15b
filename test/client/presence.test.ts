// client.presence(channel) and the presence.joined / presence.left events, against the real plugin.
import t from 'tap'
import { RealtimeClientError, type PresenceJoined, type PresenceLeft, type PresenceState, type RealtimeClient } from '../../lib/client/index.js'
import type { RealtimeOptions } from '../../lib/index.js'
import { createClient, next, record, startRealtime, token } from './support.js'

const GRACE_MS = 100

const options: RealtimeOptions = {
  maxConnectionsPerUser: 10,
  presence: { offlineGraceMs: GRACE_MS },
  channels: { review: { presence: true }, room: { presence: 'count' }, plain: {} }
}

async function connected (t: Parameters<typeof createClient>[0], url: string, userId: string, channels: string[] = []): Promise<RealtimeClient> {
  const client = createClient(t, { url, token: token(userId) })
  await client.connect()
  if (channels.length > 0) await client.subscribe({ channels })
  return client
}

const userIds = (state: PresenceState): string[] => (state.users ?? []).map(user => user.user_id).sort()

t.test('presence() resolves the channel\'s presence.state; joined and left arrive as typed events, once per user', async (t) => {
  const server = await startRealtime(t, { realtime: options })
  const alice = await connected(t, server.url, 'alice')
  const joined = record(alice, 'presence.joined')
  const left = record(alice, 'presence.left')
  await alice.subscribe({ channels: ['review:42'] })

  const alone = await alice.presence('review:42')
  t.match(alone, { channel: 'review:42', count: 1 })
  t.same(userIds(alone), ['alice'])
  t.match(alone.users?.[0], { user_id: 'alice', connections: 1 })
  t.ok(Number.isFinite(Date.parse(alone.users?.[0]?.joined_at ?? '')), 'joined_at is a date')
  t.match(alone.request_id, /^q\d+$/, 'the answer carries the id the client sent')

  // bob comes with two connections: one joined for the user
  const bobs = [await connected(t, server.url, 'bob', ['review:42']), await connected(t, server.url, 'bob', ['review:42'])]
  const [data, envelope] = await joined.next()
  const typed: PresenceJoined = data
  t.same(typed, { channel: 'review:42', user_id: 'alice' }, 'alice hears of herself first')
  t.same((await joined.next())[0], { channel: 'review:42', user_id: 'bob' })
  t.equal(envelope.type, 'presence.joined')
  const both = await alice.presence('review:42')
  t.same(userIds(both), ['alice', 'bob'])
  t.equal(both.users?.find(user => user.user_id === 'bob')?.connections, 2, 'both of bob\'s connections count')
  t.equal(joined.all.length, 2, 'no second joined for bob\'s second connection')

  // bob leaves: one unsubscribes, the other closes; after the grace, one left
  await bobs[0]?.unsubscribe({ channels: ['review:42'] })
  bobs[1]?.close()
  const [gone] = await left.next(5000)
  const typedLeft: PresenceLeft = gone
  t.same(typedLeft, { channel: 'review:42', user_id: 'bob' })
  t.same(userIds(await alice.presence('review:42')), ['alice'])
  t.equal(left.all.length, 1, 'one left for the user')
})

t.test('presence() rejects with the server\'s code, awaited (not reported on \'error\')', async (t) => {
  const server = await startRealtime(t, { realtime: options })
  const client = await connected(t, server.url, 'carol', ['plain:1'])
  const errors = record(client, 'error')

  const refusal = async (channel: string): Promise<RealtimeClientError> => {
    const error = await client.presence(channel).then(() => undefined, (err: unknown) => err)
    if (!(error instanceof RealtimeClientError)) throw new Error(`presence(${channel}) did not reject with a RealtimeClientError`)
    return error
  }
  t.match(await refusal('review:7'), { code: 'NOT_SUBSCRIBED', details: ['review:7'], requestId: /^q\d+$/ })
  t.match(await refusal('plain:1'), { code: 'PRESENCE_DISABLED', details: ['plain:1'] })
  t.match(await refusal('nowhere:1'), { code: 'INVALID_CHANNEL', details: ['nowhere:1'] })
  t.match(await refusal('no colon'), { code: 'INVALID_CHANNEL' })
  await t.rejects(client.presence(''), TypeError, 'a bad argument rejects, never throws')
  await t.rejects(client.presence(42 as unknown as string), TypeError)
  await client.ping() // answered after every error above: none of them is left to arrive
  t.same(errors.all, [], 'an awaited refusal is not also an error event')
})

t.test('concurrent requests resolve by request id; a count-only namespace answers counts', async (t) => {
  const server = await startRealtime(t, { realtime: options })
  const dave = await connected(t, server.url, 'dave', ['review:1', 'review:2', 'room:big'])
  await connected(t, server.url, 'erin', ['review:2', 'room:big'])

  const [one, two, room, refused] = await Promise.all([
    dave.presence('review:1'),
    dave.presence('review:2'),
    dave.presence('room:big'),
    dave.presence('review:3').then(() => 'resolved', (err: RealtimeClientError) => err.code)
  ])
  t.same([one.channel, userIds(one)], ['review:1', ['dave']])
  t.same([two.channel, userIds(two)], ['review:2', ['dave', 'erin']])
  t.same(room, { channel: 'room:big', count: 2, request_id: room.request_id }, 'counts only: no users')
  t.equal(refused, 'NOT_SUBSCRIBED', 'the refusal rejects its own request, not another')
  t.not(one.request_id, two.request_id)
})

// the restore's subscribe and the presence request reach the server in one burst: the answer must include
// the connection's own join, which the server hands to the presence backend asynchronously
t.test('a presence request made before connecting waits for the connection and its restored channels', async (t) => {
  const server = await startRealtime(t, { realtime: options })
  const client = createClient(t, { url: server.url, token: token('frank'), channels: ['review:9'] })
  const answer = client.presence('review:9')
  t.equal(client.queuedMessages, 1, 'queued while not connected')
  await client.connect()
  t.same(userIds(await answer), ['frank'])
})

t.test('after a reconnect the same client asks again and hears joins on the restored channel', async (t) => {
  const server = await startRealtime(t, { realtime: options })
  const gina = await connected(t, server.url, 'gina', ['review:5'])
  const reconnected = next(gina, 'open', () => true, 5000)
  // the server drops gina's connection; the client reconnects and subscribes to review:5 again
  const closed = await server.app.realtime.disconnectUser('gina', 'test drop', 4000)
  t.equal(closed, 1)
  await reconnected
  await next(gina, 'subscription.confirmed', (data) => data.channels?.includes('review:5') === true, 5000)
  const joined = next(gina, 'presence.joined', (data) => data.user_id === 'hal', 5000)
  await connected(t, server.url, 'hal', ['review:5'])
  t.same((await joined)[0], { channel: 'review:5', user_id: 'hal' })
  t.same(userIds(await gina.presence('review:5')), ['gina', 'hal'])
})
