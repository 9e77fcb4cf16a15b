import t from 'tap'
import { startServer } from '../helpers/server.js'
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
