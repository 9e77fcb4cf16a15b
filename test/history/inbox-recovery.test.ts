import t from 'tap'
import { startServer } from '../helpers/server.js'
import { openSocket } from '../helpers/client.js'
import { PausedReadsAdapter } from './paused-reads.js'
import { connect, isNote, isType, note, offsets, receiveUntil, withHistory } from './support.js'
import { until } from '../channels/support.js'
import { MemoryAdapter, MemoryHistory, type HistoryOptions, type StreamKey, type StreamPosition, type StreamRead } from '../../lib/index.js'

/** The in-memory engine, whose reads fail (a store that numbers messages but cannot be read back). */
class UnreadableHistory extends MemoryHistory {
  override async read (_key: StreamKey, _history: HistoryOptions, _since: StreamPosition | undefined, _limit: number): Promise<StreamRead> {
    throw new Error('history store unreachable')
  }
}

class UnreadableHistoryAdapter extends MemoryAdapter {
  readonly history = new UnreadableHistory()
}

t.test('the inbox: everything addressed to a user is numbered, and replayed after connection.established on ?inbox=', async (t) => {
  const server = await startServer(t, { realtime: withHistory() })
  const { realtime } = server.app
  const first = await connect(t, server, 'alice')
  const start = first.welcome.inbox
  t.match(start, { epoch: String, offset: 0 }, 'connection.established carries the inbox position')
  await realtime.sendToUser('alice', note('one'))
  const live = await first.client.next('system.notification')
  t.match(live, { inbox: true, offset: 1 }, 'an inbox message carries inbox and its offset')
  t.equal(live.channel, undefined)
  await first.client.close()

  await realtime.sendToUser('alice', note('two'))
  await realtime.sendToUsers(['bob', 'alice', 'alice'], note('three'))
  await realtime.broadcastSystemNotification('four', { targetUsers: ['alice'] })
  await realtime.broadcastFileProcessingStatus('alice', 'f1', 'ready')
  await realtime.broadcastReviewUpdated('9', { n: 1 }, ['alice'])
  // not part of the inbox: to one connection, or filtered by each connection's subscriptions
  await realtime.sendToUser('alice', note('filtered'), { subscribedTo: 'system.notification' })
  await realtime.broadcastToAll(note('everyone'))

  const token = server.token('alice')
  const back = await openSocket(`${server.wsUrl}/${token}?inbox=${start?.epoch ?? ''}:1`)
  t.teardown(() => back.close())
  const messages = await receiveUntil(back, isType('recovery.result'))
  t.equal(messages[0]?.type, 'connection.established', 'the welcome first')
  t.same((messages[0]?.data as { inbox?: unknown }).inbox, { epoch: start?.epoch, offset: 6 })
  const replay = messages.slice(1, -1)
  t.same(replay.map(m => m.type), ['system.notification', 'system.notification', 'system.notification', 'file.ready', 'review.updated'])
  t.same(offsets(replay), [2, 3, 4, 5, 6])
  t.ok(replay.every(m => (m as { inbox?: boolean }).inbox === true))
  t.same(messages.at(-1)?.data, { streams: { inbox: { recovered: true, missed: 5, position: { epoch: start?.epoch, offset: 6 } } } })

  t.notOk(server.logs.some(line => line.includes(token)), 'the token never reaches a log line')
  t.ok(server.logs.some(line => line.includes(`/ws/[REDACTED]?inbox=${start?.epoch ?? ''}:1`)), 'the query stays after the redacted token')
  await realtime.sendToUser('alice', note('seven'))
  t.match(await back.next(), { type: 'system.notification', offset: 7, data: { message: 'seven' } }, 'then live, from the next offset')
  const bob = await connect(t, server, 'bob')
  t.equal(bob.welcome.inbox?.offset, 1, 'each user has their own inbox stream')
  t.not(bob.welcome.inbox?.epoch, start?.epoch)
})

t.test('an inbox position with every token transport; a malformed one, an unknown epoch, the inbox off', async (t) => {
  const server = await startServer(t, { realtime: withHistory() })
  const alice = await connect(t, server, 'alice')
  const epoch = alice.welcome.inbox?.epoch as string
  await server.app.realtime.sendToUser('alice', note('one'))
  await server.app.realtime.sendToUser('alice', note('two'))

  const viaProtocol = await openSocket(`${server.wsUrl}?inbox=${epoch}:1`, {}, ['fastify-realtime.v1', `bearer.${server.token('alice')}`])
  t.teardown(() => viaProtocol.close())
  t.same(offsets(await receiveUntil(viaProtocol, isType('recovery.result'))), [undefined, 2, undefined], 'with the bearer subprotocol')
  const viaHeader = await openSocket(`${server.wsUrl}?inbox=${epoch}:0`, { headers: { authorization: `Bearer ${server.token('alice')}` } })
  t.teardown(() => viaHeader.close())
  t.same(offsets(await receiveUntil(viaHeader, isType('recovery.result'))), [undefined, 1, 2, undefined], 'with the Authorization header')

  for (const [query, reason] of [['?inbox=no-colon', 'epoch_changed'], ['?inbox=other:1', 'epoch_changed'], [`?inbox=${epoch}:99`, 'epoch_changed'], ['?inbox=a:b:c:-1', 'epoch_changed']]) {
    const client = await openSocket(`${server.wsUrl}/${server.token(`u${query}`)}${query}`)
    t.teardown(() => client.close())
    const [welcome, result, ...rest] = await receiveUntil(client, isType('recovery.result'))
    t.equal(welcome?.type, 'connection.established')
    t.same(rest, [])
    t.match(result?.data, { streams: { inbox: { recovered: false, reason } } }, `${query}: ${reason}`)
  }

  const off = await startServer(t)
  const client = await openSocket(`${off.wsUrl}/${off.token('alice')}?inbox=x:1`)
  t.teardown(() => client.close())
  const [welcome, result] = await receiveUntil(client, isType('recovery.result'))
  t.equal((welcome?.data as { inbox?: unknown }).inbox, undefined, 'no inbox position without the inbox option')
  t.same(result?.data, { streams: { inbox: { recovered: false, reason: 'no_history' } } })
  await off.app.realtime.sendToUser('alice', note('plain'))
  t.same(Object.keys(await client.next('system.notification')), ['type', 'data', 'timestamp', 'id'], 'without the inbox, messages are as before')
})

t.test('messages for a connection whose inbox position is being read come after its welcome and replay, once', async (t) => {
  const adapter = new PausedReadsAdapter()
  const server = await startServer(t, { realtime: { ...withHistory(), adapter } })
  const first = await connect(t, server, 'alice')
  const epoch = first.welcome.inbox?.epoch as string
  await first.client.close()
  await server.app.realtime.sendToUser('alice', note('missed'))
  adapter.history.pause()
  const reading = adapter.history.nextRead()
  const back = await openSocket(`${server.wsUrl}/${server.token('alice')}?inbox=${epoch}:0`)
  t.teardown(() => back.close())
  await reading
  // the connection is registered, its inbox is being read: these wait
  t.equal(await server.app.realtime.sendToUser('alice', note('live')), 1)
  t.equal(await server.app.realtime.broadcastToAll(note('all')), 1)
  adapter.history.resume()
  const messages = await receiveUntil(back, isNote('all'))
  t.same(messages.map(m => m.type), ['connection.established', 'system.notification', 'recovery.result', 'system.notification', 'system.notification'],
    'the welcome, the replay, its result, then what waited, in order')
  t.same(offsets(messages), [undefined, 1, undefined, 2, undefined])
  t.match(messages[2]?.data, { streams: { inbox: { recovered: true, missed: 1 } } })
})

t.test('a connection that closes while its inbox position is read gets nothing more and leaves nothing behind', async (t) => {
  const adapter = new PausedReadsAdapter()
  const server = await startServer(t, { realtime: { ...withHistory(), adapter } })
  adapter.history.pause()
  const reading = adapter.history.nextRead()
  const gone = await openSocket(`${server.wsUrl}/${server.token('alice')}?inbox=x:0`)
  t.teardown(() => gone.close())
  await reading
  await gone.close()
  await until(() => server.app.realtime.stats().connections === 0, 'the server to forget the connection')
  adapter.history.resume()

  const back = await connect(t, server, 'alice')
  t.match(back.welcome.inbox, { epoch: String, offset: 0 }, 'the user\'s next connection is welcomed as usual')
  t.equal(await server.app.realtime.sendToUser('alice', note('live')), 1)
  t.match(await back.client.next('system.notification'), { inbox: true, offset: 1 })
  t.notOk(server.logs.some(line => line.includes('"level":50')), 'the read that answered late logged no error')
})

t.test('an inbox that cannot be read: no position in the welcome, the recovery asked for is unavailable, live messages still come', async (t) => {
  const server = await startServer(t, { realtime: { ...withHistory(), adapter: new UnreadableHistoryAdapter() } })
  const plain = await connect(t, server, 'bob')
  t.equal(plain.welcome.inbox, undefined, 'no position to give')
  const asking = await openSocket(`${server.wsUrl}/${server.token('alice')}?inbox=e:3`)
  t.teardown(() => asking.close())
  const [welcome, result, ...rest] = await receiveUntil(asking, isType('recovery.result'))
  t.equal(welcome?.type, 'connection.established')
  t.equal((welcome?.data as { inbox?: unknown }).inbox, undefined)
  t.same(rest, [])
  t.same(result?.data, { streams: { inbox: { recovered: false, reason: 'unavailable' } } })
  t.equal(await server.app.realtime.sendToUser('alice', note('live')), 1)
  t.match(await asking.next('system.notification'), { inbox: true, offset: 1, data: { message: 'live' } }, 'numbered, and let through')
})

t.test('with the inbox on, a welcome that cannot fit maxMessageSize closes 1008, with no replay and no result', async (t) => {
  const server = await startServer(t, { realtime: { ...withHistory(), maxMessageSize: 1024 } })
  const huge = await openSocket(`${server.wsUrl}/${server.token('u'.repeat(800))}?inbox=e:0`)
  t.teardown(() => huge.close())
  t.same(await huge.closed, { code: 1008, reason: 'user id too long' })
  t.same(huge.received, [], 'nothing before the close')
  t.equal(server.app.realtime.stats().connections, 0)
})
