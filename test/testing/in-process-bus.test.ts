import t from 'tap'
import { once } from 'node:events'
import { EventEmitter } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import { InProcessBus } from '../../lib/testing/index.js'
import type { AdapterContext, ClusterMessage } from '../../lib/index.js'

// The bus on its own: three adapters started with contexts that record what they receive
function node (bus: InProcessBus, nodeId: string) {
  const adapter = bus.adapter()
  const received: ClusterMessage[] = []
  const events = new EventEmitter()
  const context: AdapterContext = {
    nodeId,
    log: { warn () {} } as unknown as FastifyBaseLogger,
    receive (message) { received.push(message); events.emit('message', message) },
    localConnectionCount: () => 0,
    hasConnection: () => false,
    localChannelSubscribers: () => 0
  }
  return { adapter, received, events, start: () => adapter.start(context) }
}

const deliver = (payload: string): ClusterMessage => ({ kind: 'deliver', target: { kind: 'all' }, payload })

t.test('a publish reaches every other node, later and as a copy, never the publisher', async (t) => {
  const bus = new InProcessBus()
  const [a, b, c] = [node(bus, 'a'), node(bus, 'b'), node(bus, 'c')]
  await Promise.all([a.start(), b.start(), c.start()])
  t.equal(bus.nodeCount, 3)
  const message = deliver('{"type":"x"}')
  const atB = once(b.events, 'message')
  const atC = once(c.events, 'message')
  await a.adapter.publish(message)
  t.same(b.received, [], 'not synchronously')
  const [[fromB], [fromC]] = await Promise.all([atB, atC]) as [[ClusterMessage], [ClusterMessage]]
  t.same(fromB, message)
  t.not(fromB, message, 'a copy, not the object')
  t.not(fromC, fromB)
  t.same(a.received, [], 'the publisher delivers locally itself')
  t.equal(bus.published, 1)
})

t.test('a node that closes receives nothing more, not even what was already on its way', async (t) => {
  const bus = new InProcessBus()
  const [a, b] = [node(bus, 'a'), node(bus, 'b')]
  await Promise.all([a.start(), b.start()])
  await a.adapter.publish(deliver('late'))
  await b.adapter.close()
  t.equal(bus.nodeCount, 1)
  await a.adapter.publish(deliver('after'))
  const c = node(bus, 'c')
  await c.start()
  const marker = once(c.events, 'message')
  await a.adapter.publish(deliver('marker'))
  await marker
  t.same(b.received, [])
})

t.test('connection slots are counted across nodes, and a closing node gives its slots back', async (t) => {
  const bus = new InProcessBus()
  const [a, b] = [node(bus, 'a'), node(bus, 'b')]
  await Promise.all([a.start(), b.start()])
  t.equal(await a.adapter.acquireConnection?.('alice', 'c1', 2), true)
  t.equal(await b.adapter.acquireConnection?.('alice', 'c2', 2), true)
  t.equal(await b.adapter.acquireConnection?.('alice', 'c3', 2), false, 'the third of a max of 2, on any node')
  t.same(await a.adapter.clusterStats?.(), { nodes: 2, connections: 2, users: 1 })
  await b.adapter.releaseConnection?.('alice', 'c2')
  await b.adapter.releaseConnection?.('alice', 'c2')
  await b.adapter.releaseConnection?.('nobody', 'c9')
  t.same(await a.adapter.clusterStats?.(), { nodes: 2, connections: 1, users: 1 }, 'a release counts once; unknown ones are no-ops')
  await a.adapter.close()
  t.same(await b.adapter.clusterStats?.(), { nodes: 1, connections: 0, users: 0 }, 'a closed node holds no slot')
})

t.test('without counting, the adapter has no slots to claim: the limit stays per node', async (t) => {
  const adapter = new InProcessBus({ countConnections: false }).adapter()
  t.equal(adapter.acquireConnection, undefined)
  t.equal(adapter.releaseConnection, undefined)
  t.equal(adapter.clusterStats, undefined)
})
