import t from 'tap'
import { resolveOptions, MemoryPresence, type Adapter, type PresenceBackend, type PresenceBackendContext, type RealtimeOptions } from '../../lib/index.js'
import { startServer } from '../helpers/server.js'
import { openSocket } from '../helpers/client.js'
import { receivedBeforeMarker, statusesIn, subscribedToStatus } from './support.js'

const problemsOf = (options: RealtimeOptions): string => {
  try {
    resolveOptions(options)
  } catch (err) {
    return (err as Error).message
  }
  return ''
}

t.test('the presence option is checked at register time', async (t) => {
  t.equal(resolveOptions({}).presence, undefined, 'off by default')
  t.equal(resolveOptions({ presence: false }).presence, undefined)
  t.match(resolveOptions({ presence: true }).presence, { offlineGraceMs: 5000, audience: undefined }, 'true takes the defaults')
  t.match(resolveOptions({ presence: { offlineGraceMs: 0 } }).presence, { offlineGraceMs: 0 })
  t.match(problemsOf({ presence: 'yes' as unknown as true }), /presence must be true, false or/)
  t.match(problemsOf({ presence: { offlineGraceMs: -1 } }), /presence\.offlineGraceMs/)
  t.match(problemsOf({ presence: { offlineGraceMs: 1.5 } }), /presence\.offlineGraceMs/)
  t.match(problemsOf({ presence: { graceMs: 10 } as unknown as { offlineGraceMs: number } }), /presence\.graceMs/, 'a misspelled key is named')
  t.match(problemsOf({ presence: { audience: 'all' as unknown as () => 'all' } }), /presence\.audience must be a function/)
  t.match(problemsOf({ presence: true, events: ['review.updated'] }), /keep it in events/)
  t.match(problemsOf({ channels: { review: { presence: 'names' as unknown as true } } }), /channels\.review\.presence must be true, false or 'count'/)
  t.match(problemsOf({ messages: { presence: { schema: {}, handler: () => {} } } } as unknown as RealtimeOptions), /messages\.presence is a protocol message type/)
})

t.test('connection.established lists presence among the features when it is on', async (t) => {
  const on = await startServer(t, { realtime: { presence: true } })
  const off = await startServer(t)
  const features = async (server: typeof on): Promise<string[]> => {
    const client = await openSocket(`${server.wsUrl}/${server.token('alice')}`)
    t.teardown(() => client.close())
    return (await client.next<{ features: string[] }>('connection.established')).data.features
  }
  t.ok((await features(on)).includes('presence'))
  t.notOk((await features(off)).includes('presence'))
})

t.test('offlineGraceMs 0: offline as soon as the last connection closes', async (t) => {
  const server = await startServer(t, { realtime: { presence: { offlineGraceMs: 0, audience: () => ['watcher'] } } })
  const watcher = await subscribedToStatus(await server.connect('watcher'))
  const alice = await server.connect('alice')
  t.match((await watcher.next('user.status_changed')).data, { user_id: 'alice', status: 'online' })
  await alice.close()
  t.match((await watcher.next('user.status_changed')).data, { user_id: 'alice', status: 'offline' })
  t.equal(await server.app.realtime.isOnline('alice'), false)
})

/** A backend that cannot record anything (an unreachable store). */
class FailingPresence extends MemoryPresence {
  override async join (): Promise<void> { throw new Error('backend down') }
  override async leave (): Promise<void> { throw new Error('backend down') }
}

function adapterWith (presence?: (context: PresenceBackendContext) => PresenceBackend): Adapter {
  const adapter: Adapter = { async start () {}, async publish () {}, async close () {} }
  if (presence !== undefined) adapter.presence = presence
  return adapter
}

t.test('an adapter without presence: presence is kept per node, and the host is told', async (t) => {
  const server = await startServer(t, { realtime: { adapter: adapterWith(), presence: { audience: () => 'all' } } })
  const watcher = await subscribedToStatus(await server.connect('watcher'))
  await server.connect('alice')
  t.match((await watcher.next('user.status_changed')).data, { user_id: 'alice', status: 'online' })
  t.equal(await server.app.realtime.onlineCount(), 2)
  t.ok(server.logs.some(line => /keeps no presence state/.test(line)), 'a warning at startup')
})

t.test('a failing presence backend costs the connection nothing', async (t) => {
  const failing = adapterWith((context) => new FailingPresence(context))
  const server = await startServer(t, { realtime: { adapter: failing, presence: { audience: () => 'all' } } })
  const alice = await server.connect('alice')
  t.match((await alice.request({ type: 'ping', data: {} }, 'pong')).data, { timestamp: String }, 'the connection works')
  await alice.close()
  const watcher = await subscribedToStatus(await server.connect('watcher'))
  t.same(statusesIn(await receivedBeforeMarker(watcher, server, 'watcher')), [])
  t.ok(server.logs.some(line => /presence update failed/.test(line)), 'the failure is logged')
  t.equal(await server.app.realtime.isOnline('alice'), false, 'nothing was recorded')
})
