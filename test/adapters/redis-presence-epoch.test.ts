import t from 'tap'
import { Redis } from 'ioredis'
import { requireRedis, startNode, uniquePrefix, eventually, REDIS_URL } from '../redis/helpers.js'

// A leave or a join that Redis refuses because it lost presence's epoch
// (flushed, or restarted empty) is not lost: the node asks for a heartbeat,
// whose resync puts Redis right.

if (requireRedis(t)) {
  t.test('a leave or a join after Redis lost the presence epoch is resent by the resync', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await startNode(t, { prefix, realtime: { presence: { offlineGraceMs: 0 } } })
    const alice = await a.connect('alice')
    await eventually(async () => await a.app.realtime.isOnline('alice'), 'alice online')
    const redis = new Redis(REDIS_URL)
    redis.on('error', () => {})
    t.teardown(() => redis.disconnect())
    await redis.del(`${prefix}:presence:epoch`)
    await alice.close()
    await eventually(async () => !(await a.app.realtime.isOnline('alice')), 'alice offline after the resync')
    t.pass('alice went offline')
    // a join refused the same way: the resync it asks for makes the user online
    await redis.del(`${prefix}:presence:epoch`)
    await a.connect('bob')
    await eventually(async () => await a.app.realtime.isOnline('bob'), 'bob online after the resync')
    t.pass('bob came online')
  })
}
