import t from 'tap'
import { Redis } from 'ioredis'
import { requireRedis, startNode, uniquePrefix, eventually, REDIS_URL, type ClusterNode } from './helpers.js'
import { connect, receivedBefore, subscribe } from '../channels/support.js'
import type { RealtimeOptions, RedisAdapterOptions } from '../../lib/index.js'
import type { Teardown } from '../helpers/teardown.js'

const note = (n: number) => ({ type: 'note', data: { n } })
const channels: NonNullable<RealtimeOptions['channels']> = { review: { authorize: (connection) => connection.userId !== 'mallory' }, lobby: {} }

type Nodes = [ClusterNode, ClusterNode, ClusterNode]

/** `size` nodes on one prefix (the tuple type lets a test name the nodes it started). */
async function cluster (t: Teardown, size: 2 | 3, adapter: Omit<RedisAdapterOptions, 'keyPrefix'> = {}): Promise<{ nodes: Nodes, prefix: string }> {
  const prefix = uniquePrefix(t)
  const nodes: ClusterNode[] = []
  for (let i = 0; i < size; i++) nodes.push(await startNode(t, { prefix, adapter, realtime: { channels } }))
  return { nodes: nodes as Nodes, prefix }
}

/** How many Redis clients listen to a channel's Redis channel. */
async function listeners (t: Teardown, prefix: string, channel: string): Promise<number> {
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  const [, count] = await redis.pubsub('NUMSUB', `${prefix}:channel:${channel}`) as [string, number]
  redis.disconnect()
  return count
}

if (requireRedis(t)) {
  for (const channelRouting of ['per-channel', 'shared'] as const) {
    t.test(`${channelRouting}: publish reaches the channel's members on every node exactly once, and nobody else`, async (t) => {
      const { nodes: [a, b, c] } = await cluster(t, 3, { channelRouting })
      const onA = await connect(t, a, 'alice')
      const onB = await connect(t, b, 'bob')
      const otherOnB = await connect(t, b, 'carol')
      const onC = await connect(t, c, 'dave')
      const outsider = await connect(t, c, 'erin')
      for (const member of [onA, onB, onC]) t.match(await subscribe(member.client, { channels: ['review:42'] }), { type: 'subscription.confirmed' })
      await subscribe(otherOnB.client, { channels: ['review:43'] })
      await subscribe(outsider.client, { events: ['review.updated'], channels: ['lobby:1'] })

      t.equal(await a.app.realtime.publish('review:42', note(1)), 1, 'the local count, like every delivery method')
      const ids = new Set<string>()
      for (const member of [onA, onB, onC]) {
        const copies = (await receivedBefore(member, a.app)).filter(m => m.type === 'note')
        t.equal(copies.length, 1, `${member.userId}: exactly once`)
        t.equal(copies[0]?.channel, 'review:42')
        ids.add(copies[0]?.id ?? '')
      }
      t.equal(ids.size, 1, 'one envelope, encoded once')
      t.same(await receivedBefore(otherOnB, a.app), [], 'another channel on a node with members: nothing')
      t.same(await receivedBefore(outsider, a.app), [], 'an event subscriber on another node: nothing')
    })
  }

  t.test('per-channel routing: a node listens to a channel only while it has connections in it', async (t) => {
    const { nodes: [a, b], prefix } = await cluster(t, 2)
    t.equal(await listeners(t, prefix, 'lobby:x'), 0)
    const one = await connect(t, a, 'alice')
    const two = await connect(t, a, 'bob')
    await subscribe(one.client, { channels: ['lobby:x'] })
    t.equal(await listeners(t, prefix, 'lobby:x'), 1, 'listening once the subscribe is confirmed')
    await subscribe(two.client, { channels: ['lobby:x'] })
    t.equal(a.adapter.listenedChannelCount, 1, 'one Redis subscription per channel, whatever the member count')
    t.equal(b.adapter.listenedChannelCount, 0, 'the other node does not listen')
    t.equal(await listeners(t, prefix, 'lobby:x'), 1)

    await subscribe(one.client, { channels: ['lobby:x'] }, 'unsubscribe')
    t.equal(await listeners(t, prefix, 'lobby:x'), 1, 'still a member left')
    await two.client.close()
    await eventually(async () => await listeners(t, prefix, 'lobby:x') === 0, 'the node to UNSUBSCRIBE after its last member left')
    t.equal(a.adapter.listenedChannelCount, 0)
  })

  t.test('join and leave by user reach the user\'s connections on every node', async (t) => {
    const { nodes: [a, b, c] } = await cluster(t, 3)
    const bobOnA = await connect(t, a, 'bob')
    const bobOnB = await connect(t, b, 'bob')
    const bobOnC = await connect(t, c, 'bob')
    const alice = await connect(t, b, 'alice')

    t.equal(await a.app.realtime.join({ userId: 'bob' }, 'review:7'), 1, 'the local count')
    for (const bob of [bobOnA, bobOnB, bobOnC]) t.same((await bob.client.next('subscription.joined')).data, { channel: 'review:7' })
    t.equal(await a.app.realtime.clusterSubscribersOf('review:7'), 3)

    t.equal(await c.app.realtime.publish('review:7', note(1)), 1)
    for (const bob of [bobOnA, bobOnB, bobOnC]) t.same((await receivedBefore(bob, c.app)).map(m => m.channel), ['review:7'])
    t.same(await receivedBefore(alice, c.app), [])

    t.equal(await b.app.realtime.leave({ userId: 'bob' }, 'review:7', 'revoked'), 1)
    for (const bob of [bobOnA, bobOnB, bobOnC]) t.same((await bob.client.next('subscription.ended')).data, { channel: 'review:7', reason: 'revoked' })
    t.equal(await a.app.realtime.clusterSubscribersOf('review:7'), 0)
    t.equal(await c.app.realtime.publish('review:7', note(2)), 0)
    for (const bob of [bobOnA, bobOnB, bobOnC]) t.same(await receivedBefore(bob, c.app), [], 'nothing after the revocation')
  })

  t.test('revocation removes a user\'s own subscriptions on every node; other users stay', async (t) => {
    const { nodes: [a, b] } = await cluster(t, 2)
    const bobOnA = await connect(t, a, 'bob')
    const bobOnB = await connect(t, b, 'bob')
    const carolOnB = await connect(t, b, 'carol')
    for (const member of [bobOnA, bobOnB, carolOnB]) await subscribe(member.client, { channels: ['review:9', 'lobby:1'] })

    t.equal(await a.app.realtime.leave({ userId: 'bob' }, 'review:9', 'revoked'), 1)
    for (const bob of [bobOnA, bobOnB]) t.same((await bob.client.next('subscription.ended')).data, { channel: 'review:9', reason: 'revoked' })
    t.equal(await b.app.realtime.publish('review:9', note(1)), 1, 'carol is still in it')
    t.same((await receivedBefore(carolOnB, a.app)).map(m => m.channel), ['review:9'])
    for (const bob of [bobOnA, bobOnB]) t.same(await receivedBefore(bob, b.app), [], `bob on node ${bob === bobOnA ? 'A' : 'B'} gets nothing`)
    t.equal(await a.app.realtime.publish('lobby:1', note(2)), 1, 'and keeps the other channels')
    t.same((await receivedBefore(bobOnB, a.app)).map(m => m.channel), ['lobby:1'])
  })

  t.test('join and leave by connection reach the node that holds it, and only that connection', async (t) => {
    const { nodes: [a, b] } = await cluster(t, 2)
    const one = await connect(t, b, 'bob')
    const two = await connect(t, b, 'bob')
    t.equal(await a.app.realtime.join({ connectionId: one.id }, 'lobby:9'), 0, 'not on this node')
    t.same((await one.client.next('subscription.joined')).data, { channel: 'lobby:9' })
    t.equal(await a.app.realtime.publish('lobby:9', note(1)), 0)
    t.same((await receivedBefore(one, a.app)).map(m => m.channel), ['lobby:9'])
    t.same(await receivedBefore(two, a.app), [])
    t.equal(await a.app.realtime.leave({ connectionId: one.id }, 'lobby:9'), 0)
    t.same((await one.client.next('subscription.ended')).data, { channel: 'lobby:9', reason: 'left' })
    await a.app.realtime.publish('lobby:9', note(2))
    t.same(await receivedBefore(one, a.app), [])
  })

  t.test('broadcastReviewUpdated across nodes: one copy per connection, with channel for members', async (t) => {
    const { nodes: [a, b] } = await cluster(t, 2)
    const both = await connect(t, b, 'bob')
    const eventOnly = await connect(t, b, 'carol')
    const memberOnA = await connect(t, a, 'dave')
    await subscribe(both.client, { events: ['review.updated'], channels: ['review:42'] })
    await subscribe(eventOnly.client, { events: ['review.updated'] })
    await subscribe(memberOnA.client, { channels: ['review:42'] })
    t.equal(await a.app.realtime.broadcastReviewUpdated('42', { status: 'done' }), 1)
    t.same((await receivedBefore(both, a.app)).map(m => m.channel), ['review:42'], 'event and channel: one copy, with channel')
    t.same((await receivedBefore(eventOnly, a.app)).map(m => m.channel), [undefined])
    t.same((await receivedBefore(memberOnA, a.app)).map(m => m.channel), ['review:42'])
  })

  t.test('clusterSubscribersOf counts every node\'s members; subscribersOf this node\'s', async (t) => {
    const { nodes: [a, b, c] } = await cluster(t, 3)
    await subscribe((await connect(t, a, 'u1')).client, { channels: ['lobby:count'] })
    await subscribe((await connect(t, b, 'u2')).client, { channels: ['lobby:count'] })
    await subscribe((await connect(t, b, 'u3')).client, { channels: ['lobby:count'] })
    await connect(t, c, 'u4')
    t.same([a, b, c].map(node => node.app.realtime.subscribersOf('lobby:count')), [1, 2, 0])
    t.same(await Promise.all([a, b, c].map(node => node.app.realtime.clusterSubscribersOf('lobby:count'))), [3, 3, 3])
    t.equal(await c.app.realtime.clusterSubscribersOf('lobby:none'), 0)
  })

  t.test('a refused subscribe on one node leaves the cluster untouched', async (t) => {
    const { nodes: [a, b], prefix } = await cluster(t, 2)
    const mallory = await connect(t, b, 'mallory')
    t.match((await subscribe(mallory.client, { channels: ['lobby:m', 'review:1'] })).data, { code: 'CHANNEL_FORBIDDEN', details: ['review:1'] })
    t.equal(await listeners(t, prefix, 'lobby:m'), 0, 'no Redis subscription for the refused request')
    t.equal(await a.app.realtime.clusterSubscribersOf('lobby:m'), 0)
  })
}

if (requireRedis(t)) {
  t.test('clusterSubscribersOf rejects when a listener of the cluster channel never answers; stray frames change nothing', async (t) => {
    const { nodes: [a, b], prefix } = await cluster(t, 2, { commandTimeoutMs: 300 })
    await subscribe((await connect(t, b, 'u1')).client, { channels: ['lobby:1'] })
    const silent = new Redis(REDIS_URL)
    t.teardown(() => silent.disconnect())
    await silent.subscribe(`${prefix}:messages`)
    await t.rejects(a.app.realtime.clusterSubscribersOf('lobby:1'), /not every node answered within 300 ms/)

    const stray = new Redis(REDIS_URL)
    t.teardown(() => stray.disconnect())
    const clusterChannel = `${prefix}:messages`
    await stray.publish(clusterChannel, '1\nstranger\n{"kind":"count"}\n')
    await stray.publish(clusterChannel, '1\nstranger\n{"kind":"count","queryId":"q","channel":"lobby:1"}\n')
    await stray.publish(clusterChannel, `1\nstranger\n{"kind":"counted","queryId":"nope","to":"${a.app.realtime.nodeId}","count":5}\n`)
    await stray.publish(clusterChannel, `1\nstranger\n{"kind":"counted","to":"${a.app.realtime.nodeId}"}\n`)
    await silent.unsubscribe()
    t.equal(await a.app.realtime.clusterSubscribersOf('lobby:1'), 1, 'answered again once every listener is a node')
    t.equal(await b.app.realtime.clusterSubscribersOf('lobby:1'), 1)
  })
}
