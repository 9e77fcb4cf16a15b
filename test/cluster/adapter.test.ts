import t from 'tap'
import { randomUUID } from 'node:crypto'
import { ClusterHub, ClusterIpcAdapter, ClusterIpcAdapterDataOptionsSchema, clusterIpcAdapter, clusterPrimary, type AdapterContext, type ClusterMessage } from '../../lib/index.js'
import { IPC_TAG } from '../../lib/cluster/ipc-protocol.js'
import { startServer } from '../helpers/server.js'
import { marker, messagesBefore } from '../helpers/client.js'
import { FakeChannel, FakeCluster } from './fake-cluster.js'

// The worker's adapter in-process: two Fastify apps as two workers of a
// FakeCluster whose primary is a real clusterPrimary(), and the adapter alone
// on a fake channel for its failure paths.

const silent = { child: () => silent, fatal () {}, error () {}, warn () {}, info () {}, debug () {}, trace () {}, silent () {}, level: 'silent' }
const notification = (message: string) => ({ type: 'system.notification', data: { message, level: 'info' as const, timestamp: new Date().toISOString() } })

function fakeContext (overrides: Partial<AdapterContext> = {}): AdapterContext & { received: ClusterMessage[] } {
  const received: ClusterMessage[] = []
  return {
    nodeId: randomUUID(),
    log: silent as unknown as AdapterContext['log'],
    receive: (message) => received.push(message),
    localConnectionCount: () => 0,
    hasConnection: () => false,
    localChannelSubscribers: () => 2,
    received,
    ...overrides
  }
}

/** A channel whose other end is a real hub, as worker `key`. */
function channelToHub (hub: ClusterHub, key = '1'): FakeChannel {
  const channel: FakeChannel = new FakeChannel((frame) => hub.receive(key, frame))
  hub.add(key, (frame) => {
    const copy = JSON.stringify(frame)
    setImmediate(() => channel.emit('message', JSON.parse(copy)))
  })
  return channel
}

t.test('two workers in one process: history, recovery, presence and a worker gone', async (t) => {
  const cluster = new FakeCluster()
  const primary = clusterPrimary({ cluster })
  t.teardown(() => primary.close())
  const [w1, w2] = [cluster.fork(), cluster.fork()]
  const options = (channel: FakeChannel) => ({
    realtime: {
      adapter: clusterIpcAdapter({ ipc: channel }),
      presence: { offlineGraceMs: 0 },
      channels: { review: { history: { size: 10, ttlMs: 60_000 } }, lobby: { presence: true as const } },
      handshakeRateLimit: false as const
    }
  })
  const a = await startServer(t, options(w1.channel))
  const b = await startServer(t, options(w2.channel))
  t.match(await a.app.realtime.clusterStats(), { nodes: 2 })

  const reader = await b.connect('reader')
  const sub = await reader.request<{ positions?: Record<string, { epoch: string, offset: number }> }>({ type: 'subscribe', data: { channels: ['review:1'] } }, 'subscription.confirmed')
  t.equal(await a.app.realtime.publish('review:1', notification('one')), 0)
  t.equal(await a.app.realtime.publish('review:1', notification('two')), 0)
  const first = await reader.next('system.notification')
  const second = await reader.next('system.notification')
  t.same([first.offset, second.offset], [1, 2], 'offsets from the primary, in order')
  t.equal(await b.app.realtime.clusterSubscribersOf('review:1'), 1)

  const late = await a.connect('late')
  const epoch = sub.data.positions?.['review:1']?.epoch ?? (await late.request<{ positions?: Record<string, { epoch: string }> }>({ type: 'subscribe', data: { channels: ['review:1'] } }, 'subscription.confirmed')).data.positions?.['review:1']?.epoch
  const back = await a.connect('back')
  back.send({ type: 'subscribe', data: { channels: ['review:1'], recover: { 'review:1': { epoch, offset: 1 } } } })
  const replayed = await back.next('system.notification')
  t.equal(replayed.offset, 2, 'recovered on the other worker from the primary\'s history')
  t.match((await back.next('recovery.result')).data, { streams: { 'review:1': { recovered: true, missed: 1 } } })

  const watcher = await a.connect('watcher')
  t.equal(await a.app.realtime.isOnline('reader'), true, 'reader on b is online for a')
  t.same(await a.app.realtime.onlineUsers(['nobody', 'reader']), ['reader'])
  t.ok(await a.app.realtime.onlineCount() >= 4)
  await reader.request({ type: 'subscribe', data: { channels: ['lobby:1'] } }, 'subscription.confirmed')
  while ((await a.app.realtime.presenceOf('lobby:1')).count === 0) await new Promise(resolve => setTimeout(resolve, 5))
  t.match(await a.app.realtime.presenceOf('lobby:1'), { count: 1, users: [{ userId: 'reader' }] })
  const label = randomUUID()
  const before = messagesBefore(watcher, label)
  await b.app.realtime.sendToUser('watcher', marker(label))
  await before

  w2.kill()
  await reader.close()
  t.match(b.app.realtime.health(), { adapter: { connected: false, lastError: 'the IPC channel to the cluster primary closed' } })
  t.equal(await a.app.realtime.isOnline('reader'), false, 'the worker gone took its users with it')
  t.match(await a.app.realtime.clusterStats(), { nodes: 1 })
})

t.test('clusterPrimary(): node:cluster by default, workers forked before it, none in a worker, sends skipped to a worker on its way out', async (t) => {
  const real = clusterPrimary()
  t.match(real.hub.stats(), { nodes: 0 })
  await real.close()
  t.throws(() => clusterPrimary({ cluster: { isPrimary: false, on () {}, off () {} } }), { code: 'FST_REALTIME_OPTIONS_INVALID' })
  await clusterPrimary({ cluster: { isPrimary: true, on () {}, off () {} } }).close()

  const cluster = new FakeCluster()
  const early = cluster.fork()
  ;(cluster.workers as Record<number, unknown>)[99] = undefined
  const primary = clusterPrimary({ cluster })
  t.teardown(() => primary.close())
  const late = cluster.fork()
  cluster.emit('message', early, { rt: IPC_TAG, t: 'request', id: 1, request: { op: 'hello', nodeId: 'e' } })
  cluster.emit('message', late, { rt: IPC_TAG, t: 'request', id: 1, request: { op: 'hello', nodeId: 'l' } })
  early.channel.connected = false
  cluster.emit('message', late, { rt: IPC_TAG, t: 'publish', message: { kind: 'disconnect', userId: 'u', code: 4500, reason: 'r' } })
  t.same(early.sent.length, 1, 'the early worker got its hello answered, not the publish')
  t.same(late.sent.length, 1)
  t.match(primary.hub.stats(), { nodes: 2 })
})

t.test('the adapter alone: start failures, options, health, frames it ignores', async (t) => {
  // the adapter's request timer is unref'd (it never keeps a worker alive): this one holds the test open while it runs out
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(keepAlive))
  t.throws(() => clusterIpcAdapter({ requestTimeoutMs: 1 }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /requestTimeoutMs/ })

  const noIpc = clusterIpcAdapter({ ipc: { on () {}, off () {} } })
  await t.rejects(noIpc.start(fakeContext()), { code: 'FST_REALTIME_ADAPTER_UNAVAILABLE', message: /no IPC channel/ })

  const unanswered = new FakeChannel(() => {})
  const lonely = clusterIpcAdapter({ ipc: unanswered, requestTimeoutMs: 20 })
  t.match(lonely.health(), { connected: false, lastError: 'cluster IPC adapter is not started' })
  await t.rejects(lonely.start(fakeContext()), { code: 'FST_REALTIME_ADAPTER_UNAVAILABLE', message: /did not answer hello within 20 ms.*clusterPrimary/ })
  t.equal(unanswered.listenerCount('message'), 0, 'listeners removed')
  await lonely.close()
  await lonely.close()
  t.match(lonely.health(), { lastError: 'cluster IPC adapter is closed' })

  t.match(clusterIpcAdapter().health(), { connected: false }, 'process is the default channel')
  t.ok(clusterIpcAdapter() instanceof ClusterIpcAdapter, 'the class is exported')
  t.same([ClusterIpcAdapterDataOptionsSchema.properties.requestTimeoutMs.default, ClusterIpcAdapterDataOptionsSchema.properties.handshakeGraceMs.default], [5000, 10000], 'the defaults, in the exported schema')

  const hub = new ClusterHub()
  t.teardown(() => hub.close())
  const disagreeing = clusterIpcAdapter({ ipc: channelToHub(hub, 'other') })
  hub.receive('other', { rt: IPC_TAG, t: 'request', id: 0, request: { op: 'hello', nodeId: 'first', offlineGraceMs: 0 } })
  disagreeing.presence({ offlineGraceMs: 5, log: silent as unknown as AdapterContext['log'], changed () {} })
  await t.rejects(disagreeing.start(fakeContext()), { code: 'FST_REALTIME_ADAPTER_UNAVAILABLE', message: /offlineGraceMs \(5\) differs/ })
  const channel = channelToHub(hub)
  const context = fakeContext({ receive: () => { throw new Error('boom') } })
  const adapter = clusterIpcAdapter({ ipc: channel })
  await adapter.start(context)
  t.same(adapter.health(), { connected: true })
  channel.emit('message', 'not ours')
  channel.emit('message', { rt: IPC_TAG, t: 'reply', id: 12345, value: 1 })
  channel.emit('message', { rt: IPC_TAG, t: 'presence', change: { scope: 'users', userId: 'u', status: 'online', at: 1 } })
  channel.emit('message', { rt: IPC_TAG, t: 'message', message: { kind: 'disconnect', userId: 'u', code: 4500, reason: 'r' } })
  t.pass('a receive that throws is logged, not thrown')

  // a count the primary asks is answered with this worker's own
  const answered = new Promise<unknown>((resolve) => {
    const other = new FakeChannel(() => {})
    hub.add('2', (frame) => setImmediate(() => other.emit('message', frame)))
    hub.receive('2', { rt: IPC_TAG, t: 'request', id: 1, request: { op: 'subscribe', channel: 'c' } })
    hub.receive('1', { rt: IPC_TAG, t: 'request', id: 1, request: { op: 'subscribe', channel: 'c' } })
    other.on('message', (frame: { t: string, value?: unknown }) => { if (frame.t === 'reply' && frame.value !== true) resolve(frame.value) })
    hub.receive('2', { rt: IPC_TAG, t: 'request', id: 2, request: { op: 'count', channel: 'c' } })
  })
  t.equal(await answered, 2, 'the hub got this worker\'s local count')
  t.equal(await adapter.clusterSubscribersOf('nobody'), 2, 'its own count, nobody else in it')
  t.equal(await adapter.releaseConnection('u', 'never-acquired'), undefined)

  channel.failSends = true
  await t.rejects(adapter.publish({ kind: 'disconnect', userId: 'u', code: 4500, reason: 'r' }), /channel closed/)
  channel.emit('message', { rt: IPC_TAG, t: 'countQuery', queryId: 1, channel: 'c' })
  await adapter.close()
  t.pass('a bye that cannot be sent is logged; the adapter closes')
})

t.test('the adapter frees the slots of handshakes that never became connections', async (t) => {
  const hub = new ClusterHub()
  t.teardown(() => hub.close())
  const channel = channelToHub(hub)
  const adapter = clusterIpcAdapter({ ipc: channel, handshakeGraceMs: 100 })
  await adapter.start(fakeContext({ hasConnection: (id) => id === 'kept' }))
  t.equal(await adapter.acquireConnection('u', 'kept', 5), true)
  t.equal(await adapter.acquireConnection('u', 'abandoned', 5), true)
  t.equal(await adapter.acquireConnection('u', 'refused', 2), false)
  t.match(await adapter.clusterStats(), { connections: 2 })
  // the sweep runs every handshakeGraceMs: wait for the release to reach the hub
  await new Promise<void>((resolve) => {
    const check = setInterval(() => { if (hub.stats().connections === 1) { clearInterval(check); resolve() } }, 10)
  })
  t.match(hub.stats(), { connections: 1, users: 1 }, 'the abandoned slot is free, the connection\'s kept')
  await adapter.unsubscribeChannel('c')
  const inFlight = adapter.clusterStats()
  channel.emit('disconnect')
  await t.rejects(inFlight, { message: 'the IPC channel to the cluster primary closed' }, 'a request in flight fails when the channel closes')
  channel.connected = false
  await t.rejects(adapter.clusterStats(), /closed/)
  await adapter.close()
  t.pass('closed without a bye: the channel is gone')
})
