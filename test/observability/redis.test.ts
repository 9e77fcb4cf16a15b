import t from 'tap'
import { redisAdapter, type RedisAdapter } from '../../lib/index.js'
import { adapterStatus as status, requireRedis, requireRedisServerBinary, startPrivateRedis, uniquePrefix, REDIS_URL } from '../redis/helpers.js'
import { delta, startMetricsServer, type MetricsServer } from './support.js'
import { notification } from '../helpers/messages.js'

const P = 'realtime_'

interface MetricsNode extends MetricsServer { adapter: RedisAdapter }

async function startMetricsNode (t: Parameters<typeof startMetricsServer>[0], url: string, prefix: string, adapterOptions = {}): Promise<MetricsNode> {
  const adapter = redisAdapter({ url, keyPrefix: prefix, ...adapterOptions })
  const server = await startMetricsServer(t, { realtime: { adapter } })
  return { ...server, adapter }
}

if (requireRedis(t) && requireRedisServerBinary(t)) {
  t.test('Redis goes away and comes back: health, adapter_connected, publish failures, reconnects', async (t) => {
    const redis = await startPrivateRedis(t)
    const prefix = uniquePrefix(t, redis.url)
    const node = await startMetricsNode(t, redis.url, prefix, { heartbeatMs: 20, leaseMs: 1000 })
    const alice = await node.connect('alice')
    t.same(node.app.realtime.health(), { status: 'ok', adapter: { connected: true }, eventLoopDelayMs: node.app.realtime.health().eventLoopDelayMs, connections: 1 })
    const before = await node.scrape()
    t.equal(before.value(`${P}adapter_connected`), 1)

    await redis.kill()
    await status(node, 'disconnected')
    const health = node.app.realtime.health()
    t.equal(health.status, 'degraded', 'degraded while Redis is away')
    t.equal(health.adapter.connected, false)
    t.type(health.adapter.lastError, 'string')
    t.notMatch(health.adapter.lastError, /password|:\/\/[^@]*@/, 'no credentials in the error')
    for (let i = 0; i < 3; i++) {
      await t.rejects(node.app.realtime.sendToUser('alice', notification(`local ${i}`)), { code: 'FST_REALTIME_PUBLISH_FAILED', delivered: 1 })
    }
    await t.rejects(node.app.realtime.disconnectUser('nobody'), { code: 'FST_REALTIME_PUBLISH_FAILED' })
    t.equal((await alice.next('system.notification')).data.message, 'local 0', 'local delivery goes on')
    const during = await node.scrape()
    t.equal(during.value(`${P}adapter_connected`), 0)
    t.equal(delta(before, during, `${P}adapter_publish_failures_total`), 4, 'three deliveries and a disconnect did not reach the other nodes')
    t.equal(delta(before, during, `${P}adapter_reconnects_total`), 0)

    await redis.start()
    await status(node, 'connected')
    const after = await node.scrape()
    t.equal(after.value(`${P}adapter_connected`), 1)
    t.equal(delta(before, after, `${P}adapter_reconnects_total`), 1)
    t.equal(delta(during, after, `${P}adapter_publish_failures_total`), 0)
    t.same(node.app.realtime.health().adapter, { connected: true }, 'the error is gone with the outage')
    t.equal(node.app.realtime.health().status, 'ok')
  })

  t.test('a message published on one node is timed and counted where it is delivered', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await startMetricsNode(t, REDIS_URL, prefix)
    const b = await startMetricsNode(t, REDIS_URL, prefix)
    const bob = await b.connect('bob')
    const beforeA = await a.scrape()
    const beforeB = await b.scrape()
    t.equal(await a.app.realtime.sendToUser('bob', notification('across')), 0, 'nobody local on A')
    t.equal((await bob.next('system.notification')).data.message, 'across')
    // a second message as a marker: B applied both once bob has the second
    await a.app.realtime.broadcastToAll(notification('marker'))
    await bob.next('system.notification')
    const afterB = await b.scrape()
    const afterA = await a.scrape()
    t.equal(delta(beforeB, afterB, `${P}cluster_messages_received_total`), 2)
    t.equal(delta(beforeB, afterB, `${P}cluster_delivery_latency_seconds_count`), 2, 'B timed both from A\'s publish')
    t.ok(delta(beforeB, afterB, `${P}cluster_delivery_latency_seconds_sum`) >= 0)
    t.equal(delta(beforeA, afterA, `${P}cluster_delivery_latency_seconds_count`), 0, 'A does not time its own messages')
    t.equal(delta(beforeA, afterA, `${P}deliveries_total`, { target: 'users' }), 1)
    t.equal(delta(beforeA, afterA, `${P}deliveries_total`, { target: 'all' }), 1)
  })
}
