import t from 'tap'
import { Redis } from 'ioredis'
import { requireRedis, requireRedisServerBinary, startNode, startPrivateRedis, uniquePrefix, eventually, logged } from '../redis/helpers.js'

// Presence while Redis answers no writes (CLIENT PAUSE WRITE, on a private
// Redis: the pause would stall every other test on the shared one): a
// leave, a join and a sweep that time out are logged, not thrown, and once
// Redis takes writes again (the paused commands themselves, or the resync of
// the next heartbeat) presence is right, late but not never.

if (requireRedis(t) && requireRedisServerBinary(t)) {
  t.test('a leave, a join and a sweep that Redis does not answer in time are logged; presence is right once Redis takes writes again', async (t) => {
    const redis = await startPrivateRedis(t)
    const prefix = uniquePrefix(t, redis.url)
    const a = await startNode(t, {
      prefix,
      url: redis.url,
      adapter: { commandTimeoutMs: 150, leaseMs: 5000, heartbeatMs: 300, presenceSweepMs: 100 },
      realtime: { presence: { offlineGraceMs: 0 } }
    })
    const alice = await a.connect('alice')
    await eventually(async () => await a.app.realtime.isOnline('alice'), 'alice online')
    const admin = new Redis(redis.url)
    admin.on('error', () => {})
    t.teardown(() => admin.disconnect())
    await admin.call('CLIENT', 'PAUSE', '1500', 'WRITE')
    await alice.close()
    await logged(a, /presence leave not acknowledged by Redis/)
    await logged(a, /presence sweep failed/)
    // the connection count times out too, and the handshake falls back to the local limit
    await a.connect('bob')
    await logged(a, /presence join not acknowledged by Redis/)
    // a query is a script too: it times out until the pause ends
    const isOffline = async (): Promise<boolean> => !(await a.app.realtime.isOnline('alice').catch(() => true))
    await eventually(isOffline, 'alice offline after the pause', 8000)
    await eventually(async () => await a.app.realtime.isOnline('bob').catch(() => false), 'bob online after the pause', 8000)
    t.pass('alice went offline')
  })
}
