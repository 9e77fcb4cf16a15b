import t from 'tap'
import { RealtimeClientError, type ChannelMessage, type ServerEnvelope, type SubscriptionEnded } from '../../lib/client/index.js'
import { createClient, next, nextState, startRealtime, token } from './support.js'
import type { RealtimeOptions } from '../../lib/index.js'

const note = (n: number) => ({ type: 'note', data: { n } })

/** review:<id> admits the users listed for it; `lobby` is open. */
function namespaces (members: Map<string, Set<string>>, calls: string[] = []): NonNullable<RealtimeOptions['channels']> {
  return {
    review: {
      authorize: async (connection, id) => {
        calls.push(`${connection.userId}:${id}`)
        return members.get(id)?.has(connection.userId) === true ? true : { reason: 'not a member' }
      }
    },
    lobby: {}
  }
}

t.test('subscribe({ channels }) resolves the confirmation; a refusal rejects with the channels and reasons, and nothing is kept', async (t) => {
  const members = new Map([['42', new Set(['alice'])]])
  const server = await startRealtime(t, { realtime: { channels: namespaces(members) } })
  const client = createClient(t, { url: server.url, token: token('alice') })
  await client.connect()
  t.match(await client.subscribe({ channels: ['review:42', 'lobby:1'], events: ['file.ready'] }), {
    events: ['file.ready'], channels: ['review:42', 'lobby:1'], channel_subscriptions: ['review:42', 'lobby:1']
  })
  t.same(client.channels, ['review:42', 'lobby:1'])
  t.same(client.subscriptions, ['file.ready'])

  const refused = await client.subscribe({ channels: ['review:43', 'lobby:2'] }).then(() => undefined, (err: unknown) => err)
  t.ok(refused instanceof RealtimeClientError)
  t.match(refused, { code: 'CHANNEL_FORBIDDEN', details: ['review:43'], reasons: ['not a member'] })
  t.same(client.channels, ['review:42', 'lobby:1'], 'nothing of the refused request')
  await t.rejects(client.subscribe({ channels: ['bad name'] }), { code: 'INVALID_CHANNEL', details: ['bad name'] })
  await t.rejects(client.subscribe({}), TypeError, 'bad arguments reject, never throw')
  await t.rejects(client.subscribe({ channels: [] }), TypeError)
})

t.test('channel messages carry their channel: on message, and on per-channel listeners only for theirs', async (t) => {
  const server = await startRealtime(t, { realtime: { channels: { lobby: {} } } })
  const client = createClient(t, { url: server.url, token: token('bob') })
  await client.connect()
  await client.subscribe({ channels: ['lobby:1', 'lobby:2'] })
  const inOne: ChannelMessage[] = []
  const off = client.onChannel('lobby:1', (message) => inOne.push(message))
  const all: ServerEnvelope[] = []
  client.on('message', (message) => { if (message.type === 'note') all.push(message) })

  const second = next(client, 'message', (message) => message.type === 'note' && message.channel === 'lobby:2')
  await server.app.realtime.publish('lobby:1', note(1))
  await server.app.realtime.publish('lobby:2', note(2))
  await second
  t.same(all.map(m => [m.channel, m.data]), [['lobby:1', { n: 1 }], ['lobby:2', { n: 2 }]])
  t.same(inOne.map(m => m.data), [{ n: 1 }], 'the lobby:1 listener got lobby:1 only')

  off()
  const third = next(client, 'message', (message) => message.type === 'note')
  await server.app.realtime.publish('lobby:1', note(3))
  await third
  t.equal(inOne.length, 1, 'a removed listener hears nothing')

  const failing = client.onChannel('lobby:2', () => { throw new Error('listener bug') })
  const error = next(client, 'error')
  await server.app.realtime.publish('lobby:2', note(4))
  t.match((await error)[0], { code: 'LISTENER_FAILED' })
  failing()
})

t.test('subscription.joined and subscription.ended are events, and keep client.channels in step', async (t) => {
  const server = await startRealtime(t, { realtime: { channels: { review: { authorize: () => false } } } })
  const client = createClient(t, { url: server.url, token: token('carol') })
  await client.connect()
  const joined = next(client, 'subscription.joined')
  await server.app.realtime.join({ userId: 'carol' }, 'review:5')
  t.same((await joined)[0], { channel: 'review:5' })
  t.same(client.channels, ['review:5'])
  const ended = next(client, 'subscription.ended')
  await server.app.realtime.leave({ userId: 'carol' }, 'review:5', 'revoked')
  const [data]: [SubscriptionEnded, ...unknown[]] = await ended
  t.same(data, { channel: 'review:5', reason: 'revoked' })
  t.same(client.channels, [])
})

t.test('after a reconnect the client re-subscribes to its channels, joined ones included; the server re-authorizes', async (t) => {
  const members = new Map([['1', new Set(['dave'])], ['2', new Set(['dave'])]])
  const calls: string[] = []
  const first = await startRealtime(t, { realtime: { channels: namespaces(members, calls) } })
  const client = createClient(t, { url: first.url, token: () => token('dave'), channels: ['lobby:opt'] })
  const restoredFirst = next(client, 'subscription.confirmed')
  await client.connect()
  t.same((await restoredFirst)[0].channels, ['lobby:opt'], 'the channels option subscribes on open')
  await client.subscribe({ channels: ['review:1', 'review:2'] })
  const joined = next(client, 'subscription.joined')
  await first.app.realtime.join({ userId: 'dave' }, 'review:3')
  await joined
  t.same(client.channels.sort(), ['lobby:opt', 'review:1', 'review:2', 'review:3'])
  await client.unsubscribe({ channels: ['lobby:opt'] })

  await first.close()
  await nextState(client, 'reconnecting')
  members.get('2')?.delete('dave')
  members.set('3', new Set(['dave']))
  calls.length = 0
  const second = await startRealtime(t, { port: first.port, realtime: { channels: namespaces(members, calls) } })
  const refusal = next(client, 'error')
  await client.waitForOpen()
  t.match((await refusal)[0], { code: 'CHANNEL_FORBIDDEN', details: ['review:2'] }, 'review:2 is no longer allowed')
  const restored = await next(client, 'subscription.confirmed')
  t.same(restored[0].channels.sort(), ['review:1', 'review:3'], 'the rest is restored')
  t.same(calls.sort(), ['dave:1', 'dave:1', 'dave:2', 'dave:3', 'dave:3'], 'authorize ran again for each (twice for the retried rest)')
  t.same(client.channels.sort(), ['review:1', 'review:3'])
  t.equal(second.app.realtime.subscribersOf('review:3'), 1, 'the joined channel survived because the client re-subscribed')
  t.equal(second.app.realtime.subscribersOf('lobby:opt'), 0, 'an unsubscribed channel is not restored')
  const message = next(client, 'message', (m) => m.type === 'note')
  await second.app.realtime.publish('review:1', note(1))
  t.equal((await message)[0].channel, 'review:1')
})
