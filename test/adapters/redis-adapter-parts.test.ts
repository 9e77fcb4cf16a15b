import t from 'tap'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { requireRedis, requireRedisServerBinary, startNode, startPrivateRedis, uniquePrefix, REDIS_URL } from '../redis/helpers.js'
import { startServer } from '../helpers/server.js'
import { redisAdapter } from '../../lib/index.js'
import { connect, subscribe } from '../channels/support.js'
import { ChannelCountQueries } from '../../lib/adapters/redis-count-queries.js'
import type { RealtimeOptions } from '../../lib/index.js'

// The parts split out of the Redis adapter, on the branches the cluster
// tests do not reach: health before and after close, a count question
// pending at close, a count question Redis does not take, a count asked of
// an adapter that never started, a first heartbeat Redis refuses.

const channels: NonNullable<RealtimeOptions['channels']> = { lobby: {} }

if (requireRedis(t)) {
  t.test('health() says connected, then why not once closed', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await startNode(t, { prefix })
    t.same(a.adapter.health(), { connected: true, reconnects: 0 })
    await a.adapter.close()
    t.same(a.adapter.health(), { connected: false, reconnects: 0, lastError: 'Redis adapter is closed' })
  })

  t.test('a count question still waiting for an answer rejects with FST_REALTIME_ADAPTER_CLOSED when the adapter closes', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await startNode(t, { prefix, realtime: { channels } })
    const b = await startNode(t, { prefix, realtime: { channels } })
    const member = await connect(t, b, 'bob')
    await subscribe(member.client, { channels: ['lobby:1'] })
    // a listener that is no node: PUBLISH counts it, and it never answers
    const silent = new Redis(REDIS_URL)
    silent.on('error', () => {})
    t.teardown(() => silent.disconnect())
    await silent.subscribe(`${prefix}:messages`)
    const question = a.app.realtime.clusterSubscribersOf('lobby:1')
    question.catch(() => {})
    // B's answer and the question itself pass the silent listener: once both are there, A waits for the silent one
    while (true) {
      const [, text] = await once(silent, 'message', { signal: AbortSignal.timeout(5000) }) as [string, string]
      if (text.includes('"counted"')) break
    }
    await a.adapter.close()
    await t.rejects(question, { code: 'FST_REALTIME_ADAPTER_CLOSED', message: 'Redis adapter closed' })
  })

  t.test('a count question Redis does not take rejects, and leaves nothing waiting', async (t) => {
    const offline = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 })
    offline.on('error', () => {})
    t.teardown(() => offline.disconnect())
    const queries = new ChannelCountQueries({
      nodeId: 'node-a',
      timeoutMs: 5000,
      localChannelSubscribers: () => 0,
      publish: (frame) => offline.publish('nowhere', frame),
      onAnswerFailed: () => {}
    })
    await t.rejects(queries.ask('lobby:1'), /writeable|enableOfflineQueue/)
    // nothing left to reject: the failed question was forgotten
    queries.rejectAll(new Error('unused'))
  })

  t.test('an answer Redis does not take is reported, not thrown', async (t) => {
    const offline = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 })
    offline.on('error', () => {})
    t.teardown(() => offline.disconnect())
    let failed: unknown
    const reported = new Promise<void>((resolve) => {
      const queries = new ChannelCountQueries({
        nodeId: 'node-b',
        timeoutMs: 5000,
        localChannelSubscribers: () => 2,
        publish: (frame) => offline.publish('nowhere', frame),
        onAnswerFailed: (err) => { failed = err; resolve() }
      })
      queries.onFrame({ kind: 'count', queryId: 'q', channel: 'lobby:1' }, 'node-a')
      // not a question: no answer
      queries.onFrame({ kind: 'count', queryId: 1, channel: 'lobby:1' }, 'node-a')
    })
    await reported
    t.match(String(failed), /writeable|enableOfflineQueue/)
  })

  t.test('a count asked of an adapter that never started rejects with FST_REALTIME_ADAPTER_NOT_CONNECTED', async (t) => {
    const adapter = redisAdapter({ url: REDIS_URL, keyPrefix: uniquePrefix(t) })
    await t.rejects(adapter.clusterSubscribersOf('lobby:1'), { code: 'FST_REALTIME_ADAPTER_NOT_CONNECTED', message: 'Redis adapter is connecting' })
  })

  t.test('a first heartbeat Redis refuses fails the start with FST_REALTIME_ADAPTER_UNAVAILABLE', async (t) => {
    if (!requireRedisServerBinary(t)) return
    const redis = await startPrivateRedis(t)
    const admin = new Redis(redis.url)
    admin.on('error', () => {})
    t.teardown(() => admin.disconnect())
    // out of memory: the heartbeat's SET is refused
    await admin.config('SET', 'maxmemory', '1')
    const adapter = redisAdapter({ url: redis.url, keyPrefix: uniquePrefix(t, redis.url) })
    await t.rejects(startServer(t, { realtime: { adapter } }), { code: 'FST_REALTIME_ADAPTER_UNAVAILABLE', message: /OOM/ })
    t.equal(adapter.status, 'closed')
  })
}
