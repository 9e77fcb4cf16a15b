import t from 'tap'
import { cluster, InProcessBus } from '../../lib/testing/index.js'
import { notification } from '../helpers/messages.js'

const isMarker = (message: { data: unknown }): boolean => (message.data as { message?: string }).message === 'marker'

t.test('cluster(2) on the in-process bus: a delivery on one node reaches the user on the other', async (t) => {
  const nodes = await cluster(2)
  t.teardown(() => nodes.close())
  t.equal(nodes.nodes.length, 2)
  t.ok(nodes.bus instanceof InProcessBus)
  t.equal(nodes.bus?.nodeCount, 2)
  const alice = await nodes.connect(1, { userId: 'alice' })
  const bob = await nodes.connect(1, { userId: 'bob' })

  t.equal(await nodes.nodes[0]?.realtime.sendToUser('alice', notification('from node 0')), 0, 'no socket of alice on node 0')
  t.match(await alice.next('system.notification'), { data: { message: 'from node 0' } })
  // bob's negative check: a marker the same way (node 0, across the bus), after the action
  await nodes.nodes[0]?.realtime.sendToUser('bob', notification('marker'))
  await bob.expectNothing({ until: isMarker })
  t.ok((nodes.bus?.published ?? 0) >= 2, 'the deliveries crossed the bus')
})

t.test('the bus counts connections across nodes: maxConnectionsPerUser holds cluster-wide', async (t) => {
  const nodes = await cluster(2, { realtime: { maxConnectionsPerUser: 1 } })
  t.teardown(() => nodes.close())
  await nodes.connect(0, { userId: 'alice' })
  await t.rejects(nodes.connect(1, { userId: 'alice' }), { code: 'FST_REALTIME_TESTING_REFUSED', statusCode: 429 })
  await nodes.connect(1, { userId: 'bob' })
  t.match(await nodes.nodes[1]?.realtime.clusterStats(), { nodes: 2, connections: 2, users: 2 })
})

t.test('without counting, the limit is per node', async (t) => {
  const nodes = await cluster(2, { realtime: { maxConnectionsPerUser: 1 }, bus: { countConnections: false } })
  t.teardown(() => nodes.close())
  await nodes.connect(0, { userId: 'alice' })
  const second = await nodes.connect(1, { userId: 'alice' })
  t.equal(second.userId, 'alice')
})

t.test('disconnectUser on one node closes the user\'s sockets on every node', async (t) => {
  const nodes = await cluster(3)
  t.teardown(() => nodes.close())
  const onTwo = await nodes.connect(2, { userId: 'alice' })
  await nodes.nodes[0]?.realtime.disconnectUser('alice', 'revoked')
  t.same(await onTwo.closed, { code: 4500, reason: 'revoked' })
})

t.test('a cluster of the host\'s own app: build() gets the adapter and the secret', async (t) => {
  const Fastify = (await import('fastify')).default
  const realtime = (await import('../../lib/index.js')).default
  const nodes = await cluster(2, {
    build: async ({ adapter, secret, index }) => {
      const app = Fastify()
      await app.register(realtime, { jwt: secret, adapter, prefix: '/api' })
      app.post('/notify', async () => ({ delivered: await app.realtime.broadcastSystemNotification(`from ${index}`) }))
      return app
    },
    connect: { path: '/api/ws' }
  })
  t.teardown(() => nodes.close())
  const client = await nodes.connect(1, { userId: 'u' })
  const response = await nodes.nodes[0]?.inject({ method: 'POST', url: '/notify' })
  t.same(response?.json(), { delivered: 0 })
  t.match(await client.next('system.notification'), { data: { message: 'from 0' } })
})

t.test('cluster refuses a bad node count and an unknown node', async (t) => {
  await t.rejects(cluster(0), { code: 'FST_REALTIME_TESTING_SETUP' })
  const nodes = await cluster(1)
  t.teardown(() => nodes.close())
  await t.rejects(nodes.connect(1, { userId: 'u' }), { code: 'FST_REALTIME_TESTING_SETUP' })
})

t.test('a node that fails to build closes the ones already started', async (t) => {
  const Fastify = (await import('fastify')).default
  const realtime = (await import('../../lib/index.js')).default
  const built: Array<import('fastify').FastifyInstance> = []
  const failure = cluster(3, {
    build: async ({ index, adapter, secret }) => {
      if (index === 1) throw new Error('node 1 does not build')
      const app = Fastify()
      await app.register(realtime, { jwt: secret, adapter })
      built.push(app)
      return app
    }
  })
  await t.rejects(failure, { message: 'node 1 does not build' })
  t.equal(built.length, 1)
  t.notOk(built[0]?.server.listening, 'node 0 was closed')
})

t.test('the kit signs with the jwt secret the nodes were given, as a string or in @fastify/jwt options', async (t) => {
  for (const jwt of ['a-string-secret-of-the-test-cluster-nodes', { secret: 'an-options-secret-of-the-test-cluster-nodes' }]) {
    const nodes = await cluster(1, { realtime: { jwt } })
    t.equal((await nodes.connect(0, { userId: 'u' })).userId, 'u', typeof jwt)
    await nodes.close()
  }
})
