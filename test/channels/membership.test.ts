import t from 'tap'
import { startServer } from '../helpers/server.js'
import { connect, receivedBefore, subscribe } from './support.js'
import { Value } from '@sinclair/typebox/value'
import type { TSchema } from '@sinclair/typebox'
import { MemoryAdapter, ServerEnvelopeSchema, ReplySchemas, type ClusterMessage } from '../../lib/index.js'

const note = (n: number) => ({ type: 'note', data: { n } })
const closed = { review: { authorize: () => false } }

t.test('join by user puts every connection of the user in the channel, without authorize, and tells each', async (t) => {
  const server = await startServer(t, { realtime: { channels: closed } })
  const bob1 = await connect(t, server, 'bob')
  const bob2 = await connect(t, server, 'bob')
  const alice = await connect(t, server, 'alice')
  t.equal(await server.app.realtime.join({ userId: 'bob' }, 'review:7'), 2)
  for (const bob of [bob1, bob2]) t.same((await bob.client.next('subscription.joined')).data, { channel: 'review:7' })
  t.equal(await server.app.realtime.join({ userId: 'bob' }, 'review:7'), 0, 'already in: nobody joins twice')
  t.same(await receivedBefore(bob1, server.app), [], 'and nobody is told twice')
  t.equal(server.app.realtime.subscribersOf('review:7'), 2)
  t.same([...(server.app.realtime.getConnection(bob1.id)?.channels ?? [])], ['review:7'])

  t.equal(await server.app.realtime.publish('review:7', note(1)), 2)
  t.match(await bob1.client.next('note'), { channel: 'review:7' })
  t.match(await bob2.client.next('note'), { channel: 'review:7' })
  t.same(await receivedBefore(alice, server.app), [], 'alice was not joined')
  t.equal(await server.app.realtime.join({ userId: 'nobody' }, 'review:7'), 0)
})

t.test('join and leave by connection touch that connection only', async (t) => {
  const server = await startServer(t, { realtime: { channels: closed } })
  const one = await connect(t, server, 'bob')
  const two = await connect(t, server, 'bob')
  t.equal(await server.app.realtime.join({ connectionId: one.id }, 'review:1'), 1)
  t.same((await one.client.next('subscription.joined')).data, { channel: 'review:1' })
  await server.app.realtime.publish('review:1', note(1))
  t.match(await one.client.next('note'), { data: { n: 1 } })
  t.same(await receivedBefore(two, server.app), [])

  t.equal(await server.app.realtime.leave({ connectionId: one.id }, 'review:1'), 1)
  t.same((await one.client.next('subscription.ended')).data, { channel: 'review:1', reason: 'left' })
  t.equal(await server.app.realtime.leave({ connectionId: one.id }, 'review:1'), 0, 'not in it any more')
  t.equal(await server.app.realtime.publish('review:1', note(2)), 0)
  t.same(await receivedBefore(one, server.app), [])
})

t.test('leave revoked takes the user out whether it subscribed or was joined; a refused re-subscribe stays out', async (t) => {
  const revoked = new Set<string>()
  const server = await startServer(t, { realtime: { channels: { review: { authorize: (c) => !revoked.has(c.userId) }, open: {} } } })
  const carol = await connect(t, server, 'carol')
  await subscribe(carol.client, { channels: ['review:9', 'open:1'] })
  revoked.add('carol')
  t.equal(await server.app.realtime.leave({ userId: 'carol' }, 'review:9', 'revoked'), 1)
  t.same((await carol.client.next('subscription.ended')).data, { channel: 'review:9', reason: 'revoked' })
  t.same([...(server.app.realtime.getConnection(carol.id)?.channels ?? [])], ['open:1'], 'other channels stay')
  t.equal(await server.app.realtime.publish('review:9', note(1)), 0)
  t.same(await receivedBefore(carol, server.app), [])
  t.match((await subscribe(carol.client, { channels: ['review:9'] })).data, { code: 'CHANNEL_FORBIDDEN' }, 'the host\'s authorize now refuses')
})

t.test('join and leave check their arguments', async (t) => {
  const server = await startServer(t, { realtime: { channels: closed } })
  const api = server.app.realtime
  await t.rejects(api.join({ userId: 'bob' }, 'nope:1'), { code: 'FST_REALTIME_CHANNEL_INVALID' })
  await t.rejects(api.join({ userId: 'bob' }, 'review:bad id'), { code: 'FST_REALTIME_CHANNEL_INVALID' })
  await t.rejects(api.join({} as { userId: string }, 'review:1'), { code: 'FST_REALTIME_MESSAGE_INVALID' })
  await t.rejects(api.join({ userId: 'a', connectionId: 'b' } as unknown as { userId: string }, 'review:1'), { code: 'FST_REALTIME_MESSAGE_INVALID' })
  await t.rejects(api.leave({ userId: 'bob' }, 'review:1', 'x'.repeat(129)), { code: 'FST_REALTIME_MESSAGE_INVALID' })
  await t.rejects(api.publish('review', note(1)), { code: 'FST_REALTIME_CHANNEL_INVALID' })
  await t.rejects(api.publish('review:1', null as unknown as { type: string, data: unknown }), { code: 'FST_REALTIME_MESSAGE_INVALID' })
  await t.rejects(api.clusterSubscribersOf('nope:1'), { code: 'FST_REALTIME_CHANNEL_INVALID' })
  t.equal(await api.clusterSubscribersOf('review:1'), 0, 'one node: its own count')
  t.equal(api.subscribersOf('anything at all'), 0)
})

/** The in-memory adapter, as if the other nodes could not be reached for membership changes. */
class MembershipUnreachable extends MemoryAdapter {
  override async publish (message: ClusterMessage): Promise<void> {
    if (message.kind === 'membership') throw new Error('cluster unreachable')
    return super.publish(message)
  }
}

t.test('a join or leave the other nodes cannot be told of rejects with PUBLISH_FAILED and what changed here', async (t) => {
  const server = await startServer(t, { realtime: { adapter: new MembershipUnreachable(), channels: closed } })
  const bob1 = await connect(t, server, 'bob')
  const bob2 = await connect(t, server, 'bob')
  await t.rejects(server.app.realtime.join({ userId: 'bob' }, 'review:3'), { code: 'FST_REALTIME_PUBLISH_FAILED', message: /cluster unreachable/, delivered: 2 })
  for (const bob of [bob1, bob2]) t.same((await bob.client.next('subscription.joined')).data, { channel: 'review:3' }, 'joined here all the same')
  t.equal(server.app.realtime.subscribersOf('review:3'), 2)
  await t.rejects(server.app.realtime.leave({ userId: 'bob' }, 'review:3', 'revoked'), { code: 'FST_REALTIME_PUBLISH_FAILED', delivered: 2 })
  for (const bob of [bob1, bob2]) t.same((await bob.client.next('subscription.ended')).data, { channel: 'review:3', reason: 'revoked' })
  await t.rejects(server.app.realtime.join({ connectionId: 'on-another-node' }, 'review:3'), { code: 'FST_REALTIME_PUBLISH_FAILED', delivered: 0 },
    'a connection this node does not hold: only the other nodes could have it')
  t.equal(await server.app.realtime.join({ connectionId: bob1.id }, 'review:3'), 1, 'a connection held here: no need to tell the others')
})

t.test('a joined channel ends with the connection: a new connection is in no channel until it subscribes', async (t) => {
  const server = await startServer(t, { realtime: { channels: { open: {} } } })
  const first = await connect(t, server, 'dave')
  await server.app.realtime.join({ userId: 'dave' }, 'open:1')
  await first.client.next('subscription.joined')
  await first.client.close()
  const again = await connect(t, server, 'dave')
  t.same([...(server.app.realtime.getConnection(again.id)?.channels ?? [])], [])
  t.equal(server.app.realtime.subscribersOf('open:1'), 0, 'the closed connection left the index')
  t.match(await subscribe(again.client, { channels: ['open:1'] }), { type: 'subscription.confirmed' })
})

t.test('stats and messages count channel deliveries like every other', async (t) => {
  const server = await startServer(t, { realtime: { channels: { open: {} } } })
  const eve = await connect(t, server, 'eve')
  await subscribe(eve.client, { channels: ['open:1'] })
  const before = server.app.realtime.stats().messagesOut
  await server.app.realtime.publish('open:1', note(1))
  await eve.client.next('note')
  t.equal(server.app.realtime.stats().messagesOut, before + 1)
})

t.test('every channel message a client sees matches its exported schema', async (t) => {
  const server = await startServer(t, { realtime: { channels: { review: { authorize: (_c, id) => id === '1' || { reason: 'no' } } } } })
  const member = await connect(t, server, 'sam')
  const seen = [
    await subscribe(member.client, { channels: ['review:1'] }),
    await subscribe(member.client, { channels: ['review:2'] }),
    await subscribe(member.client, { channels: ['review:1'] }, 'unsubscribe')
  ]
  await server.app.realtime.join({ userId: 'sam' }, 'review:3')
  seen.push(await member.client.next('subscription.joined'))
  await server.app.realtime.publish('review:3', { type: 'subscription.joined', data: { channel: 'not really' } })
  seen.push(await member.client.next('subscription.joined'))
  await server.app.realtime.leave({ userId: 'sam' }, 'review:3', 'revoked')
  seen.push(await member.client.next('subscription.ended'))
  t.same(seen.map(m => m.type), ['subscription.confirmed', 'error', 'unsubscription.confirmed', 'subscription.joined', 'subscription.joined', 'subscription.ended'])
  for (const message of seen) {
    const schema: TSchema = ReplySchemas[message.type as keyof typeof ReplySchemas]
    const errors = [...Value.Errors(ServerEnvelopeSchema(message.type, schema), message)].map(e => `${e.path} ${e.message}`)
    t.same(errors.filter(e => !e.includes('date-time')), [], `${message.type} matches`)
  }
})
