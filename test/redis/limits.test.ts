import t from 'tap'
import { requireRedis, startNode, uniquePrefix, eventually, type ClusterNode } from './helpers.js'
import { openSocket, refusalOf as refusal, type Refusal, type TestClient } from '../helpers/client.js'

if (requireRedis(t)) {
  t.test('3 connections over 2 nodes: the 4th is refused with 429 on either node', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await startNode(t, { prefix, realtime: { maxConnectionsPerUser: 3 } })
    const b = await startNode(t, { prefix, realtime: { maxConnectionsPerUser: 3 } })
    const first = await a.connect('alice')
    await a.connect('alice')
    await b.connect('alice')

    for (const node of [a, b]) {
      const refused = await refusal(openSocket(`${node.wsUrl}/${node.token('alice')}`))
      t.equal(refused.statusCode, 429, `refused on node ${node === a ? 'A' : 'B'}`)
      t.match(refused.body, { code: 'FST_REALTIME_USER_CONNECTION_LIMIT' })
    }
    await b.connect('bob')
    t.pass('another user still connects')

    await first.close()
    // the slot is released by the node once the socket is gone: a Redis write, no event to await here
    await eventually(async () => (await a.app.realtime.clusterStats()).connections === 3, 'the closed connection to leave the count')
    await b.connect('alice')
    t.pass('a closed connection frees its slot for any node')
  })

  t.test('concurrent handshakes for the same user on two nodes: exactly max win', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await startNode(t, { prefix, realtime: { maxConnectionsPerUser: 3 } })
    const b = await startNode(t, { prefix, realtime: { maxConnectionsPerUser: 3 } })
    const attempts = [a, b, a, b, a, b, a, b].map(node => openSocket(`${node.wsUrl}/${node.token('racer')}`))
    const results = await Promise.allSettled(attempts)
    const accepted = results.filter((r): r is PromiseFulfilledResult<TestClient> => r.status === 'fulfilled').map(r => r.value)
    t.teardown(() => Promise.all(accepted.map(client => client.close())))
    t.equal(accepted.length, 3, 'three accepted across the cluster')
    t.ok(results.every(r => r.status === 'fulfilled' || (r.reason as Refusal).statusCode === 429), 'the others got 429')
  })

  t.test('a slot claimed by a handshake that never became a connection is freed after handshakeGraceMs', async (t) => {
    const prefix = uniquePrefix(t)
    const node: ClusterNode = await startNode(t, {
      prefix,
      adapter: { leaseMs: 1000, handshakeGraceMs: 200 },
      realtime: { maxConnectionsPerUser: 2 }
    })
    // a plain GET runs the handshake's checks (and claims a slot) but never upgrades
    for (let i = 0; i < 2; i++) {
      const response = await node.app.inject({ method: 'GET', url: `/ws/${node.token('ghost')}` })
      t.equal(response.statusCode, 426)
    }
    await eventually(() => node.adapter.leaseCount === 0, 'abandoned slots to be released', 3000)
    await node.connect('ghost')
    await node.connect('ghost')
    t.equal((await node.app.realtime.clusterStats()).connections, 2, 'only the real connections count')
  })
}
