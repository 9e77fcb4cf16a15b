import t from 'tap'
import { adapterStatus as status, eventually, requireRedis, requireRedisServerBinary, startNode, startPrivateRedis, uniquePrefix, type ClusterNode } from './helpers.js'
import { connect, receivedBefore, subscribe } from '../channels/support.js'

if (requireRedis(t) && requireRedisServerBinary(t)) {
  t.test('after a Redis outage a node listens again to every channel it has members in, including those joined meanwhile', async (t) => {
    const redis = await startPrivateRedis(t)
    const prefix = uniquePrefix(t, redis.url)
    const options = { prefix, url: redis.url, adapter: { leaseMs: 1000, heartbeatMs: 20 }, realtime: { channels: { lobby: {} } } }
    const a = await startNode(t, options)
    const b = await startNode(t, options)
    const before = await connect(t, b, 'bob')
    await subscribe(before.client, { channels: ['lobby:1'] })

    await redis.kill()
    await Promise.all([status(a, 'disconnected'), status(b, 'disconnected')])
    const during = await connect(t, b, 'carol')
    t.match(await subscribe(during.client, { channels: ['lobby:2'] }), { type: 'subscription.confirmed' }, 'a subscribe during the outage is confirmed (local delivery works)')
    await t.rejects(b.app.realtime.publish('lobby:2', { type: 'note', data: {} }), { code: 'FST_REALTIME_PUBLISH_FAILED', delivered: 1 })
    t.same((await receivedBefore(during, b.app)).map(m => m.channel), ['lobby:2'])

    await redis.start()
    await Promise.all([status(a, 'connected'), status(b, 'connected')])
    t.equal(await a.app.realtime.publish('lobby:1', { type: 'note', data: { n: 1 } }), 0)
    t.equal(await a.app.realtime.publish('lobby:2', { type: 'note', data: { n: 2 } }), 0)
    t.same((await receivedBefore(before, a.app)).map(m => m.channel), ['lobby:1'], 'resubscribed to the channel it had')
    t.same((await receivedBefore(during, a.app)).map(m => m.channel), ['lobby:2'], 'and subscribed to the one joined during the outage')
    t.equal(b.adapter.listenedChannelCount, 2)
  })
}

if (requireRedis(t) && requireRedisServerBinary(t)) {
  t.test('a frozen Redis delays a subscribe\'s confirmation by commandTimeoutMs at most, and the channel works locally', async (t) => {
    const redis = await startPrivateRedis(t)
    const prefix = uniquePrefix(t, redis.url)
    const node = await startNode(t, { prefix, url: redis.url, adapter: { commandTimeoutMs: 200 }, realtime: { channels: { lobby: {} } } })
    const member = await connect(t, node, 'bob')
    process.kill(redis.pid, 'SIGSTOP')
    t.teardown(() => { try { process.kill(redis.pid, 'SIGCONT') } catch {} })
    t.match(await subscribe(member.client, { channels: ['lobby:1'] }), { type: 'subscription.confirmed' })
    t.ok(node.logs.some(line => line.includes('could not listen to a channel across the cluster')), 'the failed SUBSCRIBE is logged')
    await t.rejects(node.app.realtime.publish('lobby:1', { type: 'note', data: {} }), { code: 'FST_REALTIME_PUBLISH_FAILED', delivered: 1 })
    t.same((await receivedBefore(member, node.app)).map(m => m.channel), ['lobby:1'], 'delivered locally')
    t.match(await subscribe(member.client, { channels: ['lobby:1'] }, 'unsubscribe'), { type: 'unsubscription.confirmed' })
    await eventually(() => node.logs.some(line => line.includes('could not stop listening to a channel')), 'the failed UNSUBSCRIBE to be logged')
    process.kill(redis.pid, 'SIGCONT')
  })
}
