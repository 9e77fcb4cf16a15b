import t from 'tap'
import { startServer } from '../helpers/server.js'
import { change, connect, HISTORY, isNote, isType, note, receiveUntil, subscribe } from './support.js'
import { PausedReadsAdapter } from './paused-reads.js'
import { until } from '../channels/support.js'

const members = new Set<string>()
const channels = {
  review: {
    history: HISTORY,
    authorize: (connection: { userId: string }) => members.has(connection.userId)
  }
}

t.beforeEach(() => {
  members.clear()
  members.add('alice')
})

t.test('a member revoked while away is refused: CHANNEL_FORBIDDEN, recovery.result forbidden, none of the history', async (t) => {
  const server = await startServer(t, { realtime: { channels } })
  const first = await connect(t, server, 'alice')
  const position = (await subscribe(first.client, { channels: ['review:42'] })).data.positions?.['review:42']
  await first.client.close()
  members.delete('alice')
  await server.app.realtime.publish('review:42', change(1))

  const back = await connect(t, server, 'alice')
  const answer = await subscribe(back.client, { channels: ['review:42'], recover: { 'review:42': position } })
  t.match(answer, { type: 'error', data: { code: 'CHANNEL_FORBIDDEN', details: ['review:42'] } })
  t.match((await back.client.next('recovery.result')).data, { streams: { 'review:42': { recovered: false, reason: 'forbidden' } }, request_id: answer.data.request_id })
  await server.app.realtime.sendToConnection(back.id, note('marker'))
  t.same(await receiveUntil(back.client, isNote('marker')).then(m => m.slice(0, -1)), [], 'nothing of the channel came')
})

t.test('a recover for a channel the connection is already in runs authorize again', async (t) => {
  const server = await startServer(t, { realtime: { channels } })
  const alice = await connect(t, server, 'alice')
  const position = (await subscribe(alice.client, { channels: ['review:42'] })).data.positions?.['review:42']
  members.delete('alice')
  const answer = await subscribe(alice.client, { channels: ['review:42'], recover: { 'review:42': position } })
  t.match(answer.data, { code: 'CHANNEL_FORBIDDEN' })
})

t.test('revoked while its history is being read: recovery.result forbidden, no replay', async (t) => {
  const adapter = new PausedReadsAdapter()
  const server = await startServer(t, { realtime: { channels, adapter } })
  const first = await connect(t, server, 'alice')
  const position = (await subscribe(first.client, { channels: ['review:42'] })).data.positions?.['review:42']
  await first.client.close()
  await server.app.realtime.publish('review:42', change(1))

  const back = await connect(t, server, 'alice')
  adapter.history.pause()
  const reading = adapter.history.nextRead()
  back.client.send({ type: 'subscribe', id: 'r', data: { channels: ['review:42'], recover: { 'review:42': position } } })
  await reading
  members.delete('alice')
  t.equal(await server.app.realtime.leave({ userId: 'alice' }, 'review:42', 'revoked'), 1)
  adapter.history.resume()
  const messages = await receiveUntil(back.client, isType('recovery.result'))
  t.same(messages.map(m => m.type), ['subscription.ended', 'subscription.confirmed', 'recovery.result'])
  t.match(messages.at(-1)?.data, { streams: { 'review:42': { recovered: false, reason: 'forbidden' } } })
  await server.app.realtime.publish('review:42', change(2))
  await server.app.realtime.sendToConnection(back.id, note('marker'))
  t.same((await receiveUntil(back.client, isNote('marker'))).length, 1, 'nothing of the channel since')
})

t.test('a connection that closes while its history is read: nothing sent, nothing kept', async (t) => {
  const adapter = new PausedReadsAdapter()
  const server = await startServer(t, { realtime: { channels, adapter } })
  const alice = await connect(t, server, 'alice')
  adapter.history.pause()
  const reading = adapter.history.nextRead()
  alice.client.send({ type: 'subscribe', id: 'r', data: { channels: ['review:42'], recover: { 'review:42': { epoch: 'e', offset: 0 } } } })
  await reading
  await alice.client.close()
  await until(() => server.app.realtime.stats().connections === 0, 'the server to forget the connection')
  adapter.history.resume()
  const again = await connect(t, server, 'alice')
  const answer = await subscribe(again.client, { channels: ['review:42'] })
  t.equal(answer.type, 'subscription.confirmed', 'the server carries on')
  t.equal(server.app.realtime.subscribersOf('review:42'), 1)
})
