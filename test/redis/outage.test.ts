import t from 'tap'
import { adapterStatus as status, requireRedis, requireRedisServerBinary, startNode, startPrivateRedis, uniquePrefix, countLogs, eventually, logged, type ClusterNode } from './helpers.js'
import { messagesBeforeMarker } from '../helpers/client.js'
import { notification } from '../helpers/messages.js'

const LOST = /lost the connection to Redis/
const BACK = /reconnected to Redis/
const STILL_AWAY = /Redis still unreachable/

if (requireRedis(t) && requireRedisServerBinary(t)) {
  t.test('Redis stops while clients are connected, then comes back', async (t) => {
    // our own redis-server: stopping it disturbs nobody else
    const redis = await startPrivateRedis(t)
    const prefix = uniquePrefix(t, redis.url)
    const options = { prefix, url: redis.url, adapter: { leaseMs: 1000, heartbeatMs: 20 }, realtime: { maxConnectionsPerUser: 2 } }
    const a = await startNode(t, options)
    const b = await startNode(t, options)
    const alice = await a.connect('alice')
    const bob = await b.connect('bob')
    const leaving = await b.connect('dave')

    await redis.kill()
    await Promise.all([status(a, 'disconnected'), status(b, 'disconnected')])

    // local delivery keeps working; the caller learns the other nodes were not reached
    const failure = await a.app.realtime.sendToUser('alice', notification('local only')).then(() => undefined, (err: unknown) => err)
    t.match(failure, { code: 'FST_REALTIME_PUBLISH_FAILED', delivered: 1 })
    t.equal((await alice.next('system.notification')).data.message, 'local only')
    for (let i = 0; i < 20; i++) {
      await t.rejects(a.app.realtime.broadcastToAll(notification(`burst ${i}`)), { code: 'FST_REALTIME_PUBLISH_FAILED', delivered: 1 })
    }
    await t.rejects(a.app.realtime.clusterStats(), 'no cluster view during the outage')

    // connections come and go on the local limit; nothing is logged per connection or per message
    const charlie = await a.connect('charlie')
    await a.connect('charlie')
    await leaving.close()
    await charlie.request({ type: 'ping', data: {} }, 'pong')
    t.equal(countLogs(a, LOST), 1, 'node A logged the outage once')
    t.equal(countLogs(b, LOST), 1, 'node B logged the outage once')
    t.equal(countLogs(b, /could not release/), 0, 'a closed connection during the outage logs nothing')
    // reconnect attempts keep failing during the outage without a word above debug
    const stillAway = countLogs(a, STILL_AWAY)
    await eventually(() => countLogs(a, STILL_AWAY) >= stillAway + 3, 'three more failed reconnect attempts')
    t.equal(countLogs(a, LOST), 1, 'still once')

    await redis.start()
    await Promise.all([status(a, 'connected'), status(b, 'connected')])
    await logged(a, BACK)

    t.equal(await a.app.realtime.sendToUser('bob', notification('across again')), 0)
    t.equal((await bob.next('system.notification')).data.message, 'across again', 'resubscribed by itself')
    // the marker crosses Redis behind anything node A still had queued from the outage
    t.same(await messagesBeforeMarker(bob, a.app.realtime), [], 'nothing from the outage was replayed')
    // Redis came back empty: each node re-registered the connections it holds, including those accepted during the outage
    t.match(await b.app.realtime.clusterStats(), { nodes: 2, connections: 4, users: 3 })
    const refused = await a.connect('charlie').then(() => 'accepted', (err: { statusCode?: number }) => err.statusCode)
    t.equal(refused, 429, 'the per-user limit counts connections accepted during the outage')
    t.equal(countLogs(a, BACK), 1)
  })

  t.test('a publish that Redis never answers rejects after commandTimeoutMs instead of hanging', async (t) => {
    const redis = await startPrivateRedis(t)
    const prefix = uniquePrefix(t, redis.url)
    const a = await startNode(t, { prefix, url: redis.url, adapter: { commandTimeoutMs: 200 } })
    const alice = await a.connect('alice')
    process.kill(redis.pid, 'SIGSTOP')
    t.teardown(() => { try { process.kill(redis.pid, 'SIGCONT') } catch {} })
    const started = Date.now()
    await t.rejects(a.app.realtime.sendToUser('alice', notification('frozen')), { code: 'FST_REALTIME_PUBLISH_FAILED', delivered: 1 })
    t.ok(Date.now() - started < 2000, 'rejected within the command timeout')
    t.equal((await alice.next('system.notification')).data.message, 'frozen')
    process.kill(redis.pid, 'SIGCONT')
  })
}
