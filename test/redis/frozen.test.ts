import t from 'tap'
import { requireRedis, requireRedisServerBinary, startNode, startPrivateRedis, uniquePrefix, eventually, logged, countLogs } from './helpers.js'

if (requireRedis(t) && requireRedisServerBinary(t)) {
  t.test('a Redis that stops answering (SIGSTOP): handshakes, closes and heartbeats time out, then Redis is reconciled', async (t) => {
    const redis = await startPrivateRedis(t)
    const prefix = uniquePrefix(t, redis.url)
    const node = await startNode(t, { prefix, url: redis.url, adapter: { commandTimeoutMs: 100, leaseMs: 5000, heartbeatMs: 50 } })
    const alice = await node.connect('alice')
    process.kill(redis.pid, 'SIGSTOP')
    t.teardown(() => { try { process.kill(redis.pid, 'SIGCONT') } catch {} })

    await node.connect('bob')
    await logged(node, /could not reach the adapter to count connections; using the local limit/)
    t.pass('a handshake whose slot cannot be claimed falls back to the local limit')
    await alice.close()
    await eventually(() => node.app.realtime.stats().connections === 1, 'alice to be gone locally')
    await logged(node, /Redis heartbeat failed/)
    t.equal(node.adapter.status, 'connected', 'the connection is still up: only commands time out')

    process.kill(redis.pid, 'SIGCONT')
    // the next heartbeat re-registers this node's leases as they are now: bob's, not alice's
    await eventually(async () => {
      const view = await node.app.realtime.clusterStats().catch(() => undefined)
      return view?.connections === 1 && view.users === 1
    }, 'Redis to hold exactly bob\'s lease')
    t.equal(countLogs(node, /could not release/), 0, 'a release that timed out is not an error: it is reconciled')

    process.kill(redis.pid, 'SIGSTOP')
    await node.app.close()
    t.equal(node.adapter.status, 'closed', 'close() does not hang on a frozen Redis')
    await logged(node, /could not remove this node's leases/)
  })
}
