import type { ChildProcess } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import { messagesBeforeMarker, openSocket, type TestClient } from '../helpers/client.js'
import { requireRedis, startNode, uniquePrefix, eventually, REDIS_URL } from './helpers.js'
import type { Teardown } from '../helpers/teardown.js'
import { notification } from '../helpers/messages.js'
import { forkServer } from '../helpers/forked-server.js'

const LEASE_MS = 1000

interface NodeProcess {
  child: ChildProcess
  port: number
  nodeId: string
}

/** Forks test/redis/fixtures/node-process.ts (the TypeScript loader comes with the inherited execArgv). */
async function forkNode (t: Teardown, prefix: string): Promise<NodeProcess> {
  const { child, ready } = await forkServer<{ port: number, nodeId: string }>(t, path.join(__dirname, 'fixtures', 'node-process.ts'), 'REALTIME_NODE_PROCESS', { REDIS_URL, KEY_PREFIX: prefix, LEASE_MS: String(LEASE_MS), MAX_PER_USER: '3' })
  return { child, ...ready }
}

if (requireRedis(t)) {
  t.test('separate node processes: delivery, limits, and a killed node\'s slots freed within leaseMs', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await startNode(t, { prefix, adapter: { leaseMs: LEASE_MS }, realtime: { maxConnectionsPerUser: 3 } })
    const [b, c] = await Promise.all([forkNode(t, prefix), forkNode(t, prefix)])
    const clients: TestClient[] = []
    t.teardown(() => Promise.all(clients.map(client => client.close())))
    const connect = async (port: number, userId: string): Promise<TestClient> => {
      const client = await openSocket(`ws://127.0.0.1:${port}/ws/${a.token(userId)}`)
      clients.push(client)
      await client.next('connection.established')
      return client
    }
    const aliceOnB = await connect(b.port, 'alice')
    const aliceOnC = await connect(c.port, 'alice')
    const bobOnC = await connect(c.port, 'bob')

    t.equal(await a.app.realtime.sendToUser('alice', notification('from A')), 0)
    t.equal((await aliceOnB.next('system.notification')).data.message, 'from A', 'reached alice in process B')
    t.equal((await aliceOnC.next('system.notification')).data.message, 'from A', 'reached alice in process C')
    // markers from A cross Redis behind the message: whatever else B or C delivered has arrived before them
    t.same(await messagesBeforeMarker(aliceOnB, a.app.realtime), [], 'once')
    t.same(await messagesBeforeMarker(bobOnC, a.app.realtime), [], 'never bob')
    t.match(await a.app.realtime.clusterStats(), { nodes: 3, connections: 3, users: 2 })

    await connect(a.port, 'alice')
    const refused = await openSocket(`${a.wsUrl}/${a.token('alice')}`).then(() => 0, (err: { statusCode: number }) => err.statusCode)
    t.equal(refused, 429, 'alice holds 3 connections over 3 processes: the 4th is refused')

    const killedAt = Date.now()
    c.child.kill('SIGKILL')
    t.equal((await aliceOnC.closed).code, 1006, 'the killed node\'s clients see an abnormal close')
    // alice's slot on C counts until C's lease expires: no event tells us when, so poll the handshake
    let aliceAgain: TestClient | undefined
    await eventually(async () => {
      aliceAgain = await openSocket(`${a.wsUrl}/${a.token('alice')}`).catch(() => undefined)
      return aliceAgain !== undefined
    }, 'the killed node\'s slot to be freed', LEASE_MS * 3)
    if (aliceAgain !== undefined) clients.push(aliceAgain)
    const freedAfterMs = Date.now() - killedAt
    t.ok(freedAfterMs <= LEASE_MS + 500, `freed ${freedAfterMs} ms after the kill (leaseMs ${LEASE_MS})`)

    t.equal(await a.app.realtime.sendToUser('alice', notification('still serving')), 2, 'both of alice\'s connections on A')
    t.equal((await aliceOnB.next('system.notification')).data.message, 'still serving', 'the surviving nodes keep serving')
    t.match(await a.app.realtime.clusterStats(), { nodes: 2, connections: 3, users: 1 }, 'the dead node and its leases are gone from the view')
  })
}
