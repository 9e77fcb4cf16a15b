import t from 'tap'
import Fastify from 'fastify'
import realtime, { redisAdapter, RedisAdapter } from '../../lib/index.js'
import { SECRET } from '../helpers/server.js'
import { withoutModule } from '../helpers/missing-module.js'
import { requireRedis, startNode, uniquePrefix, hostClient, freePort, REDIS_URL } from './helpers.js'

/** Connections this node opened, by the name the adapter gives them. */
async function namedConnections (client: { client (subcommand: 'LIST'): Promise<unknown> }, nodeId: string): Promise<number> {
  const list = String(await client.client('LIST'))
  return list.split('\n').filter(line => line.includes(`name=fastify-realtime:${nodeId} `)).length
}

if (requireRedis(t)) {
  t.test('a node whose liveness key vanished (a flushed Redis, a long stall) re-registers its leases', async (t) => {
    const prefix = uniquePrefix(t)
    const node = await startNode(t, { prefix, adapter: { leaseMs: 60000 } })
    await node.connect('alice')
    const host = await hostClient(t)
    await host.del(`${prefix}:node:${node.app.realtime.nodeId}`, `${prefix}:node-conns:${node.app.realtime.nodeId}`, `${prefix}:user:alice`)
    await node.connect('bob')
    t.match(await node.app.realtime.clusterStats(), { nodes: 1, connections: 2, users: 2 }, 'the handshake re-registered the node and both leases')
  })

  t.test('close() quits the connections it opened and never the host\'s client', async (t) => {
    const prefix = uniquePrefix(t)
    const host = await hostClient(t)
    const node = await startNode(t, { prefix, adapter: { client: host } })
    const nodeId = node.app.realtime.nodeId
    t.equal(await namedConnections(host, nodeId), 2, 'a publisher and a subscriber, duplicated from the host\'s client')
    t.equal(node.adapter.status, 'connected')
    await node.app.close()
    t.equal(node.adapter.status, 'closed')
    t.equal(host.status, 'ready', 'the host\'s client is still open')
    t.equal(await host.ping(), 'PONG')
    t.equal(await namedConnections(host, nodeId), 0, 'both of ours are gone')
    t.equal(await host.exists(`${prefix}:node:${nodeId}`), 0, 'the node left the cluster')

    const fromUrl = await startNode(t, { prefix })
    const otherId = fromUrl.app.realtime.nodeId
    t.equal(await namedConnections(host, otherId), 2)
    await fromUrl.app.close()
    t.equal(await namedConnections(host, otherId), 0, 'connections opened from a url are closed too')
    await fromUrl.adapter.close()
    t.equal(fromUrl.adapter.status, 'closed', 'closing again is a no-op')
    const neverStarted = redisAdapter({ url: REDIS_URL })
    await neverStarted.close()
    t.equal(neverStarted.status, 'closed', 'an adapter closed before it started has nothing to close')
  })

  t.test('startup fails with FST_REALTIME_ADAPTER_UNAVAILABLE when Redis does not answer', async (t) => {
    const port = await freePort()
    const app = Fastify()
    t.teardown(() => app.close())
    const adapter = redisAdapter({ url: `redis://127.0.0.1:${port}` })
    await app.register(realtime, { jwt: SECRET, adapter })
    await t.rejects(async () => { await app.ready() }, { code: 'FST_REALTIME_ADAPTER_UNAVAILABLE', statusCode: 503 })
    t.equal(adapter.status, 'closed', 'nothing keeps reconnecting in the background')
  })

  t.test('options are checked when the adapter is created', async (t) => {
    t.throws(() => redisAdapter({ leaseMs: 10 }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /leaseMs/ })
    t.throws(() => redisAdapter({ leaseMs: 1000, heartbeatMs: 1000 }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /heartbeatMs/ })
    t.throws(() => redisAdapter({ keyPrefix: '' }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /keyPrefix/ })
    t.throws(() => redisAdapter({ ledaseMs: 1000 } as never), { code: 'FST_REALTIME_OPTIONS_INVALID' }, 'a misspelled option is an error')
    t.throws(() => redisAdapter({ client: {} as never }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /client/ })
    const host = await hostClient(t)
    t.throws(() => redisAdapter({ client: host, url: REDIS_URL }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /not both/ })
    t.type(redisAdapter({ client: host }), RedisAdapter)
  })

  t.test('without ioredis installed, redisAdapter() says what to install', async (t) => {
    withoutModule(t, 'ioredis')
    t.throws(() => redisAdapter({ url: REDIS_URL }), { code: 'FST_REALTIME_ADAPTER_DEPENDENCY_MISSING', message: /ioredis/ })
  })
}
