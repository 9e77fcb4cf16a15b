import t from 'tap'
import { startServer } from '../helpers/server.js'
import { openSocket } from '../helpers/client.js'
import { connect, isNote, isType, note, receiveUntil, subscribe, withHistory } from './support.js'

t.test('a targeted review change to a member: one copy with the channel offset and inbox_offset; neither recovery sends it again', async (t) => {
  const server = await startServer(t, { realtime: withHistory({ maxConnectionsPerUser: 5 }) })
  const { realtime } = server.app
  const member = await connect(t, server, 'alice')
  const elsewhere = await connect(t, server, 'alice')
  const bob = await connect(t, server, 'bob')
  const channelPosition = (await subscribe(member.client, { channels: ['review:42'] })).data.positions?.['review:42']
  await subscribe(bob.client, { channels: ['review:42'] })
  const inboxEpoch = member.welcome.inbox?.epoch as string

  t.equal(await realtime.broadcastReviewUpdated('42', { n: 1 }, ['alice']), 3)
  const both = await member.client.next('review.updated')
  t.match(both, { channel: 'review:42', offset: 1, inbox_offset: 1 }, 'the member the message is addressed to: one copy, both positions')
  t.equal((both as { inbox?: unknown }).inbox, undefined)
  t.match(await elsewhere.client.next('review.updated'), { inbox: true, offset: 1, id: both.id }, 'her connection not in the channel: the inbox form')
  const bobs = await bob.client.next('review.updated')
  t.match(bobs, { channel: 'review:42', offset: 1, id: both.id })
  t.equal((bobs as { inbox_offset?: unknown }).inbox_offset, undefined, 'a member not addressed: the channel form')
  await realtime.sendToConnection(member.id, note('marker'))
  t.same((await receiveUntil(member.client, isNote('marker'))).length, 1, 'exactly one copy reached the member')
  await member.client.close()

  await realtime.broadcastReviewUpdated('42', { n: 2 }, ['alice'])
  const back = await openSocket(`${server.wsUrl}/${server.token('alice')}?inbox=${inboxEpoch}:1`)
  t.teardown(() => back.close())
  const inboxReplay = await receiveUntil(back, isType('recovery.result'))
  t.same(inboxReplay.map(m => [m.type, (m as { offset?: number }).offset]), [['connection.established', undefined], ['review.updated', 2], ['recovery.result', undefined]],
    'the inbox replays only what it missed')
  back.send({ type: 'subscribe', id: 's', data: { channels: ['review:42'], recover: { 'review:42': { epoch: channelPosition?.epoch, offset: 1 } } } })
  const channelReplay = await receiveUntil(back, isType('recovery.result'))
  t.same(channelReplay.map(m => [m.type, (m as { offset?: number }).offset]), [['subscription.confirmed', undefined], ['review.updated', 2], ['recovery.result', undefined]],
    'the channel too; a message missed on both streams comes from each, with the same id')
  t.equal(channelReplay[1]?.id, inboxReplay[1]?.id)
})

t.test('broadcastReviewUpdated beside review:<id> with history: members get the channel form with its offset, the others the plain one', async (t) => {
  const server = await startServer(t, { realtime: { channels: { review: { history: { size: 10, ttlMs: 60_000 } } } } })
  const subscriber = await connect(t, server, 'a')
  const member = await connect(t, server, 'b')
  const targeted = await connect(t, server, 'c')
  subscriber.client.send({ type: 'subscribe', data: { events: ['review.updated'] } })
  await subscriber.client.next('subscription.confirmed')
  await subscribe(member.client, { channels: ['review:42'], events: ['review.updated'] })
  t.equal(await server.app.realtime.broadcastReviewUpdated('42', { n: 1 }), 2)
  t.same(Object.keys(await subscriber.client.next('review.updated')), ['type', 'data', 'timestamp', 'id'], 'an event subscriber: the seed message')
  t.match(await member.client.next('review.updated'), { channel: 'review:42', offset: 1 }, 'a member, also subscribed to the event: one copy, numbered')
  t.equal(await server.app.realtime.broadcastReviewUpdated('42', { n: 2 }, ['c', 'b']), 2, 'the inbox is off: targeted, only the channel is numbered')
  t.same(Object.keys(await targeted.client.next('review.updated')), ['type', 'data', 'timestamp', 'id'])
  t.match(await member.client.next('review.updated'), { channel: 'review:42', offset: 2 })
  await server.app.realtime.sendToConnection(member.id, note('marker'))
  t.same((await receiveUntil(member.client, isNote('marker'))).length, 1, 'once')
})

t.test('broadcastReviewUpdated beside review:<id> with history and no review.updated subscriber: the members only', async (t) => {
  const server = await startServer(t, { realtime: { channels: { review: { history: { size: 10, ttlMs: 60_000 } } } } })
  const member = await connect(t, server, 'b')
  const bystander = await connect(t, server, 'c')
  await subscribe(member.client, { channels: ['review:42'] })
  t.equal(await server.app.realtime.broadcastReviewUpdated('42', { n: 1 }), 1)
  t.match(await member.client.next('review.updated'), { channel: 'review:42', offset: 1 })
  await server.app.realtime.sendToConnection(bystander.id, note('marker'))
  t.same((await receiveUntil(bystander.client, isNote('marker'))).map(m => m.type), ['system.notification'], 'nothing before the marker')
})

t.test('the inbox beside a review namespace without history: a targeted member gets the channel form with inbox_offset, and no channel offset', async (t) => {
  const server = await startServer(t, { realtime: { channels: { review: {} }, inbox: { size: 10, ttlMs: 60_000 } } })
  const alice = await connect(t, server, 'alice')
  const bob = await connect(t, server, 'bob')
  const carol = await connect(t, server, 'carol')
  await subscribe(alice.client, { channels: ['review:7'] })
  await subscribe(bob.client, { channels: ['review:7'] })
  t.equal(await server.app.realtime.broadcastReviewUpdated('7', { n: 1 }, ['alice', 'carol']), 3)
  const both = await alice.client.next('review.updated')
  t.match(both, { channel: 'review:7', inbox_offset: 1 }, 'addressed and a member: one copy, its inbox position')
  t.equal((both as { offset?: unknown }).offset, undefined, 'the channel keeps no history: no channel offset')
  const bobs = await bob.client.next('review.updated')
  t.match(bobs, { channel: 'review:7', id: both.id }, 'a member not addressed: the channel form')
  t.same(Object.keys(bobs).sort(), ['channel', 'data', 'id', 'timestamp', 'type'], 'with no offset of any stream')
  t.match(await carol.client.next('review.updated'), { inbox: true, offset: 1, id: both.id }, 'addressed, not a member: the inbox form')
})
