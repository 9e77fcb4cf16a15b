import t from 'tap'
import { startServer } from '../helpers/server.js'
import { connect, receivedBefore, subscribe, type Member } from './support.js'
import type { Envelope } from '../helpers/client.js'

const channels = { review: {} }

/** What the member received from the broadcast, up to a marker: exactly the copies. */
async function copies (member: Member, app: Parameters<typeof receivedBefore>[1]): Promise<Envelope[]> {
  return (await receivedBefore(member, app)).filter(m => m.type === 'review.updated')
}

t.test('broadcastReviewUpdated: event subscribers and review:<id> members each get one copy; members get it with channel', async (t) => {
  const server = await startServer(t, { realtime: { channels } })
  const eventOnly = await connect(t, server, 'a')
  const both = await connect(t, server, 'b')
  const channelOnly = await connect(t, server, 'c')
  const neither = await connect(t, server, 'd')
  const otherReview = await connect(t, server, 'e')
  await subscribe(eventOnly.client, { events: ['review.updated'] })
  await subscribe(both.client, { events: ['review.updated'], channels: ['review:42'] })
  await subscribe(channelOnly.client, { channels: ['review:42'] })
  await subscribe(otherReview.client, { channels: ['review:43'] })

  t.equal(await server.app.realtime.broadcastReviewUpdated('42', { status: 'approved' }), 3, 'three connections, one copy each')
  const [plain] = await copies(eventOnly, server.app)
  t.equal(plain?.channel, undefined, 'an event subscriber gets the seed\'s message, without channel')
  t.match(plain?.data, { review_id: '42', changes: { status: 'approved' } })
  const bothCopies = await copies(both, server.app)
  t.equal(bothCopies.length, 1, 'subscribed to the event and the channel: one copy')
  t.equal(bothCopies[0]?.channel, 'review:42', 'the channel copy')
  const [member] = await copies(channelOnly, server.app)
  t.equal(member?.channel, 'review:42')
  t.equal(member?.id, plain?.id, 'one message: the same id and timestamp in both forms')
  t.equal(member?.timestamp, plain?.timestamp)
  t.same(await copies(neither, server.app), [])
  t.same(await copies(otherReview, server.app), [], 'another review\'s members get nothing')
})

t.test('broadcastReviewUpdated with targetUsers: the targeted users and the members, each connection once', async (t) => {
  const server = await startServer(t, { realtime: { channels } })
  const targeted = await connect(t, server, 'a')
  const targetedMember = await connect(t, server, 'b')
  const member = await connect(t, server, 'c')
  const subscriberNotTargeted = await connect(t, server, 'd')
  await subscribe(targetedMember.client, { channels: ['review:42'] })
  await subscribe(member.client, { channels: ['review:42'] })
  await subscribe(subscriberNotTargeted.client, { events: ['review.updated'] })

  t.equal(await server.app.realtime.broadcastReviewUpdated('42', { n: 1 }, ['a', 'b', 'b']), 3)
  t.same((await copies(targeted, server.app)).map(m => m.channel), [undefined], 'targeted, not a member: the plain copy')
  t.same((await copies(targetedMember, server.app)).map(m => m.channel), ['review:42'], 'targeted and a member: one copy, with channel')
  t.same((await copies(member, server.app)).map(m => m.channel), ['review:42'])
  t.same(await copies(subscriberNotTargeted, server.app), [], 'targetUsers replace the event subscribers, as in the seed')
})

t.test('without a review namespace, or for an id that cannot be a channel, broadcastReviewUpdated is the seed\'s', async (t) => {
  const server = await startServer(t)
  const subscriber = await connect(t, server, 'a')
  await subscribe(subscriber.client, { events: ['review.updated'] })
  t.equal(await server.app.realtime.broadcastReviewUpdated('42', { n: 1 }), 1)
  t.same((await copies(subscriber, server.app)).map(m => Object.keys(m)), [['type', 'data', 'timestamp', 'id']])

  const withNamespace = await startServer(t, { realtime: { channels } })
  const other = await connect(t, withNamespace, 'a')
  await subscribe(other.client, { events: ['review.updated'] })
  t.equal(await withNamespace.app.realtime.broadcastReviewUpdated('not a channel id', { n: 1 }), 1)
  t.same((await copies(other, withNamespace.app)).map(m => m.channel), [undefined])
})
