import t from 'tap'
import { startServer } from '../helpers/server.js'
import { openSocket } from '../helpers/client.js'
import { until } from '../channels/support.js'
import { change, connect, isType, offsets, receiveUntil, subscribe, withHistory } from './support.js'
import { PausedReadsAdapter } from './paused-reads.js'

for (const snapshot of ['before', 'after'] as const) {
  t.test(`messages published while the history is read (${snapshot} they are in it): no duplicate, no gap, no reordering`, async (t) => {
    const adapter = new PausedReadsAdapter()
    adapter.history.snapshot = snapshot
    const server = await startServer(t, { realtime: { ...withHistory(), adapter } })
    const first = await connect(t, server, 'alice')
    const { data } = await subscribe(first.client, { channels: ['review:42'] })
    const epoch = data.positions?.['review:42']?.epoch
    await first.client.close()
    for (let n = 1; n <= 3; n++) await server.app.realtime.publish('review:42', change(n))

    const back = await connect(t, server, 'alice')
    adapter.history.pause()
    const reading = adapter.history.nextRead()
    back.client.send({ type: 'subscribe', id: 'r', data: { channels: ['review:42'], recover: { 'review:42': { epoch, offset: 1 } } } })
    await reading
    // the connection is in the channel and its history is being read: these are live, and wait
    for (let n = 4; n <= 6; n++) t.equal(await server.app.realtime.publish('review:42', change(n)), 1)
    adapter.history.resume()
    const confirmed = await back.client.next<{ positions?: Record<string, { offset: number }> }>('subscription.confirmed')
    const top = snapshot === 'before' ? 3 : 6
    t.equal(confirmed.data.positions?.['review:42']?.offset, top, 'the position is the replay\'s top')

    await server.app.realtime.publish('review:42', change(7))
    const rest = await receiveUntil(back.client, (m) => (m as { offset?: number }).offset === 7)
    const result = rest.findIndex(isType('recovery.result'))
    t.same(offsets(rest.filter(m => m.type === 'review.updated')), [2, 3, 4, 5, 6, 7], 'every message once, in offset order')
    t.equal(result, top - 1, 'recovery.result right after the replayed top, before the live messages past it')
    t.match(rest[result]?.data, { streams: { 'review:42': { recovered: true, missed: top - 1 } } })
  })
}

t.test('a subscribe with recover sent before connection.established: answered after the welcome, its replay before live messages', async (t) => {
  const adapter = new PausedReadsAdapter()
  const server = await startServer(t, { realtime: { ...withHistory(), adapter } })
  const first = await connect(t, server, 'alice')
  const epoch = (await subscribe(first.client, { channels: ['review:42'] })).data.positions?.['review:42']?.epoch
  await first.client.close()
  await server.app.realtime.publish('review:42', change(1))

  adapter.history.pause()
  const reading = adapter.history.nextRead()
  const back = await openSocket(`${server.wsUrl}/${server.token('alice')}`)
  t.teardown(() => back.close())
  await reading
  // the inbox position is being read: the client does not wait for the welcome
  back.send({ type: 'subscribe', id: 'early', data: { channels: ['review:42'], recover: { 'review:42': { epoch, offset: 0 } } } })
  await until(() => server.app.realtime.subscribersOf('review:42') === 1, 'the early subscribe to be in the channel')
  t.equal(await server.app.realtime.publish('review:42', change(2)), 1, 'live while the welcome waits')
  adapter.history.resume()
  const messages = await receiveUntil(back, isType('recovery.result'))
  t.same(messages.map(m => [m.type, (m as { offset?: number }).offset]), [
    ['connection.established', undefined],
    ['subscription.confirmed', undefined],
    ['review.updated', 1],
    ['review.updated', 2],
    ['recovery.result', undefined]
  ], 'the welcome, then the subscribe\'s answer and replay; the live copy of 2 was in the replay')
  await server.app.realtime.publish('review:42', change(3))
  t.match(await back.next(), { type: 'review.updated', offset: 3 }, 'nothing else before the next live one')
})
