import t from 'tap'
import { MemoryHistory, type HistoryEngine } from '../../lib/index.js'
import { startServer } from '../helpers/server.js'
import { answerTo, marker, messagesBefore, subscribeWith } from '../helpers/client.js'
import { connectAs } from '../helpers/server.js'
import { deferred, type Deferred } from '../helpers/deferred.js'

// The epoch watch, driven deterministically: a history engine that can
// restart empty (as Redis does) and hold a read until the test lets it go.

interface ControlledEngine extends HistoryEngine {
  restart (): void
  /** The next read waits for this; resolves `reading` when it starts. */
  holdNextRead (): { reading: Deferred<void>, release: Deferred<void> }
}

function controlledEngine (): ControlledEngine {
  let inner = new MemoryHistory()
  let hold: { reading: Deferred<void>, release: Deferred<void> } | undefined
  return {
    delivery: 'local',
    append: async (message) => inner.append(message),
    read: async (key, history, since, limit) => {
      const held = hold
      hold = undefined
      if (held !== undefined) { held.reading.resolve(); await held.release.promise }
      return inner.read(key, history, since, limit)
    },
    restart () { inner = new MemoryHistory() },
    holdNextRead () {
      hold = { reading: deferred<void>(), release: deferred<void>() }
      return hold
    }
  }
}

t.test('a new epoch learned by a subscriber taken out of the channel during its read: nobody else to tell', async (t) => {
  const engine = controlledEngine()
  const adapter = { start: async () => {}, publish: async () => {}, close: async () => {}, history: engine }
  const server = await startServer(t, { realtime: { adapter, channels: { review: { history: { size: 10, ttlMs: 60_000 } } } } })
  const other = await connectAs(t, server, 'a')
  const reader = await connectAs(t, server, 'b')
  const first = await subscribeWith<{ positions: Record<string, { epoch: string }> }>(reader.client, { channels: ['review:1'] })
  const firstEpoch = first.data.positions['review:1']?.epoch
  await subscribeWith(reader.client, { channels: ['review:1'] }, 'unsubscribe')

  engine.restart() // the store came back empty: the channel's next read has another epoch
  const { reading, release } = engine.holdNextRead()
  reader.client.send({ type: 'subscribe', id: 'again', data: { channels: ['review:1'] } })
  await reading.promise
  // the server takes it out of the channel before the read answers
  t.equal(await server.app.realtime.leave({ connectionId: reader.id }, 'review:1'), 1)
  const confirmed = answerTo(reader.client, 'again')
  release.resolve()
  const again = await confirmed as unknown as { data: { positions: Record<string, { epoch: string }> } }
  t.not(again.data.positions['review:1']?.epoch, firstEpoch, 'the read shows the new epoch')
  for (const client of [reader, other]) {
    const label = marker().data.label
    await server.app.realtime.sendToConnection(client.id, marker(label))
    const before = await messagesBefore(client.client, label)
    t.same(before.filter(m => m.type === 'recovery.result'), [], 'no epoch_changed: the channel has no other connection')
  }
})

t.test('a new epoch learned by a subscriber: the channel\'s other connections are told epoch_changed, the reader is not', async (t) => {
  const engine = controlledEngine()
  const adapter = { start: async () => {}, publish: async () => {}, close: async () => {}, history: engine }
  const server = await startServer(t, { realtime: { adapter, channels: { review: { history: { size: 10, ttlMs: 60_000 } } } } })
  const member = await connectAs(t, server, 'a')
  const reader = await connectAs(t, server, 'b')
  await subscribeWith(member.client, { channels: ['review:1'] })
  engine.restart()
  const confirmed = await subscribeWith<{ positions: Record<string, { epoch: string, offset: number }> }>(reader.client, { channels: ['review:1'] })
  const position = confirmed.data.positions['review:1']
  const told = await member.client.next('recovery.result')
  t.same(told.data, { streams: { 'review:1': { recovered: false, reason: 'epoch_changed', position } } }, 'the member gets the new position')
  const label = marker().data.label
  await server.app.realtime.sendToConnection(reader.id, marker(label))
  t.same((await messagesBefore(reader.client, label)).filter(m => m.type === 'recovery.result'), [], 'the reader has it from its confirmation')
})

t.test('live stream messages while a subscribe\'s read is out: a channel not held passes whole, a held channel\'s inbox copy passes alone', async (t) => {
  const engine = controlledEngine()
  const adapter = { start: async () => {}, publish: async () => {}, close: async () => {}, history: engine }
  const server = await startServer(t, { realtime: { adapter, channels: { review: { history: { size: 10, ttlMs: 60_000 } } }, inbox: { size: 10, ttlMs: 60_000 } } })
  const reader = await connectAs(t, server, 'b')
  await subscribeWith(reader.client, { channels: ['review:2'] })
  const { reading, release } = engine.holdNextRead()
  reader.client.send({ type: 'subscribe', id: 'held', data: { channels: ['review:1'] } })
  await reading.promise // review:1 is held for this connection until the read answers

  t.equal(await server.app.realtime.publish('review:2', { type: 'review.updated', data: { review_id: '2', changes: {}, timestamp: 't' } }), 1)
  const whole = await reader.client.next('review.updated')
  t.match(whole, { channel: 'review:2', offset: 1 }, 'another channel\'s message: sent whole past the gate')

  await server.app.realtime.broadcastReviewUpdated('1', { n: 1 }, ['b'])
  const inboxCopy = await reader.client.next('review.updated')
  t.equal(inboxCopy.channel, undefined, 'the review:1 part waits for the read')
  t.match(inboxCopy, { inbox: true, offset: 1 }, 'the inbox part goes now, on its own')

  const confirmed = answerTo(reader.client, 'held')
  release.resolve()
  t.match((await confirmed).data, { positions: { 'review:1': { offset: 1 } } }, 'the read\'s position includes the message')
  const label = marker().data.label
  await server.app.realtime.sendToConnection(reader.id, marker(label))
  t.same((await messagesBefore(reader.client, label)).filter(m => m.type === 'review.updated'), [], 'its channel part is not sent again: the position covers it')
})
